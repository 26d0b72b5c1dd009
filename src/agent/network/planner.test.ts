import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { StevedoreError } from '../../util/errors.js';
import { LABEL_MODE, canonicalSubnet, contains, macForAddress } from './addressing.js';
import { chooseMode, filterRules, natRules, planNetwork, planTeardown, planWireguard } from './planner.js';
import type { HostUnderlay, HostWireguard, ObservedNetwork, ObservedWireguard, Operation, OverlayNetworkDesired, OverlayPeer } from './types.js';

const host: HostUnderlay = { address: '10.211.0.11/24' };
const wg: HostWireguard = { interface: 'stvovwg0', address: '10.249.0.11/24', listenPort: 51820 };

const empty: ObservedNetwork = {
  legAddresses: [],
  fdb: [],
  neigh: [],
  proxyNeigh: [],
  routes: [],
  filter: { exists: false, jump: false, rules: [] },
  nat: { exists: false, jump: false, rules: [] },
  raw: { exists: false, jump: false, rules: [] },
};

const peer = (n: number, underlay: string, ...addresses: string[]): OverlayPeer => ({
  nodeId: `node-${n}`,
  underlay,
  endpoints: addresses.map((address) => ({ address })),
  wireguard: { publicKey: `key-${n}=`, address: `10.249.0.${10 + n}` },
});

const net = (over: Partial<OverlayNetworkDesired> = {}): OverlayNetworkDesired => ({
  networkId: 'net1',
  name: 'stvov-web',
  vni: 9001,
  subnet: '10.250.1.0/24',
  gateway: '10.250.1.1',
  mode: 'auto',
  encrypted: false,
  internal: false,
  peers: [peer(2, '10.211.0.12', '10.250.1.6'), peer(3, '10.211.0.13', '10.250.1.7/24', '10.250.1.8')],
  ...over,
});

const kinds = (ops: readonly Operation[]): string[] => ops.map((o) => o.op);

/**
 * A model of the host for the planner's tests: applies operations to an
 * observed state the way the kernel and engine would, so "plan, apply, plan
 * again" can be checked to reach a fixed point.
 */
