/**
 * The overlay data plane on real test-bed hosts (tb1..tb3, each a network
 * namespace with its own engine): one suite run against each mode — VXLAN,
 * routed and encrypted (VXLAN over wireguard-go) — plus the refusal to go
 * unencrypted. Containers are busybox at cluster-chosen addresses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OverlayLab, type LabNetwork, type LabNode } from '../../src/agent/network/lab.js';
import { isBareTable } from '../../src/agent/network/iproute.js';
import { StevedoreError } from '../../src/util/errors.js';
import { testbedHosts } from '../support/testbed.js';

const MB = 1024 * 1024;

interface Case {
  readonly label: string;
  readonly mode: 'vxlan' | 'routed' | 'auto';
  readonly encrypted: boolean;
  readonly vni: number;
  readonly expectMode: 'vxlan' | 'routed';
  readonly expectMtu: number;
  readonly internal?: boolean;
}

const cases: readonly Case[] = [
  { label: 'vxlan', mode: 'vxlan', encrypted: false, vni: 9101, expectMode: 'vxlan', expectMtu: 1450 },
  { label: 'routed (auto on one segment)', mode: 'auto', encrypted: false, vni: 9102, expectMode: 'routed', expectMtu: 1500 },
  { label: 'encrypted (vxlan over wireguard-go)', mode: 'auto', encrypted: true, vni: 9103, expectMode: 'vxlan', expectMtu: 1390 },
  { label: 'internal (vxlan)', mode: 'vxlan', encrypted: false, vni: 9105, expectMode: 'vxlan', expectMtu: 1450, internal: true },
];

/** Everything of ours on a host, as text, to prove a teardown left nothing. */
async function leftovers(lab: OverlayLab, node: LabNode, vni: number): Promise<string[]> {
  const found: string[] = [];
  const links = await lab.inHost(node, 'ip', '-o', 'link', 'show');
  for (const name of [`stv-${vni}`, `stvx-${vni}`, node.wgInterface]) if (links.includes(` ${name}:`) || links.includes(` ${name}@`)) found.push(`link ${name}`);
  const fdb = await lab.inHost(node, 'bridge', 'fdb', 'show');
  if (fdb.includes(`stvx-${vni}`)) found.push('fdb entries');
  const routes = await lab.inHost(node, 'ip', 'route', 'show', 'proto', '211');
  if (routes.trim()) found.push(`routes: ${routes.trim()}`);
  for (const table of ['filter', 'nat', 'raw']) {
    const rules = await lab.inHost(node, 'iptables', '-w', '-t', table, '-S');
    for (const line of rules.split('\n')) if (line.includes(`stvov:${vni}`)) found.push(`${table}: ${line}`);
  }
  const nets = await lab.docker(node, 'network', 'ls', '--format', '{{.Name}}');
  if (nets.split('\n').includes(`stvov-net-${vni}`)) found.push('docker network');
  return found;
}

/**
 * Production hosts run FORWARD with policy DROP (dockerd sets it); the test
 * hosts' namespaces do not. A DROP at the end of FORWARD for our own test
 * subnets only gives our traffic that policy without touching anyone else's.
 */
async function forwardDrop(lab: OverlayLab, node: LabNode, vni: number, add: boolean): Promise<void> {
  for (const dir of ['-s', '-d']) {
    const rule = ['FORWARD', dir, `10.250.${vni - 9000}.0/24`, '-m', 'comment', '--comment', 'stvov-test-policy', '-j', 'DROP'];
    await lab.inHost(node, 'iptables', '-w', add ? '-A' : '-D', ...rule).catch(() => undefined);
  }
}

/** A counter rule in the host's OUTPUT chain (removed in after()). */
async function counter(lab: OverlayLab, node: LabNode, iface: string, port: number, add: boolean): Promise<void> {
  const rule = ['OUTPUT', '-o', iface, '-p', 'udp', '--dport', String(port), '-m', 'comment', '--comment', 'stvov-test-counter'];
  await lab.inHost(node, 'iptables', '-w', add ? '-I' : '-D', ...rule).catch(() => undefined);
}

