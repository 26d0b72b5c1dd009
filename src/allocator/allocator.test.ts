import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance, NetworkSpec, PortConfig, Workload } from '../model/index.js';
import { MemoryStore, type NewObject } from '../store/index.js';
import { newNode, newWorkload, template } from '../store/testing/fixtures.js';
import { ManualClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import type { NetworkAllocator} from './allocator.js';
import { AllocatedMessage, startAllocator } from './allocator.js';
import { parseCidr } from './ipv4.js';
import { awaitingNetworkAllocation, ingressNetworkSpec } from './needs.js';

const clock = new ManualClock();
let running: { stop(): void }[] = [];

afterEach(() => {
  for (const r of running) r.stop();
  running = [];
});

function start(store: MemoryStore): NetworkAllocator {
  const a = startAllocator({ store, clock, log: silentLogger });
  running.push(a);
  return a.allocator;
}

/** Until the allocator has read every event and written everything it wanted to. */
async function settle(a: NetworkAllocator): Promise<void> {
  for (let quiet = 0, n = 0; quiet < 5 && n < 2000; n++) {
    await new Promise((r) => setImmediate(r));
    quiet = a.idle ? quiet + 1 : 0;
  }
}

function netSpec(name: string, extra: Partial<NetworkSpec> = {}): NetworkSpec {
  return { ...ingressNetworkSpec(), name, ingress: false, ...extra };
}

async function cluster(store: MemoryStore, pools: readonly string[] = ['10.0.0.0/8'], subnetSize = 24): Promise<void> {
  await store.update((tx) =>
    tx.create('cluster', {
      id: 'cluster1',
      spec: {} as never,
      joinTokens: { worker: '', manager: '' },
      rootCa: { certPem: '', digest: '', rotationInProgress: false },
      defaultAddrPool: pools,
      subnetSize,
      dataPathPort: 4789,
    }),
  );
}

function workload(id: string, networks: readonly string[], ports: readonly PortConfig[] = [], mode: 'vip' | 'dnsrr' = 'vip'): NewObject<'workload'> {
  const w = newWorkload(id, id);
  return {
    ...w,
    spec: {
      ...w.spec,
      template: { ...template(), networks: networks.map((target) => ({ target, aliases: [id] })) },
      endpoint: { mode, ports },
    },
  };
}

function instance(id: string, w: NewObject<'workload'>): NewObject<'instance'> {
  return {
    id,
    workloadId: w.id,
    slot: 1,
    template: w.spec.template,
    specVersion: 1,
    desiredState: 'running',
    status: { state: 'new', timestamp: 0, message: 'created' },
    networks: [],
  };
}

const ingressPort = (targetPort: number, publishedPort = 0): PortConfig => ({ name: '', protocol: 'tcp', targetPort, publishedPort, publishMode: 'ingress' });

const get = <K extends 'network' | 'workload' | 'instance'>(store: MemoryStore, kind: K, id: string) =>
  store.view((tx) => {
    const o = tx.get(kind, id);
    assert.ok(o, `${kind} ${id}`);
    return o;
  });

const addressesOf = (store: MemoryStore): string[] =>
  store.view((tx) => [
    ...tx.list('instance').flatMap((i) => i.networks.flatMap((n) => n.addresses.map((a) => `${n.networkId} ${a}`))),
    ...tx.list('workload').flatMap((w) => (w.endpoint?.virtualIps ?? []).map((v) => `${v.networkId} ${v.addr}`)),
    ...tx.list('network').flatMap((n) => (n.allocation?.subnets ?? []).map((s) => `${n.id} ${s.gateway}/${s.subnet.split('/')[1]}`)),
  ]);

describe('NetworkAllocator', () => {
  it('allocates the ingress network first (10.0.0.0/24, VNI 4096), then the others', async () => {
    const store = new MemoryStore({ clock });
    await cluster(store);
    const a = start(store);
    await store.update((tx) => {
      tx.create('network', { id: 'net1', spec: netSpec('front') });
      tx.create('network', { id: 'ingress1', spec: ingressNetworkSpec() });
    });
    await settle(a);
    assert.deepEqual(get(store, 'network', 'ingress1').allocation, { subnets: [{ subnet: '10.0.0.0/24', gateway: '10.0.0.1' }], vni: 4096 });
    assert.deepEqual(get(store, 'network', 'net1').allocation, { subnets: [{ subnet: '10.0.1.0/24', gateway: '10.0.1.1' }], vni: 4097 });
  });

  it('gives every node an address of its own on ingress (the routing mesh\'s return path), never a task\'s, kept across a restart and freed with the node', async () => {
    const store = new MemoryStore({ clock });
    await cluster(store);
    await store.update((tx) => tx.create('node', newNode('n1', 'one'))); // before ingress exists: waits for it
    const a = start(store);
    await store.update((tx) => tx.create('network', { id: 'ingress1', spec: ingressNetworkSpec() }));
    await settle(a);
    await store.update((tx) => tx.create('node', newNode('n2', 'two')));
    const w = workload('web', [], [ingressPort(80, 8080)]);
    await store.update((tx) => {
      tx.create('workload', w);
      tx.create('instance', instance('t1', w));
    });
    await settle(a);
    const n1 = store.view((tx) => tx.get('node', 'n1'))?.ingressAddress;
    const n2 = store.view((tx) => tx.get('node', 'n2'))?.ingressAddress;
    assert.equal(n1?.networkId, 'ingress1');
    assert.equal(n2?.networkId, 'ingress1');
    const taken = [n1?.address, n2?.address, get(store, 'instance', 't1').networks[0]?.addresses[0], get(store, 'workload', 'web').endpoint?.virtualIps[0]?.addr];
    assert.equal(new Set(taken).size, 4, `all different: ${taken.join(' ')}`);
    assert.ok(taken.every((x) => x?.startsWith('10.0.0.')), taken.join(' '));
    // A restarted allocator keeps them (and hands them to nobody else).
    for (const r of running) r.stop();
    running = [];
    const b = start(store);
    await store.update((tx) => tx.create('node', newNode('n3', 'three')));
    await settle(b);
    assert.equal(store.view((tx) => tx.get('node', 'n1'))?.ingressAddress?.address, n1?.address);
    const n3 = store.view((tx) => tx.get('node', 'n3'))?.ingressAddress?.address;
    assert.ok(n3 !== undefined && !taken.includes(n3), String(n3));
  });

  it('honours --subnet (a /16), --gateway, --ip-range and a vxlanid_list option, and the cluster pool', async () => {
    const store = new MemoryStore({ clock });
    await cluster(store, ['192.168.0.0/16'], 26);
    const a = start(store);
    await store.update((tx) => {
      tx.create('network', { id: 'big', spec: netSpec('big', { ipam: { driver: 'default', configs: [{ subnet: '10.20.0.0/16', gateway: '10.20.0.254', ipRange: '10.20.5.0/24' }] } }) });
      tx.create('network', { id: 'auto', spec: netSpec('auto', { options: { 'com.docker.network.driver.overlay.vxlanid_list': '7000' } }) });
    });
    await settle(a);
    assert.deepEqual(get(store, 'network', 'big').allocation?.subnets, [{ subnet: '10.20.0.0/16', gateway: '10.20.0.254' }]);
    assert.deepEqual(get(store, 'network', 'auto').allocation, { subnets: [{ subnet: '192.168.0.0/26', gateway: '192.168.0.1' }], vni: 7000 });
    const w = workload('web', ['big']);
    await store.update((tx) => {
      tx.create('workload', w);
      tx.create('instance', instance('t1', w));
    });
    await settle(a);
    assert.equal(get(store, 'instance', 't1').networks[0]?.addresses[0], '10.20.5.1/16', 'inside the ip-range');
  });

  it('gives a workload on two networks a VIP on each (and on ingress for a published port), and its task an address on each', async () => {
    const store = new MemoryStore({ clock });
    await cluster(store);
    const a = start(store);
    await store.update((tx) => {
      tx.create('network', { id: 'ingress1', spec: ingressNetworkSpec() });
      tx.create('network', { id: 'front', spec: netSpec('front') });
      tx.create('network', { id: 'back', spec: netSpec('back') });
    });
    await settle(a);
    const w = workload('web', ['front', 'back'], [ingressPort(80), ingressPort(443, 8443)]);
    await store.update((tx) => {
      tx.create('workload', w);
      tx.create('instance', instance('t1', w));
    });
    await settle(a);
    const e = get(store, 'workload', 'web').endpoint;
    assert.ok(e);
    assert.deepEqual(
      e.ports.map((p) => p.publishedPort),
      [30000, 8443],
    );
    assert.deepEqual(
      e.virtualIps.map((v) => v.networkId),
      ['ingress1', 'front', 'back'],
    );
    assert.deepEqual(
      e.virtualIps.map((v) => v.addr),
      ['10.0.0.2/24', '10.0.1.2/24', '10.0.2.2/24'],
    );
    const t = get(store, 'instance', 't1');
    assert.equal(t.status.state, 'pending');
    assert.equal(t.status.message, AllocatedMessage);
    assert.deepEqual(
      t.networks.map((n) => [n.networkId, n.addresses[0], n.aliases]),
      [
        ['ingress1', '10.0.0.3/24', []],
        ['front', '10.0.1.3/24', ['web']],
        ['back', '10.0.2.3/24', ['web']],
      ],
    );
    // dnsrr: no VIPs, the task still gets addresses.
    const d = workload('db', ['back'], [], 'dnsrr');
    await store.update((tx) => {
      tx.create('workload', d);
      tx.create('instance', instance('t2', d));
    });
    await settle(a);
    assert.deepEqual(get(store, 'workload', 'db').endpoint?.virtualIps, []);
    assert.equal(get(store, 'instance', 't2').networks[0]?.addresses[0], '10.0.2.4/24');
  });

  it('gives 60 tasks 60 distinct addresses, and none again after a manager restart', async () => {
    const store = new MemoryStore({ clock });
    await cluster(store);
    let a = start(store);
    await store.update((tx) => tx.create('network', { id: 'net1', spec: netSpec('net1') }));
    const w = workload('web', ['net1']);
    await store.update((tx) => {
      tx.create('workload', w);
      for (let k = 0; k < 60; k++) tx.create('instance', instance(`t${k}`, w));
    });
    await settle(a);
    const first = addressesOf(store);
    assert.equal(first.length, 62, '60 tasks, 1 VIP, 1 gateway');
    assert.equal(new Set(first).size, 62);
    // Restart: a new allocator rebuilds from the store; new tasks get new addresses.
    running.pop()?.stop();
    a = start(store);
    await store.update((tx) => {
      for (let k = 60; k < 120; k++) tx.create('instance', instance(`t${k}`, w));
    });
    await settle(a);
    const all = addressesOf(store);
    assert.equal(all.length, 122);
    assert.equal(new Set(all).size, 122, 'no address handed out twice after the restart');
    assert.ok(store.view((tx) => tx.list('instance').every((i) => i.status.state === 'pending')));
  });

  it('releases a stopped task’s address, and a waiting task gets it (a full /29)', async () => {
    const store = new MemoryStore({ clock });
    await cluster(store);
    const a = start(store);
    // 6 usable addresses: gateway, VIP, four tasks.
    await store.update((tx) => tx.create('network', { id: 'tiny', spec: netSpec('tiny', { ipam: { driver: 'default', configs: [{ subnet: '10.99.0.0/29' }] } }) }));
    const w = workload('web', ['tiny']);
    await store.update((tx) => {
      tx.create('workload', w);
      for (let k = 0; k < 5; k++) tx.create('instance', instance(`t${k}`, w));
    });
    await settle(a);
    const t4 = get(store, 'instance', 't4');
    assert.equal(t4.status.state, 'new');
    assert.match(t4.status.err ?? '', /no available addresses on this pool/);
    const freed = get(store, 'instance', 't1');
    await store.update((tx) => tx.update('instance', { ...freed, status: { ...freed.status, state: 'shutdown' } }));
    await settle(a);
    const now = get(store, 'instance', 't4');
    assert.equal(now.status.state, 'pending');
    assert.equal(now.status.err, undefined);
    assert.equal(now.networks[0]?.addresses[0], freed.networks[0]?.addresses[0]);
    // A deleted task frees its address too.
    await store.update((tx) => {
      tx.delete('instance', 't2');
      tx.create('instance', instance('t5', w));
    });
    await settle(a);
    assert.equal(get(store, 'instance', 't5').status.state, 'pending');
  });

  it('frees a deleted workload’s VIPs and ports, and a deleted network’s subnet', async () => {
    const store = new MemoryStore({ clock });
    await cluster(store);
    const a = start(store);
    await store.update((tx) => {
      tx.create('network', { id: 'ingress1', spec: ingressNetworkSpec() });
      tx.create('network', { id: 'net1', spec: netSpec('net1') });
    });
    await store.update((tx) => tx.create('workload', workload('one', ['net1'], [ingressPort(80, 8080)])));
    await settle(a);
    // A second service on the same port (the control API refuses it; the allocator must too).
    await store.update((tx) => tx.create('workload', workload('two', ['net1'], [ingressPort(80, 8080)])));
    const two = workload('two', ['net1'], [ingressPort(80, 8080)]);
    await store.update((tx) => tx.create('instance', instance('t-two', two)));
    await settle(a);
    assert.equal(get(store, 'workload', 'two').endpoint, undefined);
    assert.equal(get(store, 'instance', 't-two').status.err, "port '8080' is already in use by service 'one' (one) as an ingress port");
    await store.update((tx) => tx.delete('workload', 'one'));
    await settle(a);
    assert.equal(get(store, 'workload', 'two').endpoint?.ports[0]?.publishedPort, 8080, 'the port went to the waiting service');
    assert.equal(get(store, 'instance', 't-two').status.state, 'pending');
    // Network: remove everything on it, then the network; its subnet is carved again.
    await store.update((tx) => {
      tx.delete('instance', 't-two');
      tx.delete('workload', 'two');
      tx.delete('network', 'net1');
    });
    await settle(a);
    await store.update((tx) => tx.create('network', { id: 'net2', spec: netSpec('net2') }));
    await settle(a);
    assert.equal(get(store, 'network', 'net2').allocation?.subnets[0]?.subnet, '10.0.1.0/24');
  });

  it('moves VIPs with a service update (network removed, network added) and keeps a picked port', async () => {
    const store = new MemoryStore({ clock });
    await cluster(store);
    const a = start(store);
    await store.update((tx) => {
      tx.create('network', { id: 'ingress1', spec: ingressNetworkSpec() });
      tx.create('network', { id: 'n1', spec: netSpec('n1') });
      tx.create('network', { id: 'n2', spec: netSpec('n2') });
      tx.create('workload', workload('web', ['n1'], [ingressPort(80)]));
    });
    await settle(a);
    const before = get(store, 'workload', 'web');
    const updated: Workload = { ...before, spec: { ...before.spec, template: { ...before.spec.template, networks: [{ target: 'n2', aliases: [] }] } } };
    await store.update((tx) => tx.update('workload', updated));
    await settle(a);
    const after = get(store, 'workload', 'web').endpoint;
    assert.deepEqual(after?.virtualIps.map((v) => v.networkId), ['ingress1', 'n2']);
    assert.equal(after?.ports[0]?.publishedPort, before.endpoint?.ports[0]?.publishedPort);
  });

  it('leaves tasks without networks to the scheduler', async () => {
    const store = new MemoryStore({ clock });
    await cluster(store);
    const a = start(store);
    const w = workload('plain', []);
    await store.update((tx) => {
      tx.create('workload', w);
      tx.create('instance', instance('t1', w));
    });
    await settle(a);
    const t: Instance = get(store, 'instance', 't1');
    assert.equal(t.status.state, 'new');
    assert.equal(awaitingNetworkAllocation(t, get(store, 'workload', 'plain')), false);
    assert.deepEqual(get(store, 'workload', 'plain').endpoint, { spec: { mode: 'vip', ports: [] }, ports: [], virtualIps: [] });
  });

  it('allocates every address of the store exactly once across restarts with deletions (no duplicate)', async () => {
    const store = new MemoryStore({ clock });
    await cluster(store);
    let a = start(store);
    await store.update((tx) => tx.create('network', { id: 'n', spec: netSpec('n', { ipam: { driver: 'default', configs: [{ subnet: '10.7.0.0/27' }] } }) }));
    const w = workload('web', ['n']);
    await store.update((tx) => tx.create('workload', w));
    let next = 0;
    for (let round = 0; round < 4; round++) {
      await store.update((tx) => {
        for (let k = 0; k < 8; k++) tx.create('instance', instance(`t${next++}`, w));
      });
      await settle(a);
      await store.update((tx) => {
        for (const i of tx.list('instance').slice(0, 5)) tx.delete('instance', i.id);
      });
      running.pop()?.stop();
      a = start(store);
      await settle(a);
      const live = store.view((tx) => tx.list('instance').flatMap((i) => i.networks.flatMap((n) => n.addresses)));
      assert.equal(new Set(live).size, live.length, `round ${round}: ${live.join(' ')}`);
      for (const x of live) assert.ok(parseCidr(x));
    }
  });
});