function simulate(observed: ObservedNetwork, ops: readonly Operation[]): ObservedNetwork {
  let s = observed;
  const chain = (t: 'filter' | 'nat' | 'raw') => s[t];
  for (const op of ops) {
    switch (op.op) {
      case 'docker.network.create':
        s = { ...s, docker: { id: 'dn1', name: op.name, driver: 'macvlan', parent: op.parent, subnet: op.subnet, gateway: op.gateway, labels: op.labels, containers: 0 } };
        break;
      case 'docker.network.remove': {
        const { docker: _d, ...rest } = s;
        s = rest;
        break;
      }
      case 'link.vxlan.add':
        s = { ...s, parent: { name: op.name, kind: 'vxlan', mtu: op.mtu, up: true, vxlan: { vni: op.vni, local: op.local, port: op.port, learning: false, proxy: true } } };
        break;
      case 'link.stub.add':
        s = { ...s, parent: { name: op.name, kind: 'bridge', mtu: op.mtu, up: true } };
        break;
      case 'link.leg.add': {
        const { proxyDelayMs: _p, ...rest } = s;
        s = { ...rest, leg: { name: op.name, kind: 'macvlan', mtu: s.parent?.mtu ?? 1500, up: true, link: op.parent }, legAddresses: [], proxyNeigh: [] };
        break;
      }
      case 'addr.replace':
        s = { ...s, legAddresses: [...s.legAddresses.filter((a) => a !== op.address), op.address] };
        break;
      case 'link.del': {
        // A macvlan dies with its parent; the parent's entries with it.
        const dropLeg = s.leg?.name === op.name || s.parent?.name === op.name;
        const { leg, parent, proxyDelayMs, ...rest } = s;
        s = {
          ...rest,
          ...(s.parent?.name === op.name ? { fdb: [], neigh: [] } : { ...(parent ? { parent } : {}) }),
          ...(dropLeg ? { legAddresses: [], proxyNeigh: [] } : { ...(leg ? { leg } : {}), ...(proxyDelayMs !== undefined ? { proxyDelayMs } : {}) }),
        };
        break;
      }
      case 'link.set':
        if (s.parent?.name === op.name) s = { ...s, parent: { ...s.parent, up: true, ...(op.mtu ? { mtu: op.mtu } : {}) } };
        if (s.leg?.name === op.name) s = { ...s, leg: { ...s.leg, up: true } };
        break;
      case 'fdb.add':
        s = { ...s, fdb: [...s.fdb, { mac: op.mac, dst: op.dst }] };
        break;
      case 'fdb.del':
        s = { ...s, fdb: s.fdb.filter((f) => !(f.mac === op.mac && f.dst === op.dst)) };
        break;
      case 'neigh.replace':
        s = { ...s, neigh: [...s.neigh.filter((n) => n.address !== op.address), { address: op.address, mac: op.mac }] };
        break;
      case 'neigh.del':
        s = { ...s, neigh: s.neigh.filter((n) => n.address !== op.address) };
        break;
      case 'neigh.proxy.add':
        s = { ...s, proxyNeigh: [...s.proxyNeigh, op.address] };
        break;
      case 'neigh.proxy.del':
        s = { ...s, proxyNeigh: s.proxyNeigh.filter((a) => a !== op.address) };
        break;
      case 'ntable.proxy-delay':
        s = { ...s, proxyDelayMs: op.ms };
        break;
      case 'route.replace':
        s = { ...s, routes: [...s.routes.filter((r) => r.destination !== op.destination), { destination: op.destination, via: op.via }] };
        break;
      case 'route.del':
        s = { ...s, routes: s.routes.filter((r) => r.destination !== op.destination) };
        break;
      case 'iptables.chain.ensure':
        s = { ...s, [op.table]: { ...chain(op.table), exists: true, jump: true } };
        break;
      case 'iptables.chain.remove':
        s = { ...s, [op.table]: { exists: false, jump: false, rules: [] } };
        break;
      case 'iptables.append':
        s = { ...s, [op.table]: { ...chain(op.table), rules: [...chain(op.table).rules, op.rule] } };
        break;
      case 'iptables.delete':
        s = { ...s, [op.table]: { ...chain(op.table), rules: chain(op.table).rules.filter((r) => r !== op.rule) } };
        break;
      default:
        throw new Error(`simulate: unexpected ${op.op}`);
    }
  }
  return s;
}

const throwsKind = (fn: () => unknown, kind: string, re: RegExp) =>
  assert.throws(fn, (err: unknown) => err instanceof StevedoreError && err.kind === kind && re.test(err.message));

describe('overlay planner: addressing', () => {
  it('derives Docker 20.10 MACs from IPv4 addresses', () => {
    assert.equal(macForAddress('10.250.0.5'), '02:42:0a:fa:00:05');
    assert.equal(macForAddress('10.250.1.255/24'), '02:42:0a:fa:01:ff');
  });
  it('canonicalises subnets and tests membership', () => {
    assert.equal(canonicalSubnet('10.250.1.7/24'), '10.250.1.0/24');
    assert.ok(contains('10.211.0.11/24', '10.211.0.200'));
    assert.ok(!contains('10.211.0.11/24', '10.211.1.1'));
  });
});

describe('overlay planner: mode', () => {
  it('auto is routed when every peer is on the underlay segment', () => {
    assert.equal(chooseMode(net(), host), 'routed');
  });
  it('auto is vxlan when a peer is off the segment, or the network is encrypted', () => {
    assert.equal(chooseMode(net({ peers: [peer(2, '10.212.0.12', '10.250.1.6')] }), host), 'vxlan');
    assert.equal(chooseMode(net({ encrypted: true }), host), 'vxlan');
  });
  it('the mode recorded on the Docker network stands', () => {
    const plan = planNetwork(net({ mode: 'vxlan' }), host, empty);
    const after = simulate(empty, plan.operations);
    assert.equal(after.docker?.labels[LABEL_MODE], 'vxlan');
    assert.equal(chooseMode(net({ mode: 'auto' }), host, after), 'vxlan');
    throwsKind(() => chooseMode(net({ mode: 'routed' }), host, after), 'conflict', /already runs in vxlan mode/);
  });
  it('refuses routed mode towards a peer off the segment', () => {
    throwsKind(() => chooseMode(net({ mode: 'routed', peers: [peer(2, '10.9.0.2')] }), host), 'unavailable', /node-2 \(10\.9\.0\.2\) is not on the underlay segment 10\.211\.0\.0\/24/);
  });
  it('refuses routed encryption', () => {
    throwsKind(() => chooseMode(net({ mode: 'routed', encrypted: true }), host), 'invalidParameter', /routed mode cannot encrypt/);
  });
});

