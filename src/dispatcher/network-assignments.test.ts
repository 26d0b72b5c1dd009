import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance, TaskState } from '../model/index.js';
import { defaultInstanceTemplate } from '../model/testing.js';
import { MemoryStore, type WatchEvent } from '../store/index.js';
import { newNetwork, newNode } from '../store/testing/fixtures.js';
import { assignmentsFor, concernsNode, diffAssignments } from './assignments.js';
import { networkAssignmentsFor, tunnelAddressFor } from './network-assignments.js';

type NewInstance = Omit<Instance, 'version' | 'createdAt' | 'updatedAt'>;

function inst(id: string, nodeId: string, state: TaskState, networks: { id: string; addr: string }[], desired: TaskState = 'running'): NewInstance {
  return {
    id,
    workloadId: 'w1',
    nodeId,
    template: defaultInstanceTemplate(),
    specVersion: 1,
    desiredState: desired,
    status: { state, timestamp: 0, message: '' },
    networks: networks.map((n) => ({ networkId: n.id, addresses: [n.addr], aliases: ['web'] })),
  };
}

async function cluster(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.update((tx) => {
    for (const [id, addr] of [['n1', '10.211.0.16'], ['n2', '10.211.0.17'], ['n3', '10.211.0.18']] as const) {
      const n = newNode(id, id);
      tx.create('node', { ...n, status: { ...n.status, addr } });
    }
    tx.create('network', { ...newNetwork('net1', 'front'), allocation: { subnets: [{ subnet: '10.0.1.0/24', gateway: '10.0.1.1' }], vni: 4097 } });
    const enc = newNetwork('net2', 'secret-net');
    tx.create('network', { ...enc, spec: { ...enc.spec, options: { encrypted: '' } }, allocation: { subnets: [{ subnet: '10.0.2.0/24', gateway: '10.0.2.1' }], vni: 4098 } });
    const ingress = newNetwork('ing', 'ingress');
    tx.create('network', { ...ingress, spec: { ...ingress.spec, ingress: true }, allocation: { subnets: [{ subnet: '10.0.0.0/24', gateway: '10.0.0.1' }], vni: 4096 } });
    tx.create('network', newNetwork('net3', 'unallocated'));
  });
  return store;
}

test('a node gets the overlays its instances use, with every other node holding an address on them as a peer', async () => {
  const store = await cluster();
  await store.update((tx) => {
    tx.create('instance', inst('a', 'n1', 'running', [{ id: 'net1', addr: '10.0.1.2/24' }, { id: 'ing', addr: '10.0.0.5/24' }, { id: 'net3', addr: '10.9.9.9/24' }]));
    tx.create('instance', inst('b', 'n2', 'assigned', [{ id: 'net1', addr: '10.0.1.4/24' }]));
    tx.create('instance', inst('c', 'n3', 'running', [{ id: 'net1', addr: '10.0.1.3/24' }]));
    tx.create('instance', inst('c2', 'n3', 'running', [{ id: 'net1', addr: '10.0.1.10/24' }]));
    tx.create('instance', inst('d', 'n3', 'pending', [{ id: 'net1', addr: '10.0.1.5/24' }])); // not on a node's engine yet
    tx.create('instance', inst('e', 'n2', 'failed', [{ id: 'net1', addr: '10.0.1.6/24' }])); // its address went back
  });
  const set = store.view((tx) => assignmentsFor(tx, 'n1'));
  assert.deepEqual([...set.keys()].sort(), ['instance/a', 'network/net1', 'services/net1']); // no ingress, no unallocated network
  const n = set.get('network/net1');
  assert.ok(n?.kind === 'network');
  assert.deepEqual(n.network, {
    name: 'front',
    driver: 'overlay',
    vni: 4097,
    subnet: '10.0.1.0/24',
    gateway: '10.0.1.1',
    encrypted: false,
    internal: false,
    attachable: false,
    mode: 'vxlan',
    peers: [
      { nodeId: 'n2', underlay: '10.211.0.17', endpoints: ['10.0.1.4/24'] },
      { nodeId: 'n3', underlay: '10.211.0.18', endpoints: ['10.0.1.3/24', '10.0.1.10/24'] },
    ],
  });
  await store.close();
});