async function packets(lab: OverlayLab, node: LabNode, iface: string, port: number): Promise<number> {
  const out = await lab.inHost(node, 'iptables', '-w', '-L', 'OUTPUT', '-v', '-x', '-n');
  const line = out.split('\n').find((l) => l.includes('stvov-test-counter') && l.includes(` ${iface} `) && l.includes(`dpt:${port}`));
  return Number(line?.trim().split(/\s+/)[0] ?? NaN);
}

for (const c of cases) {
  describe(`overlay data plane: ${c.label}`, () => {
    const hosts = testbedHosts(3).slice(0, 3);
    const lab = new OverlayLab(hosts, join(tmpdir(), `stvov-it-${process.pid}-${c.vni}`));
    const [tb1, tb2, tb3] = lab.nodes as [LabNode, LabNode, LabNode];
    const prefix = `stvov-${c.vni}-`;
    const base = `10.250.${c.vni - 9000}`;
    const net: LabNetwork = {
      networkId: `stvov-it-${c.vni}`,
      name: `stvov-net-${c.vni}`,
      vni: c.vni,
      subnet: `${base}.0/24`,
      gateway: `${base}.1`,
      mode: c.mode,
      encrypted: c.encrypted,
      internal: c.internal ?? false,
      placements: { [tb1.host.name]: [`${base}.5`], [tb2.host.name]: [`${base}.6`], [tb3.host.name]: [`${base}.7`] },
    };

    before(async () => {
      await lab.cleanup(net, prefix); // a previous run that died half-way
      for (const n of lab.nodes) await forwardDrop(lab, n, c.vni, true);
      if (c.encrypted) {
        for (const n of lab.nodes) {
          await counter(lab, n, 'eth0', 4789, true);
          await counter(lab, n, 'eth0', 51820, true);
        }
      }
    });

    after(async () => {
      await lab.cleanup(net, prefix);
      for (const n of lab.nodes) await forwardDrop(lab, n, c.vni, false);
      if (c.encrypted) {
        for (const n of lab.nodes) {
          await counter(lab, n, 'eth0', 4789, false);
          await counter(lab, n, 'eth0', 51820, false);
        }
      }
      lab.close();
    });

    it(`ensure brings the network up in ${c.expectMode} mode on every host, and a second ensure changes nothing`, async () => {
      const first = await lab.ensureAll(net);
      assert.equal(first.length, 3);
      for (const { result } of first) {
        assert.equal(result.mode, c.expectMode);
        assert.equal(result.mtu, c.expectMtu);
        assert.ok(result.applied.length > 0);
      }
      const second = await lab.ensureAll(net);
      for (const { node, result } of second) assert.deepEqual(result.applied, [], `second ensure on ${node.host.name}`);
      if (c.encrypted) {
        const kind = await lab.inHost(tb1, 'ip', '-d', 'link', 'show', tb1.wgInterface);
        assert.match(kind, /tun/, 'wireguard-go (a TUN device) carries the tunnel');
        const show = await lab.inHost(tb1, 'wg', 'show', tb1.wgInterface);
        assert.match(show, /listening port: 51820/);
        assert.equal((show.match(/^peer: /gm) ?? []).length, 2);
      }
    });

    it('containers on tb1 and tb3 get the cluster addresses and the overlay MTU; full-size pings cross hosts', async () => {
      await lab.container(tb1, net, `${prefix}a`, `${base}.5`);
      await lab.container(tb2, net, `${prefix}b`, `${base}.6`);
      await lab.container(tb3, net, `${prefix}c`, `${base}.7`);
      const eth = await lab.exec(tb1, `${prefix}a`, 'ip -o addr show eth0; cat /sys/class/net/eth0/mtu');
      assert.match(eth, new RegExp(`inet ${base.replace(/\./g, '\\.')}\\.5/24`));
      assert.match(eth, new RegExp(`\\n${c.expectMtu}$`));
      // The largest ICMP payload that fits the MTU unfragmented: a full-size frame end to end.
      const payload = c.expectMtu - 28;
      const ping = await lab.exec(tb1, `${prefix}a`, `ping -c 3 -W 5 -s ${payload} ${base}.7`);
      assert.match(ping, /3 packets received/);
      assert.match(ping, new RegExp(`${payload + 8} bytes from ${base.replace(/\./g, '\\.')}\\.7`));
      assert.match(await lab.exec(tb2, `${prefix}b`, `ping -c 2 -W 5 ${base}.5`), /2 packets received/);
      // The gateway answers locally on every host (anycast): its MAC is this host's leg's.
      await lab.exec(tb1, `${prefix}a`, `ping -c 1 -W 5 ${base}.1`);
      const gwMac = (await lab.exec(tb1, `${prefix}a`, `ip neigh show ${base}.1`)).split(' ')[4];
      const legMac = (JSON.parse(await lab.inHost(tb1, 'ip', '-json', 'link', 'show', `stv-${c.vni}`)) as { address: string }[])[0]?.address;
      assert.equal(gwMac, legMac);
    });

    it('1 MB over TCP from tb1 to tb3 arrives whole', async () => {
      await lab.exec(tb1, `${prefix}a`, `head -c ${MB} /dev/urandom > /tmp/payload`);
      const sent = (await lab.exec(tb1, `${prefix}a`, 'md5sum /tmp/payload')).split(' ')[0];
      // The listener's stdin stays open (busybox nc ends when its stdin does).
    await lab.docker(tb3, 'exec', '-d', `${prefix}c`, 'sh', '-c', 'sleep 600 | nc -l -p 7000 > /tmp/received');
      let connected = false;
      for (let i = 0; i < 20 && !connected; i++) {
        try {
          await lab.exec(tb1, `${prefix}a`, `nc ${base}.7 7000 < /tmp/payload`);
          connected = true;
        } catch {
          await new Promise((r) => setTimeout(r, 200)); // the listener is not up yet
        }
      }
      assert.ok(connected, 'nc connected');
      let got = '';
      for (let i = 0; i < 50; i++) {
        got = await lab.exec(tb3, `${prefix}c`, 'wc -c < /tmp/received; md5sum /tmp/received');
        if (got.startsWith(`${MB}\n`)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(got.split('\n')[0]?.trim(), String(MB));
      assert.equal(got.split('\n')[1]?.split(' ')[0], sent);
    });

    it(c.internal ? 'an internal network has no way out: the lab bridge is unreachable' : 'the way out: a container reaches the lab bridge through its host, masqueraded', async () => {
      // 10.211.0.1 is the test bed's own lab bridge; the ping leaves through tb1's leg. The rule that
      // decides is checked by its packet counter: our DROP for an internal network (a missing
      // MASQUERADE alone would also make the ping fail), our MASQUERADE otherwise.
      const [table, chain, target] = c.internal ? ['filter', 'STVOV-FWD', 'DROP'] : ['nat', 'STVOV-NAT', 'MASQUERADE'];
      const hits = async (): Promise<number> => {
        const listing = await lab.inHost(tb1, 'iptables', '-w', '-t', table, '-L', chain, '-v', '-n', '-x');
        const line = listing.split('\n').find((l) => l.includes(`stvov:${c.vni}`) && l.split(/\s+/).includes(target) && (!c.internal || l.includes(` stv-${c.vni} `)));
        return Number(line?.trim().split(/\s+/)[0] ?? NaN);
      };
      const before = await hits();
      const out = await lab.exec(tb1, `${prefix}a`, 'ping -c 1 -W 2 10.211.0.1 >/dev/null 2>&1; echo rc=$?');
      assert.equal(out.trim(), c.internal ? 'rc=1' : 'rc=0');
      assert.ok((await hits()) > before, `${chain} ${target} counted the ping (before: ${before})`);
    });

    it('ensure repairs drift, and applies a peer leaving and coming back entry by entry', async () => {
      const desired = await lab.desiredFor(tb1, net);
      if (c.expectMode === 'routed') await lab.inHost(tb1, 'ip', 'route', 'del', `${base}.7/32`);
      else await lab.inHost(tb1, 'ip', 'neigh', 'del', `${base}.7`, 'dev', `stvx-${c.vni}`);
      const repaired = await tb1.driver.ensure(desired);
      assert.deepEqual(repaired.applied.map((o) => o.op), [c.expectMode === 'routed' ? 'route.replace' : 'neigh.replace']);
      assert.match(await lab.exec(tb1, `${prefix}a`, `ping -c 1 -W 5 ${base}.7`), /1 packets received/);

      const without: LabNetwork = { ...net, placements: { ...net.placements, [tb2.host.name]: [] } };
      const left = await tb1.driver.ensure(await lab.desiredFor(tb1, without));
      const expected =
        c.expectMode === 'routed' ? ['neigh.proxy.del', 'route.del'] : [...(c.encrypted ? ['wg.peer.remove'] : []), 'fdb.del', 'fdb.del', 'neigh.del'];
      assert.deepEqual(left.applied.map((o) => o.op).sort(), [...expected].sort());
      const back = await tb1.driver.ensure(desired);
      assert.equal(back.applied.length, left.applied.length);
      assert.match(await lab.exec(tb1, `${prefix}a`, `ping -c 1 -W 5 ${base}.6`), /1 packets received/);
    });

    if (c.encrypted) {
      it('between hosts the underlay carries WireGuard (UDP 51820), never VXLAN in the clear', async () => {
        const vxlanOut = await packets(lab, tb1, 'eth0', 4789);
        const wgOut = await packets(lab, tb1, 'eth0', 51820);
        assert.equal(vxlanOut, 0, 'no VXLAN packet left tb1 on the underlay');
        assert.ok(wgOut > 700, `WireGuard packets on tb1's underlay: ${wgOut}`);
      });
    }

    it('teardown refuses while containers use the network, then leaves nothing on any host; twice is a no-op', async () => {
      await assert.rejects(tb1.driver.teardown(net.networkId), (e: unknown) => e instanceof StevedoreError && e.kind === 'conflict');
      await lab.removeContainers(prefix);
      for (const n of lab.nodes) {
        const { applied } = await n.driver.teardown(net.networkId);
        assert.ok(applied.length > 0);
        assert.deepEqual(await leftovers(lab, n, c.vni), [], `leftovers on ${n.host.name}`);
        if (c.expectMode === 'vxlan') {
          // Our VXLAN rule made the raw table (iptables-nft); with our chain gone, so is the empty table.
          const tables = await lab.inHost(n, 'nft', 'list', 'tables');
          const raw = tables.includes('table ip raw') ? await lab.inHost(n, 'iptables', '-w', '-t', 'raw', '-S') : '';
          assert.ok(!tables.includes('table ip raw') || !isBareTable(raw), `an empty raw table left on ${n.host.name}`);
        }
        assert.deepEqual((await n.driver.teardown(net.networkId)).applied, []);
      }
    });
  });
}

describe('overlay data plane: encryption never falls back to the clear', () => {
  it('without kernel WireGuard and without a working wireguard-go, ensure fails clearly and creates nothing', async () => {
    const hosts = testbedHosts(3).slice(0, 2);
    const lab = new OverlayLab(hosts, join(tmpdir(), `stvov-it-${process.pid}-nowg`), { wireguardGo: '/nonexistent/wireguard-go' });
    const [tb1, tb2] = lab.nodes as [LabNode, LabNode];
    const net: LabNetwork = {
      networkId: 'stvov-it-9104',
      name: 'stvov-net-9104',
      vni: 9104,
      subnet: '10.250.104.0/24',
      gateway: '10.250.104.1',
      mode: 'auto',
      encrypted: true,
      placements: { [tb1.host.name]: ['10.250.104.5'], [tb2.host.name]: ['10.250.104.6'] },
    };
    try {
      await assert.rejects(
        tb1.driver.ensure(await lab.desiredFor(tb1, net)),
        (e: unknown) => e instanceof StevedoreError && e.kind === 'unavailable' && /kernel WireGuard is unavailable .* \/nonexistent\/wireguard-go/.test(e.message),
      );
      assert.deepEqual(await leftovers(lab, tb1, 9104), []);
    } finally {
      await lab.cleanup(net, 'stvov-9104-');
      lab.close();
    }
  });
});