describe('overlay planner: a network on a fresh host', () => {
  it('routed: an empty bridge as parent, the macvlan network on it, the leg with the gateway, /32 routes and ARP proxy, firewall', () => {
    const plan = planNetwork(net(), host, empty);
    assert.equal(plan.mode, 'routed');
    assert.equal(plan.mtu, 1500);
    assert.deepEqual(plan.operations, [
      { op: 'link.stub.add', name: 'stvx-9001', mtu: 1500 },
      {
        op: 'docker.network.create',
        name: 'stvov-web',
        parent: 'stvx-9001',
        subnet: '10.250.1.0/24',
        gateway: '10.250.1.1',
        labels: {
          'io.stevedore.managed': 'true',
          'io.stevedore.network.id': 'net1',
          'io.stevedore.overlay.vni': '9001',
          'io.stevedore.overlay.mode': 'routed',
          'io.stevedore.overlay.encrypted': 'false',
        },
      },
      { op: 'link.leg.add', name: 'stv-9001', parent: 'stvx-9001' },
      { op: 'addr.replace', dev: 'stv-9001', address: '10.250.1.1/24' },
      { op: 'route.replace', destination: '10.250.1.6/32', via: '10.211.0.12' },
      { op: 'route.replace', destination: '10.250.1.7/32', via: '10.211.0.13' },
      { op: 'route.replace', destination: '10.250.1.8/32', via: '10.211.0.13' },
      { op: 'neigh.proxy.add', dev: 'stv-9001', address: '10.250.1.6' },
      { op: 'neigh.proxy.add', dev: 'stv-9001', address: '10.250.1.7' },
      { op: 'neigh.proxy.add', dev: 'stv-9001', address: '10.250.1.8' },
      { op: 'ntable.proxy-delay', dev: 'stv-9001', ms: 0 },
      { op: 'iptables.chain.ensure', table: 'filter', chain: 'STVOV-FWD', parent: 'FORWARD' },
      { op: 'iptables.append', table: 'filter', rule: '-A STVOV-FWD -s 10.250.1.0/24 -d 10.250.1.0/24 -m comment --comment stvov:9001 -j ACCEPT' },
      { op: 'iptables.append', table: 'filter', rule: '-A STVOV-FWD -o stv-9001 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment stvov:9001 -j ACCEPT' },
      { op: 'iptables.append', table: 'filter', rule: '-A STVOV-FWD -i stv-9001 ! -o stv-+ -m comment --comment stvov:9001 -j ACCEPT' },
      { op: 'iptables.chain.ensure', table: 'nat', chain: 'STVOV-NAT', parent: 'POSTROUTING' },
      { op: 'iptables.append', table: 'nat', rule: '-A STVOV-NAT -s 10.250.1.0/24 ! -d 10.250.1.0/24 -m comment --comment stvov:9001 -j MASQUERADE' },
    ]);
  });

  it('vxlan: MTU 1450, the nolearning proxy VXLAN device first (the macvlan network needs its parent), flooding and per-MAC FDB entries, static neighbours', () => {
    const plan = planNetwork(net({ mode: 'vxlan' }), host, empty);
    assert.equal(plan.mtu, 1450);
    const ops = plan.operations;
    assert.deepEqual(ops[0], { op: 'link.vxlan.add', name: 'stvx-9001', vni: 9001, local: '10.211.0.11', port: 4789, mtu: 1450 });
    assert.deepEqual(kinds(ops).slice(1, 4), ['docker.network.create', 'link.leg.add', 'addr.replace']);
    assert.deepEqual(
      ops.filter((o) => o.op === 'fdb.add'),
      [
        { op: 'fdb.add', dev: 'stvx-9001', mac: '00:00:00:00:00:00', dst: '10.211.0.12' },
        { op: 'fdb.add', dev: 'stvx-9001', mac: '00:00:00:00:00:00', dst: '10.211.0.13' },
        { op: 'fdb.add', dev: 'stvx-9001', mac: '02:42:0a:fa:01:06', dst: '10.211.0.12' },
        { op: 'fdb.add', dev: 'stvx-9001', mac: '02:42:0a:fa:01:07', dst: '10.211.0.13' },
        { op: 'fdb.add', dev: 'stvx-9001', mac: '02:42:0a:fa:01:08', dst: '10.211.0.13' },
      ],
    );
    assert.deepEqual(
      ops.filter((o) => o.op === 'neigh.replace').map((o) => o.op === 'neigh.replace' && `${o.address}=${o.mac}`),
      ['10.250.1.6=02:42:0a:fa:01:06', '10.250.1.7=02:42:0a:fa:01:07', '10.250.1.8=02:42:0a:fa:01:08'],
    );
    assert.ok(!kinds(ops).includes('route.replace'));
    // The encapsulated packets skip conntrack, in and out.
    assert.deepEqual(
      ops.filter((o) => 'table' in o && o.table === 'raw'),
      [
        { op: 'iptables.chain.ensure', table: 'raw', chain: 'STVOV-RAW', parent: 'PREROUTING' },
        { op: 'iptables.chain.ensure', table: 'raw', chain: 'STVOV-RAW', parent: 'OUTPUT' },
        { op: 'iptables.append', table: 'raw', rule: '-A STVOV-RAW -p udp -m udp --dport 4789 -m comment --comment stvov:9001 -j NOTRACK' },
      ],
    );
  });

  it('internal: nothing in or out but the subnet itself (no MASQUERADE)', () => {
    const ops = planNetwork(net({ mode: 'vxlan', internal: true }), host, empty).operations;
    const rules = ops.flatMap((o) => (o.op === 'iptables.append' ? [`${o.table} ${o.rule}`] : []));
    assert.deepEqual(rules, [
      'filter -A STVOV-FWD -s 10.250.1.0/24 -d 10.250.1.0/24 -m comment --comment stvov:9001 -j ACCEPT',
      'filter -A STVOV-FWD -i stv-9001 -m comment --comment stvov:9001 -j DROP',
      'filter -A STVOV-FWD -o stv-9001 -m comment --comment stvov:9001 -j DROP',
      'raw -A STVOV-RAW -p udp -m udp --dport 4789 -m comment --comment stvov:9001 -j NOTRACK',
    ]);
  });

  it('vxlan over WireGuard when encrypted: tunnel addresses, MTU 1390', () => {
    const plan = planNetwork(net({ encrypted: true }), host, empty, wg);
    assert.equal(plan.mode, 'vxlan');
    assert.equal(plan.mtu, 1390);
    assert.ok(plan.operations.some((o) => o.op === 'link.vxlan.add' && o.local === '10.249.0.11' && o.mtu === 1390));
    assert.deepEqual(
      [...new Set(plan.operations.flatMap((o) => (o.op === 'fdb.add' ? [o.dst] : [])))],
      ['10.249.0.12', '10.249.0.13'],
    );
  });

  it('refuses an encrypted network without WireGuard settings or a peer without a key', () => {
    throwsKind(() => planNetwork(net({ encrypted: true }), host, empty), 'invalidParameter', /no WireGuard settings/);
    const { wireguard: _w, ...keyless } = peer(2, '10.211.0.12', '10.250.1.6');
    throwsKind(() => planNetwork(net({ encrypted: true, peers: [keyless] }), host, empty, wg), 'invalidParameter', /node-2 has no WireGuard key/);
  });

  it('refuses addresses outside the subnet, claimed twice, or a bad VNI', () => {
    throwsKind(() => planNetwork(net({ peers: [peer(2, '10.211.0.12', '10.99.0.1')] }), host, empty), 'invalidParameter', /outside 10\.250\.1\.0\/24/);
    throwsKind(() => planNetwork(net({ peers: [peer(2, '10.211.0.12', '10.250.1.6'), peer(3, '10.211.0.13', '10.250.1.6')] }), host, empty), 'conflict', /claimed by nodes node-2 and node-3/);
    throwsKind(() => planNetwork(net({ vni: 0 }), host, empty), 'invalidParameter', /VNI 0/);
  });
});