test('peers follow instances: a new instance elsewhere updates the network, the last local one finishing removes it', async () => {
  const store = await cluster();
  await store.update((tx) => tx.create('instance', inst('a', 'n1', 'running', [{ id: 'net1', addr: '10.0.1.2/24' }])));
  const first = store.view((tx) => assignmentsFor(tx, 'n1'));
  const peersOf = (s: typeof first) => {
    const x = s.get('network/net1');
    return x?.kind === 'network' ? x.network.peers.map((p) => p.nodeId) : undefined;
  };
  assert.deepEqual(peersOf(first), []);

  let seen: WatchEvent | undefined;
  const ac = new AbortController();
  const watching = (async () => {
    for await (const ev of store.watch({ kinds: ['instance'], signal: ac.signal })) {
      seen = ev;
      break;
    }
  })();
  await store.update((tx) => tx.create('instance', inst('b', 'n2', 'assigned', [{ id: 'net1', addr: '10.0.1.3/24' }])));
  await watching;
  assert.ok(seen && concernsNode(seen, 'n1', first), 'another node\'s instance on our network concerns us');
  const second = store.view((tx) => assignmentsFor(tx, 'n1'));
  assert.deepEqual(peersOf(second), ['n2']);
  assert.deepEqual(diffAssignments(first, second).map((c) => `${c.action} ${c.item.kind}/${c.item.id}`), ['update network/net1']);

  await store.update((tx) => {
    const a = tx.get('instance', 'a');
    if (!a) throw new Error('missing');
    tx.update('instance', { ...a, desiredState: 'shutdown', status: { ...a.status, state: 'shutdown' } });
  });
  const third = store.view((tx) => assignmentsFor(tx, 'n1'));
  assert.deepEqual(
    diffAssignments(second, third).map((c) => `${c.action} ${c.item.kind}/${c.item.id}`).sort(),
    // a finished: its network goes; it stays assigned (its container is kept) until the store deletes it
    ['remove network/net1', 'remove services/net1', 'update instance/a'],
  );
  // An instance of an unrelated node on a network we do not have does not concern us.
  const unrelated: WatchEvent = { kind: 'instance', action: 'create', object: { ...inst('z', 'n3', 'running', [{ id: 'net1', addr: '10.0.1.9/24' }]), version: 1, createdAt: 0, updatedAt: 0 } } as WatchEvent;
  assert.equal(concernsNode(unrelated, 'n1', third), false);
  assert.equal(concernsNode(unrelated, 'n1', second), true);
  ac.abort();
  await store.close();
});

test('encrypted networks carry each peer\'s WireGuard key and derived tunnel address; a peer without a key has none', async () => {
  const store = await cluster();
  await store.update((tx) => {
    tx.create('instance', inst('a', 'n1', 'running', [{ id: 'net2', addr: '10.0.2.2/24' }]));
    tx.create('instance', inst('b', 'n2', 'running', [{ id: 'net2', addr: '10.0.2.3/24' }]));
    tx.create('instance', inst('c', 'n3', 'running', [{ id: 'net2', addr: '10.0.2.4/24' }]));
  });
  const keys: Record<string, string> = { n2: 'KEY2=' };
  const got = store.view((tx) => networkAssignmentsFor(tx, 'n1', [tx.get('instance', 'a') as Instance], (id) => keys[id])).get('net2');
  assert.ok(got);
  assert.equal(got.encrypted, true);
  assert.deepEqual(got.peers[0]?.wireguard, { publicKey: 'KEY2=', address: tunnelAddressFor('10.211.0.17') });
  assert.equal(got.peers[1]?.wireguard, undefined);
  await store.close();
});

test('tunnel addresses: 100.64.0.0/10 plus the underlay\'s low 22 bits', () => {
  assert.equal(tunnelAddressFor('10.211.0.16'), '100.83.0.16');
  assert.equal(tunnelAddressFor('192.168.1.7'), '100.104.1.7');
  assert.notEqual(tunnelAddressFor('10.211.0.17'), tunnelAddressFor('10.211.0.16'));
  assert.throws(() => tunnelAddressFor('not-an-ip'));
});

test('mode and MTU options are carried', async () => {
  const store = await cluster();
  await store.update((tx) => {
    const n = tx.get('network', 'net1');
    if (!n) throw new Error('missing');
    tx.update('network', { ...n, spec: { ...n.spec, options: { 'io.stevedore.overlay.mode': 'routed', 'com.docker.network.driver.mtu': '1400' } } });
    tx.create('instance', inst('a', 'n1', 'assigned', [{ id: 'net1', addr: '10.0.1.2/24' }]));
  });
  const got = store.view((tx) => networkAssignmentsFor(tx, 'n1', [tx.get('instance', 'a') as Instance])).get('net1');
  assert.equal(got?.mode, 'routed');
  assert.equal(got?.mtu, 1400);
  await store.close();
});
