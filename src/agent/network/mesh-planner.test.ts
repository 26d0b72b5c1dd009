import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MESH_TABLE, meshMark, planHostLeg, planHostMesh, planTaskMesh, planTaskRoutes } from './mesh-planner.js';

test('host: a published port is DNATed to its tasks (numgen map for several, plain for one), from outside and from the host; no SNAT anywhere', () => {
  const script = planHostMesh([
    { id: 'w2', name: 'web', ports: [{ protocol: 'tcp', publishedPort: 8080, targetPort: 80 }], tasks: ['10.0.0.10', '10.0.0.9'] },
    { id: 'w1', name: 'dns', ports: [{ protocol: 'udp', publishedPort: 5353, targetPort: 53 }], tasks: ['10.0.0.4'] },
  ]);
  assert.equal(
    script,
    [
      `table ip ${MESH_TABLE}`,
      `delete table ip ${MESH_TABLE}`,
      `table ip ${MESH_TABLE} {`,
      '\tchain ingress_dnat {',
      '\t\ttype nat hook prerouting priority -101; policy accept;',
      '\t\tfib daddr type local udp dport 5353 dnat to 10.0.0.4:53 comment "dns"',
      '\t\tfib daddr type local tcp dport 8080 dnat ip to numgen random mod 2 map { 0 : 10.0.0.10 . 80, 1 : 10.0.0.9 . 80 } comment "web"',
      '\t}',
      '\tchain local_dnat {',
      '\t\ttype nat hook output priority -101; policy accept;',
      '\t\tfib daddr type local udp dport 5353 dnat to 10.0.0.4:53 comment "dns"',
      '\t\tfib daddr type local tcp dport 8080 dnat ip to numgen random mod 2 map { 0 : 10.0.0.10 . 80, 1 : 10.0.0.9 . 80 } comment "web"',
      '\t}',
      '}',
      '',
    ].join('\n'),
  );
  assert.ok(!/snat|masquerade/.test(script));
});

test('host: a port with no task is reset at once; no services removes the table', () => {
  const script = planHostMesh([{ id: 'w', name: 'idle', ports: [{ protocol: 'tcp', publishedPort: 30001, targetPort: 80 }], tasks: [] }]);
  assert.match(script, /chain no_task \{\n\t\ttype filter hook input priority 0; policy accept;\n\t\tfib daddr type local tcp dport 30001 reject with tcp reset comment "idle"/);
  assert.ok(!script.includes('ingress_dnat'));
  assert.equal(planHostMesh([]), `table ip ${MESH_TABLE}\ndelete table ip ${MESH_TABLE}\n`);
});

test('marks are the host\'s ingress address\'s low 24 bits under 0x10000000', () => {
  assert.equal(meshMark('10.0.0.2'), 0x10000002);
  assert.equal(meshMark('10.1.2.3'), 0x10010203);
});

test('task: connections from each host\'s bridge MAC get its mark; marked connections route by it', () => {
  const script = planTaskMesh('10.0.0.9', ['10.0.0.3', '10.0.0.2']);
  assert.match(script, /ct state new ip daddr 10\.0\.0\.9 ct mark set ether saddr map \{ 02:42:0a:00:00:02 : 0x10000002, 02:42:0a:00:00:03 : 0x10000003 \}/);
  assert.match(script, /type route hook output priority -150; policy accept;\n\t\tct mark and 0xff000000 == 0x10000000 meta mark set ct mark/);
  assert.ok(script.startsWith(`table ip ${MESH_TABLE}\ndelete table ip ${MESH_TABLE}\n`));
});

test('task routes: one rule and one default route per host; stale and duplicate rules of ours go, others stay', () => {
  const observed = [
    { priority: 0, table: 'local' },
    { priority: 10000, fwmark: '0x10000002', table: String(0x10000002) },
    { priority: 10000, fwmark: '0x10000002', table: String(0x10000002) }, // duplicate
    { priority: 10000, fwmark: '0x10000007', table: String(0x10000007) }, // a host that left
    { priority: 500, fwmark: '0x1', table: '100' }, // someone else's
    { priority: 32766, table: 'main' },
  ];
  assert.deepEqual(planTaskRoutes(['10.0.0.2', '10.0.0.3'], observed), [
    ['rule', 'del', 'pref', '10000', 'fwmark', '0x10000002', 'lookup', String(0x10000002)],
    ['rule', 'del', 'pref', '10000', 'fwmark', '0x10000007', 'lookup', String(0x10000007)],
    ['route', 'flush', 'table', String(0x10000007)],
    ['route', 'replace', 'default', 'via', '10.0.0.2', 'table', String(0x10000002)],
    ['route', 'replace', 'default', 'via', '10.0.0.3', 'table', String(0x10000003)],
    ['rule', 'add', 'pref', '10000', 'fwmark', '0x10000003', 'lookup', String(0x10000003)],
  ]);
  // Converged: only the idempotent route replaces remain.
  const converged = [{ priority: 10000, fwmark: '0x10000002', table: String(0x10000002) }, { priority: 10000, fwmark: '0x10000003', table: String(0x10000003) }];
  assert.ok(planTaskRoutes(['10.0.0.2', '10.0.0.3'], converged).every((c) => c[0] === 'route' && c[1] === 'replace'));
});

test('host bridge: MAC from the ingress address, the address added idempotently', () => {
  assert.deepEqual(planHostLeg('stv-4096', '10.0.0.2/24'), [
    ['link', 'set', 'dev', 'stv-4096', 'address', '02:42:0a:00:00:02'],
    ['addr', 'replace', '10.0.0.2/24', 'dev', 'stv-4096'],
  ]);
});
