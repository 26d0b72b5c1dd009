import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance, PortConfig } from '../model/index.js';
import { defaultInstanceTemplate } from '../model/testing.js';
import { MemoryStore } from '../store/index.js';
import { newNetwork, newNode, newWorkload } from '../store/testing/fixtures.js';
import { assignmentsFor, concernsNode } from './assignments.js';
import { ingressAssignmentFor } from './ingress-assignments.js';

type NewInstance = Omit<Instance, 'version' | 'createdAt' | 'updatedAt'>;

const inst = (id: string, nodeId: string, addr: string, state: Instance['status']['state'] = 'running'): NewInstance => ({
  id,
  workloadId: 'w1',
  nodeId,
  template: defaultInstanceTemplate(),
  specVersion: 1,
  desiredState: 'running',
  status: { state, timestamp: 0, message: '' },
  networks: [{ networkId: 'ing', addresses: [addr], aliases: [] }],
});

async function cluster(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.update((tx) => {
    for (const [id, addr, lb] of [['n1', '10.211.0.16', '10.0.0.2/24'], ['n2', '10.211.0.17', '10.0.0.3/24'], ['n3', '10.211.0.18', '10.0.0.4/24']] as const) {
      const n = newNode(id, id);
      tx.create('node', { ...n, status: { ...n.status, addr }, ingressAddress: { networkId: 'ing', address: lb } });
    }
    const ingress = newNetwork('ing', 'ingress');
    tx.create('network', { ...ingress, spec: { ...ingress.spec, ingress: true }, allocation: { subnets: [{ subnet: '10.0.0.0/24', gateway: '10.0.0.1' }], vni: 4096 } });
    const w = newWorkload('w1', 'web');
    const port: PortConfig = { name: '', protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: 'ingress' };
    const hostPort: PortConfig = { name: '', protocol: 'tcp', targetPort: 81, publishedPort: 8081, publishMode: 'host' };
    tx.create('workload', { ...w, spec: { ...w.spec, endpoint: { mode: 'vip', ports: [port, hostPort] } }, endpoint: { spec: { mode: 'vip', ports: [port, hostPort] }, ports: [port, hostPort], virtualIps: [] } });
    tx.create('instance', inst('t1', 'n1', '10.0.0.6/24'));
    tx.create('instance', inst('t2', 'n2', '10.0.0.5/24'));
    tx.create('instance', inst('t3', 'n2', '10.0.0.7/24', 'starting')); // holds its address, not yet in the pool
  });
  return store;
}

test('every node gets the mesh, tasks or not: all other nodes as peers (their own address among their endpoints), every node\'s address, the ingress ports with their pool', async () => {
  const store = await cluster();
  const a = store.view((tx) => ingressAssignmentFor(tx, 'n3'));
  assert.ok(a);
  assert.equal(a.id, 'ing');
  assert.equal(a.ingress.address, '10.0.0.4/24');
  assert.deepEqual(a.ingress.nodes, [{ nodeId: 'n1', address: '10.0.0.2' }, { nodeId: 'n2', address: '10.0.0.3' }, { nodeId: 'n3', address: '10.0.0.4' }]);
  assert.deepEqual(a.ingress.network.peers, [
    { nodeId: 'n1', underlay: '10.211.0.16', endpoints: ['10.0.0.2/24', '10.0.0.6/24'] },
    { nodeId: 'n2', underlay: '10.211.0.17', endpoints: ['10.0.0.3/24', '10.0.0.5/24', '10.0.0.7/24'] },
  ]);
  assert.equal(a.ingress.network.mode, 'vxlan');
  assert.equal(a.ingress.network.encrypted, false);
  assert.deepEqual(a.ingress.services, [{ id: 'w1', name: 'web', ports: [{ protocol: 'tcp', publishedPort: 8080, targetPort: 80 }], tasks: ['10.0.0.5', '10.0.0.6'] }]);
  const set = store.view((tx) => assignmentsFor(tx, 'n3'));
  assert.ok(set.get('ingress/ing')?.kind === 'ingress');
});

test('a node without an ingress address gets no mesh; host-mode ports ride beside the instance', async () => {
  const store = await cluster();
  await store.update((tx) => {
    const n = newNode('n4', 'n4');
    tx.create('node', n);
  });
  assert.equal(store.view((tx) => ingressAssignmentFor(tx, 'n4')), undefined);
  const set = store.view((tx) => assignmentsFor(tx, 'n1'));
  const item = set.get('instance/t1');
  assert.ok(item?.kind === 'instance');
  assert.deepEqual((item.instance as { hostPorts?: PortConfig[] }).hostPorts?.map((p) => p.publishedPort), [8081]);
});

test('a task of another node starting on ingress concerns every node with the mesh', async () => {
  const store = await cluster();
  const current = store.view((tx) => assignmentsFor(tx, 'n3'));
  const old = store.view((tx) => tx.get('instance', 't3'));
  assert.ok(old);
  const next = { ...old, status: { ...old.status, state: 'running' as const } };
  assert.equal(concernsNode({ kind: 'instance', action: 'update', object: next, old } as never, 'n3', current), true);
});
