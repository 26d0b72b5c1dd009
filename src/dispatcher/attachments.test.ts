import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../store/index.js';
import { newNetwork, newNode } from '../store/testing/fixtures.js';
import { StevedoreError } from '../util/errors.js';
import { assignmentsFor } from './assignments.js';
import { newAttachmentInstance, notAttachableMessage, resolveAttachable } from './attachments.js';
import { networkAssignmentsFor } from './network-assignments.js';
import { serviceRecordsFor } from './service-records.js';

async function cluster(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.update((tx) => {
    for (const [id, addr] of [['n1', '10.211.0.16'], ['n2', '10.211.0.17']] as const) {
      const n = newNode(id, id);
      tx.create('node', { ...n, status: { ...n.status, addr } });
    }
    const ov = newNetwork('net1abc', 'ov');
    tx.create('network', { ...ov, spec: { ...ov.spec, attachable: true }, allocation: { subnets: [{ subnet: '10.0.1.0/24', gateway: '10.0.1.1' }], vni: 4097 } });
    tx.create('network', { ...newNetwork('net2', 'closed'), allocation: { subnets: [{ subnet: '10.0.2.0/24', gateway: '10.0.2.1' }], vni: 4098 } });
  });
  return store;
}

test('resolveAttachable: by id, name or unique prefix; Docker\'s refusals otherwise', async () => {
  const store = await cluster();
  store.view((tx) => {
    assert.equal(resolveAttachable(tx, 'net1abc').id, 'net1abc');
    assert.equal(resolveAttachable(tx, 'ov').id, 'net1abc');
    assert.equal(resolveAttachable(tx, 'net1').id, 'net1abc');
    assert.throws(() => resolveAttachable(tx, 'bridge'), (e: unknown) => e instanceof StevedoreError && e.kind === 'notFound');
    assert.throws(() => resolveAttachable(tx, 'closed'), (e: unknown) => e instanceof StevedoreError && e.kind === 'forbidden' && e.message === notAttachableMessage('closed'));
  });
});

test('an attachment: on its node from the start, one network, no workload; a peer and a resolvable name once it runs', async () => {
  const store = await cluster();
  await store.update((tx) => {
    const n = tx.get('network', 'net1abc');
    assert.ok(n);
    const a = newAttachmentInstance('att1', 'n2', n, { network: 'ov', containerName: '/web', aliases: ['www', 'www'] }, 5);
    assert.equal(a.workloadId, '');
    assert.equal(a.nodeId, 'n2');
    assert.deepEqual(a.template.networks, [{ target: 'net1abc', aliases: ['www'] }]);
    assert.deepEqual(a.attachment, { containerName: 'web' });
    // As the allocator and the agent leave it: addressed and running.
    tx.create('instance', { ...a, networks: [{ networkId: 'net1abc', addresses: ['10.0.1.9/24'], aliases: ['www'] }], status: { state: 'running', timestamp: 6, message: 'started' } });
  });
  store.view((tx) => {
    const records = serviceRecordsFor(tx, ['net1abc']).get('net1abc');
    assert.deepEqual(records?.containers, [{ id: 'att1', name: 'web', aliases: ['www'], address: '10.0.1.9', nodeId: 'n2' }]);
    const peers = networkAssignmentsFor(tx, 'n1', [{ networks: [{ networkId: 'net1abc', addresses: ['10.0.1.5/24'], aliases: [] }] } as never]).get('net1abc')?.peers;
    assert.deepEqual(peers, [{ nodeId: 'n2', underlay: '10.211.0.17', endpoints: ['10.0.1.9/24'] }]);
    // Its own node gets it, with the network and the records.
    const set = assignmentsFor(tx, 'n2');
    assert.ok(set.has('instance/att1'));
    assert.ok(set.has('network/net1abc'));
    assert.ok(set.has('services/net1abc'));
  });
});