describe('overlay planner: converging', () => {
  for (const mode of ['vxlan', 'routed'] as const) {
    it(`${mode}: plan, apply, plan again is empty (ensure twice changes nothing)`, () => {
      const desired = net({ mode });
      const after = simulate(empty, planNetwork(desired, host, empty).operations);
      assert.deepEqual(planNetwork(desired, host, after).operations, []);
    });

    it(`${mode}: a peer's endpoint leaving removes exactly its entries`, () => {
      const before = simulate(empty, planNetwork(net({ mode }), host, empty).operations);
      const fewer = net({ mode, peers: [peer(2, '10.211.0.12', '10.250.1.6'), peer(3, '10.211.0.13', '10.250.1.7')] });
      const ops = planNetwork(fewer, host, before).operations;
      assert.deepEqual(
        ops,
        mode === 'vxlan'
          ? [
              { op: 'fdb.del', dev: 'stvx-9001', mac: '02:42:0a:fa:01:08', dst: '10.211.0.13' },
              { op: 'neigh.del', dev: 'stvx-9001', address: '10.250.1.8' },
            ]
          : [
              { op: 'route.del', destination: '10.250.1.8/32', via: '10.211.0.13' },
              { op: 'neigh.proxy.del', dev: 'stv-9001', address: '10.250.1.8' },
            ],
      );
    });
  }

  it('a VXLAN device with the wrong settings is replaced while nothing is attached, its leg and entries re-made', () => {
    const after = simulate(empty, planNetwork(net({ mode: 'vxlan' }), host, empty).operations);
    const wrong: ObservedNetwork = { ...after, parent: { ...after.parent!, vxlan: { ...after.parent!.vxlan!, learning: true } } };
    const ops = planNetwork(net({ mode: 'vxlan' }), host, wrong).operations;
    assert.deepEqual(kinds(ops).slice(0, 4), ['link.del', 'link.vxlan.add', 'link.leg.add', 'addr.replace']);
    assert.equal(ops.filter((o) => o.op === 'fdb.add').length, 5);
    assert.deepEqual(planNetwork(net({ mode: 'vxlan' }), host, simulate(wrong, ops)).operations, []);
  });

  it("refuses to replace the device under attached containers (their interfaces would die with it)", () => {
    const after = simulate(empty, planNetwork(net({ mode: 'vxlan' }), host, empty).operations);
    const wrong: ObservedNetwork = { ...after, docker: { ...after.docker!, containers: 2 }, parent: { ...after.parent!, vxlan: { ...after.parent!.vxlan!, local: '10.211.0.99' } } };
    throwsKind(() => planNetwork(net({ mode: 'vxlan' }), host, wrong), 'conflict', /2 container\(s\) are attached/);
  });

  it('a leg gone (deleted by hand) is made again with its gateway', () => {
    const after = simulate(empty, planNetwork(net({ mode: 'vxlan' }), host, empty).operations);
    const { leg: _l, ...noLeg } = after;
    assert.deepEqual(planNetwork(net({ mode: 'vxlan' }), host, { ...noLeg, legAddresses: [] }).operations, [
      { op: 'link.leg.add', name: 'stv-9001', parent: 'stvx-9001' },
      { op: 'addr.replace', dev: 'stv-9001', address: '10.250.1.1/24' },
    ]);
  });

  it('a Docker network of the old design (a bridge) is a conflict naming what differs', () => {
    const after = simulate(empty, planNetwork(net({ mode: 'vxlan' }), host, empty).operations);
    throwsKind(() => planNetwork(net({ mode: 'vxlan' }), host, { ...after, docker: { ...after.docker!, driver: 'bridge', parent: '' } }), 'conflict', /its driver is bridge, want macvlan on stvx-9001/);
  });

  it('a foreign Docker network in the way is a conflict, never changed', () => {
    const after = simulate(empty, planNetwork(net({ mode: 'vxlan' }), host, empty).operations);
    throwsKind(() => planNetwork(net({ mode: 'vxlan', subnet: '10.250.2.0/24', gateway: '10.250.2.1', peers: [] }), host, after), 'conflict', /its subnet is 10\.250\.1\.0\/24/);
  });

  it('property: from any reachable state, one plan reaches the fixed point', () => {
    const arbEndpoints = fc.uniqueArray(fc.integer({ min: 2, max: 250 }), { maxLength: 6 });
    const arbNet = fc.record({ mode: fc.constantFrom('vxlan' as const, 'routed' as const), a: arbEndpoints, b: arbEndpoints });
    fc.assert(
      fc.property(arbNet, arbNet, (first, second) => {
        const mk = (x: typeof first) => {
          const bOnly = x.b.filter((n) => !x.a.includes(n));
          return net({ mode: x.mode, peers: [peer(2, '10.211.0.12', ...x.a.map((n) => `10.250.1.${n}`)), peer(3, '10.211.0.13', ...bOnly.map((n) => `10.250.1.${n}`))] });
        };
        const s1 = simulate(empty, planNetwork(mk(first), host, empty).operations);
        // the recorded mode stands: the second desired state runs in the first's mode
        const d2 = { ...mk(second), mode: first.mode };
        const s2 = simulate(s1, planNetwork(d2, host, s1).operations);
        assert.deepEqual(planNetwork(d2, host, s2).operations, []);
      }),
      { numRuns: 200 },
    );
  });
});

