import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import type { NetworkServices } from '../../dispatcher/protocol.js';
import { answerQuery, lookupName, shuffleWith, TASKS_TTL, VIP_TTL, visibleNetworksFor } from './dns-names.js';

const front: NetworkServices = {
  network: 'front',
  services: [
    { id: 'w2', name: 'db', mode: 'dnsrr', aliases: ['Database'], tasks: [{ id: 'e', name: 'db.1.e', address: '10.0.1.20', nodeId: 'n2' }, { id: 'f', name: 'db.2.f', address: '10.0.1.21', nodeId: 'n1' }] },
    {
      id: 'w1',
      name: 'web',
      mode: 'vip',
      vip: '10.0.1.2',
      aliases: ['www'],
      tasks: [
        { id: 'b', name: 'web.2.b', address: '10.0.1.9', nodeId: 'n2' },
        { id: 'a', name: 'web.1.a', address: '10.0.1.10', nodeId: 'n1' },
      ],
    },
  ],
};
const back: NetworkServices = { network: 'back', services: [{ id: 'w3', name: 'web', mode: 'vip', vip: '10.0.2.2', aliases: [], tasks: [] }, { id: 'w4', name: 'cache', mode: 'vip', vip: '10.0.2.3', aliases: [], tasks: [] }] };
const records = new Map([['net1', front], ['net2', back]]);

test('service names, aliases, tasks.<name>, task names and PTR resolve as on Swarm', () => {
  assert.deepEqual(lookupName(records, ['net1'], 'web'), { kind: 'addresses', addresses: ['10.0.1.2'], ttl: VIP_TTL });
  assert.deepEqual(lookupName(records, ['net1'], 'WWW.'), { kind: 'addresses', addresses: ['10.0.1.2'], ttl: VIP_TTL });
  assert.deepEqual(lookupName(records, ['net1'], 'tasks.web'), { kind: 'addresses', addresses: ['10.0.1.9', '10.0.1.10'], ttl: TASKS_TTL });
  assert.deepEqual(lookupName(records, ['net1'], 'tasks.www'), { kind: 'addresses', addresses: ['10.0.1.9', '10.0.1.10'], ttl: TASKS_TTL });
  assert.deepEqual(lookupName(records, ['net1'], 'db'), { kind: 'addresses', addresses: ['10.0.1.20', '10.0.1.21'], ttl: TASKS_TTL });
  assert.deepEqual(lookupName(records, ['net1'], 'database'), { kind: 'addresses', addresses: ['10.0.1.20', '10.0.1.21'], ttl: TASKS_TTL });
  assert.deepEqual(lookupName(records, ['net1'], 'web.1.a'), { kind: 'addresses', addresses: ['10.0.1.10'], ttl: TASKS_TTL });
  assert.deepEqual(lookupName(records, ['net1'], '20.1.0.10.in-addr.arpa'), { kind: 'name', name: 'db.1.e', ttl: TASKS_TTL });
  assert.equal(lookupName(records, ['net1'], 'example.com'), undefined);
  assert.equal(lookupName(records, ['net1'], 'tasks.nothing'), undefined);
});

test('only the querier\'s networks are searched, in its attachment order', () => {
  assert.equal(lookupName(records, ['net1'], 'cache'), undefined);
  assert.deepEqual(lookupName(records, ['net2', 'net1'], 'web'), { kind: 'addresses', addresses: ['10.0.2.2'], ttl: VIP_TTL });
  assert.deepEqual(lookupName(records, ['net1', 'net2'], 'web'), { kind: 'addresses', addresses: ['10.0.1.2'], ttl: VIP_TTL });
  assert.equal(lookupName(records, [], 'web'), undefined);
});

test('dnsrr answers and task lists rotate with the injected randomness', () => {
  const seen = new Set<string>();
  let x = 0.1;
  const shuffle = shuffleWith(() => (x = (x * 7.31) % 1));
  for (let i = 0; i < 20; i++) {
    const r = lookupName(records, ['net1'], 'db', shuffle);
    assert.ok(r?.kind === 'addresses');
    assert.deepEqual([...r.addresses].sort(), ['10.0.1.20', '10.0.1.21']);
    seen.add(r.addresses.join(','));
  }
  assert.equal(seen.size, 2);
});

test('answerQuery: A records for ours, empty NOERROR for AAAA, undefined (forward) otherwise; round trip through the wire format', () => {
  const q = (name: string, type: 'A' | 'AAAA' | 'PTR' | 'MX') => dnsPacket.decode(dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] }));
  const a = answerQuery(q('tasks.web', 'A'), records, ['net1']);
  assert.ok(a);
  const wire = dnsPacket.decode(dnsPacket.encode(a));
  assert.equal(wire.id, 4242);
  assert.equal(wire.type, 'response');
  assert.equal((wire as { rcode?: string }).rcode, 'NOERROR');
  assert.equal(wire.flag_rd, true);
  assert.equal(wire.flag_aa, true);
  assert.deepEqual(wire.answers?.map((x) => (x.type === 'A' ? x.data : '')), ['10.0.1.9', '10.0.1.10']);
  const aaaa = answerQuery(q('web', 'AAAA'), records, ['net1']);
  assert.deepEqual(aaaa?.answers, []);
  const ptr = answerQuery(q('9.1.0.10.in-addr.arpa', 'PTR'), records, ['net1']);
  assert.deepEqual(ptr?.answers?.map((x) => (x.type === 'PTR' ? x.data : '')), ['web.2.b']);
  assert.equal(answerQuery(q('localhost', 'A'), records, ['net1']), undefined);
});

test('the querier\'s networks: a local task\'s attachments by its source address on the receiving network, else only that network', () => {
  const locals = [
    { networks: [{ networkId: 'net2', addresses: ['10.0.2.7/24'] }, { networkId: 'net1', addresses: ['10.0.1.7/24'] }] },
    { networks: [{ networkId: 'net1', addresses: ['10.0.1.8/24'] }] },
  ];
  assert.deepEqual(visibleNetworksFor('10.0.1.7', 'net1', locals), ['net2', 'net1']);
  assert.deepEqual(visibleNetworksFor('10.0.1.8', 'net1', locals), ['net1']);
  assert.deepEqual(visibleNetworksFor('10.0.1.99', 'net1', locals), ['net1']);
  // The same address on another network is another container.
  assert.deepEqual(visibleNetworksFor('10.0.1.7', 'net2', locals), ['net2']);
});

test('standalone containers on the network: their names and aliases, and PTR of their addresses', () => {
  const recs = new Map<string, NetworkServices>([
    ['n1', { network: 'ov', services: [], containers: [{ id: 'a1', name: 'web', aliases: ['www'], address: '10.0.1.9', nodeId: 'x' }, { id: 'a2', aliases: ['www'], address: '10.0.1.10', nodeId: 'y' }] }],
  ]);
  assert.deepEqual(lookupName(recs, ['n1'], 'web.'), { kind: 'addresses', addresses: ['10.0.1.9'], ttl: TASKS_TTL });
  assert.deepEqual(lookupName(recs, ['n1'], 'WWW'), { kind: 'addresses', addresses: ['10.0.1.9', '10.0.1.10'], ttl: TASKS_TTL });
  assert.deepEqual(lookupName(recs, ['n1'], '9.1.0.10.in-addr.arpa'), { kind: 'name', name: 'web', ttl: TASKS_TTL });
  assert.equal(lookupName(recs, ['n1'], '10.1.0.10.in-addr.arpa'), undefined);
  assert.equal(lookupName(recs, ['n2'], 'web'), undefined);
});
