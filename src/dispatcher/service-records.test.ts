import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance, TaskState } from '../model/index.js';
import { MemoryStore, type WatchEvent } from '../store/index.js';
import { newNetwork, newNode, newWorkload, template } from '../store/testing/fixtures.js';
import { assignmentsFor, concernsNode, diffAssignments } from './assignments.js';
import { inServicePool, serviceRecordsFor } from './service-records.js';

type NewInstance = Omit<Instance, 'version' | 'createdAt' | 'updatedAt'>;

function task(id: string, workloadId: string, slot: number, nodeId: string, addr: string, state: TaskState = 'running', desired: TaskState = 'running', networkId = 'net1'): NewInstance {
  return {
    id,
    workloadId,
    slot,
    nodeId,
    template: template(),
    specVersion: 1,
    desiredState: desired,
    status: { state, timestamp: 0, message: '' },
    networks: [{ networkId, addresses: [`${addr}/24`], aliases: [] }],
  };
}

async function cluster(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.update((tx) => {
    for (const [id, addr] of [['n1', '10.211.0.16'], ['n2', '10.211.0.17']] as const) {
      const n = newNode(id, id);
      tx.create('node', { ...n, status: { ...n.status, addr } });
    }
    tx.create('network', { ...newNetwork('net1', 'front'), allocation: { subnets: [{ subnet: '10.0.1.0/24', gateway: '10.0.1.1' }], vni: 4097 } });
    tx.create('network', { ...newNetwork('net2', 'back'), allocation: { subnets: [{ subnet: '10.0.2.0/24', gateway: '10.0.2.1' }], vni: 4098 } });
    const web = newWorkload('w1', 'web', 3);
    tx.create('workload', {
      ...web,
      spec: { ...web.spec, template: { ...web.spec.template, networks: [{ target: 'net1', aliases: ['www', 'front-door'] }] } },
      endpoint: { spec: web.spec.endpoint, ports: [], virtualIps: [{ networkId: 'net1', addr: '10.0.1.2/24' }] },
    });
    const db = newWorkload('w2', 'db', 2);
    tx.create('workload', {
      ...db,
      spec: { ...db.spec, endpoint: { mode: 'dnsrr', ports: [] }, template: { ...db.spec.template, networks: [{ target: 'net1', aliases: [] }, { target: 'net2', aliases: [] }] } },
      endpoint: { spec: { mode: 'dnsrr', ports: [] }, ports: [], virtualIps: [] },
    });
  });
  return store;
}

test('the pool: running and still wanted; starting (not yet healthy), failed (unhealthy) or asked to stop are out', () => {
  const base = task('t', 'w1', 1, 'n1', '10.0.1.5');
  assert.equal(inServicePool({ ...base, version: 1, createdAt: 0, updatedAt: 0 }), true);
  for (const [state, desired] of [['starting', 'running'], ['failed', 'running'], ['running', 'shutdown'], ['running', 'remove'], ['complete', 'running']] as const) {
    assert.equal(inServicePool({ ...task('t', 'w1', 1, 'n1', '10.0.1.5', state, desired), version: 1, createdAt: 0, updatedAt: 0 }), false, `${state}/${desired}`);
  }
});

