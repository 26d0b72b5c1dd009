import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkServices } from '../../dispatcher/protocol.js';
import { LB_TABLE, planLoadBalancer, vipPools } from './lb-planner.js';

const t = (address: string) => ({ id: address, name: `x.${address}`, address, nodeId: 'n1' });
const records = new Map<string, NetworkServices>([
  [
    'net1',
    {
      network: 'front',
      services: [
        { id: 'w1', name: 'web', mode: 'vip', vip: '10.0.1.2', aliases: [], tasks: [t('10.0.1.10'), t('10.0.1.9'), t('10.0.1.11')] },
        { id: 'w2', name: 'db', mode: 'dnsrr', aliases: [], tasks: [t('10.0.1.20')] },
        { id: 'w3', name: 'idle', mode: 'vip', vip: '10.0.1.3', aliases: [], tasks: [] },
      ],
    },
  ],
  ['net2', { network: 'back', services: [{ id: 'w4', name: 'one', mode: 'vip', vip: '10.0.2.2', aliases: [], tasks: [t('10.0.2.5')] }] }],
]);

test('pools: vip-mode services with a VIP on the container\'s networks, backends sorted numerically; dnsrr has none', () => {
  assert.deepEqual(vipPools(records, ['net1']), [
    { vip: '10.0.1.2', service: 'web', backends: ['10.0.1.9', '10.0.1.10', '10.0.1.11'] },
    { vip: '10.0.1.3', service: 'idle', backends: [] },
  ]);
  assert.deepEqual(vipPools(records, ['net2']).map((p) => p.vip), ['10.0.2.2']);
  assert.deepEqual(vipPools(records, ['net3']), []);
});

test('the script replaces the table in one transaction: numgen map for several tasks, plain DNAT for one, reject for none', () => {
  const script = planLoadBalancer(vipPools(records, ['net1', 'net2']));
  assert.equal(
    script,
    [
      `table ip ${LB_TABLE}`,
      `delete table ip ${LB_TABLE}`,
      `table ip ${LB_TABLE} {`,
      '\tchain vip_dnat {',
      '\t\ttype nat hook output priority -100; policy accept;',
      '\t\tip daddr 10.0.1.2 dnat to numgen random mod 3 map { 0 : 10.0.1.9, 1 : 10.0.1.10, 2 : 10.0.1.11 } comment "web"',
      '\t\tip daddr 10.0.2.2 dnat to 10.0.2.5 comment "one"',
      '\t}',
      '\tchain vip_empty {',
      '\t\ttype filter hook output priority 0; policy accept;',
      '\t\tip daddr 10.0.1.3 meta l4proto tcp reject with tcp reset comment "idle"',
      '\t\tip daddr 10.0.1.3 reject comment "idle"',
      '\t}',
      '}',
      '',
    ].join('\n'),
  );
});

test('no pools: the script only removes the table; the same records always give the same script', () => {
  assert.equal(planLoadBalancer([]), `table ip ${LB_TABLE}\ndelete table ip ${LB_TABLE}\n`);
  assert.equal(planLoadBalancer(vipPools(records, ['net1'])), planLoadBalancer(vipPools(records, ['net1'])));
});

test('nothing from the records reaches the script unchecked: odd names are quoted safely, bad addresses dropped', () => {
  const odd = new Map<string, NetworkServices>([['n', { network: 'n', services: [{ id: 'w', name: 'a"b;c', mode: 'vip', vip: '10.0.0.2', aliases: [], tasks: [t('10.0.0.5'), t('10.0.0.5; flush ruleset')] }, { id: 'v', name: 'v', mode: 'vip', vip: 'x', aliases: [], tasks: [] }] }]]);
  const script = planLoadBalancer(vipPools(odd, ['n']));
  assert.match(script, /ip daddr 10\.0\.0\.2 dnat to 10\.0\.0\.5 comment "a_b_c"/);
  assert.doesNotMatch(script, /flush/);
});