describe('overlay planner: teardown', () => {
  for (const mode of ['vxlan', 'routed'] as const) {
    it(`${mode}: leaves nothing of the network behind`, () => {
      const after = simulate(empty, planNetwork(net({ mode }), host, empty).operations);
      const gone = simulate(after, planTeardown(9001, after));
      assert.deepEqual(gone, empty);
    });
  }

  it("keeps the chains while another network's rules are in them", () => {
    const a = simulate(empty, planNetwork(net({ mode: 'routed' }), host, empty).operations);
    const withOther: ObservedNetwork = {
      ...a,
      filter: { ...a.filter, rules: [...a.filter.rules, ...filterRules(9002, '10.250.2.0/24', false)] },
      nat: { ...a.nat, rules: [...a.nat.rules, ...natRules(9002, '10.250.2.0/24', false)] },
    };
    const ops = planTeardown(9001, withOther);
    assert.ok(!kinds(ops).includes('iptables.chain.remove'));
    assert.deepEqual(
      ops.filter((o) => o.op === 'iptables.delete').map((o) => o.op === 'iptables.delete' && o.table),
      ['filter', 'filter', 'filter', 'nat'],
    );
  });
});

describe('overlay planner: WireGuard', () => {
  const peers = [peer(2, '10.211.0.12'), peer(3, '10.211.0.13')];
  const none: ObservedWireguard = { addresses: [], peers: [] };

  it('a fresh host: interface, key and port, address, MTU 1440, one peer per host', () => {
    assert.deepEqual(planWireguard(wg, host, peers, none, true), [
      { op: 'wg.link.add', name: 'stvovwg0' },
      { op: 'wg.configure', name: 'stvovwg0', listenPort: 51820 },
      { op: 'addr.replace', dev: 'stvovwg0', address: '10.249.0.11/24' },
      { op: 'link.set', name: 'stvovwg0', mtu: 1440, up: true },
      { op: 'wg.peer.set', name: 'stvovwg0', publicKey: 'key-2=', endpoint: '10.211.0.12:51820', allowedIps: ['10.249.0.12/32'] },
      { op: 'wg.peer.set', name: 'stvovwg0', publicKey: 'key-3=', endpoint: '10.211.0.13:51820', allowedIps: ['10.249.0.13/32'] },
    ]);
  });

  it('converged: nothing; a stale peer: removed; no networks left: the interface goes', () => {
    const observed: ObservedWireguard = {
      link: { name: 'stvovwg0', kind: 'tun', mtu: 1440, up: true },
      addresses: ['10.249.0.11/24'],
      listenPort: 51820,
      peers: [
        { publicKey: 'key-2=', endpoint: '10.211.0.12:51820', allowedIps: ['10.249.0.12/32'] },
        { publicKey: 'key-3=', endpoint: '10.211.0.13:51820', allowedIps: ['10.249.0.13/32'] },
      ],
    };
    assert.deepEqual(planWireguard(wg, host, peers, observed, true), []);
    assert.deepEqual(planWireguard(wg, host, [peer(2, '10.211.0.12')], observed, true), [{ op: 'wg.peer.remove', name: 'stvovwg0', publicKey: 'key-3=' }]);
    assert.deepEqual(planWireguard(wg, host, [], observed, false), [{ op: 'wg.link.del', name: 'stvovwg0' }]);
    assert.deepEqual(planWireguard(wg, host, [], none, false), []);
  });
});