test('records per network: VIP and aliases in vip mode, no VIP in dnsrr, tasks sorted by address with Swarm task names', async () => {
  const store = await cluster();
  await store.update((tx) => {
    tx.create('instance', task('a', 'w1', 1, 'n1', '10.0.1.10'));
    tx.create('instance', task('b', 'w1', 2, 'n2', '10.0.1.9'));
    tx.create('instance', task('c', 'w1', 3, 'n2', '10.0.1.11', 'starting'));
    tx.create('instance', task('d', 'w1', 4, 'n1', '10.0.1.12', 'running', 'shutdown'));
    tx.create('instance', { ...task('e', 'w2', 1, 'n2', '10.0.1.20'), networks: [{ networkId: 'net1', addresses: ['10.0.1.20/24'], aliases: [] }, { networkId: 'net2', addresses: ['10.0.2.20/24'], aliases: [] }] });
  });
  const records = store.view((tx) => serviceRecordsFor(tx, ['net1', 'net2']));
  assert.deepEqual(records.get('net1'), {
    network: 'front',
    services: [
      { id: 'w2', name: 'db', mode: 'dnsrr', aliases: [], tasks: [{ id: 'e', name: 'db.1.e', address: '10.0.1.20', nodeId: 'n2' }] },
      {
        id: 'w1',
        name: 'web',
        mode: 'vip',
        vip: '10.0.1.2',
        aliases: ['front-door', 'www'],
        tasks: [
          { id: 'b', name: 'web.2.b', address: '10.0.1.9', nodeId: 'n2' },
          { id: 'a', name: 'web.1.a', address: '10.0.1.10', nodeId: 'n1' },
        ],
      },
    ],
  });
  assert.deepEqual(records.get('net2'), { network: 'back', services: [{ id: 'w2', name: 'db', mode: 'dnsrr', aliases: [], tasks: [{ id: 'e', name: 'db.1.e', address: '10.0.2.20', nodeId: 'n2' }] }] });
  await store.close();
});

test('a node gets the services of its overlays beside the network items, and a task elsewhere turning unhealthy updates them', async () => {
  const store = await cluster();
  await store.update((tx) => {
    tx.create('instance', task('a', 'w1', 1, 'n1', '10.0.1.10'));
    tx.create('instance', task('b', 'w1', 2, 'n2', '10.0.1.9'));
  });
  const first = store.view((tx) => assignmentsFor(tx, 'n1'));
  assert.deepEqual([...first.keys()].sort(), ['instance/a', 'network/net1', 'services/net1']);
  const poolOf = (s: typeof first) => {
    const x = s.get('services/net1');
    return x?.kind === 'services' ? x.services.services.find((r) => r.name === 'web')?.tasks.map((t) => t.id) : undefined;
  };
  assert.deepEqual(poolOf(first), ['b', 'a']);
  // b (on n2) turns unhealthy: its agent reports failed.
  const events: WatchEvent[] = [];
  const ac = new AbortController();
  const watching = (async () => {
    for await (const ev of store.watch({ signal: ac.signal })) events.push(ev);
  })().catch(() => undefined);
  await store.update((tx) => {
    const b = tx.get('instance', 'b');
    assert.ok(b);
    tx.update('instance', { ...b, status: { state: 'failed', timestamp: 1, message: '', err: 'container unhealthy' } });
  });
  await new Promise((r) => setImmediate(r));
  assert.ok(events.some((ev) => concernsNode(ev, 'n1', first)));
  const next = store.view((tx) => assignmentsFor(tx, 'n1'));
  assert.deepEqual(poolOf(next), ['a']);
  const changes = diffAssignments(first, next);
  // n2 no longer holds an address there either: the peers change too.
  assert.deepEqual(changes.map((c) => `${c.action} ${c.item.kind}/${c.item.id}`), ['update network/net1', 'update services/net1']);
  ac.abort();
  await watching;
  await store.close();
});

test('a workload event concerns a node only if the service is on one of its networks', async () => {
  const store = await cluster();
  await store.update((tx) => tx.create('instance', task('a', 'w2', 1, 'n1', '10.0.2.5', 'running', 'running', 'net2')));
  const set = store.view((tx) => assignmentsFor(tx, 'n1'));
  const w1 = store.view((tx) => tx.get('workload', 'w1'));
  const w2 = store.view((tx) => tx.get('workload', 'w2'));
  assert.ok(w1 && w2);
  assert.equal(concernsNode({ kind: 'workload', action: 'create', object: w1 } as WatchEvent, 'n1', set), false); // web is on net1 only
  assert.equal(concernsNode({ kind: 'workload', action: 'create', object: w2 } as WatchEvent, 'n1', set), true);
  await store.close();
});
