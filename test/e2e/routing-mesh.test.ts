/**
 * The routing mesh across three hosts, with the real docker CLI: a gateway
 * whose engine is the first test host, `stevedore agent` on three test hosts
 * joined as workers, a 2-replica busybox httpd service (one task per host, so
 * one host has none) published with `-p 8080:80` (ingress mode, the
 * default). From this machine (the lab bridge, 10.211.0.1): every host's
 * address answers on 8080, answers come from both tasks, and each task sees
 * the machine's own address as the client (no SNAT; a CGI script echoes
 * REMOTE_ADDR). While it runs, each host's FORWARD chain drops the ingress
 * subnet unless something accepts it first (production's policy; the test
 * hosts' is ACCEPT). Then `mode=host` publishes only where its task runs.
 * Side by side: the time per request through the mesh (a host without a
 * task, one overlay hop) vs to a host-mode port on a task's host.
 *
 * Hosts: testbedHosts(3) (STEVEDORE_TESTBED_HOSTS=tb18,tb19,tb20 picks them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BRIDGE_ADDRESS, DOCKER, E2eCluster, onHost, run } from '../support/e2e-cluster.js';
import { testbedHosts, type TestbedHost } from '../support/testbed.js';

const WEB = 'meshweb';
const HOSTMODE = 'meshhost';
const MACHINE = BRIDGE_ADDRESS;
const picked = testbedHosts(3);
const hosts = [picked[0], picked[1], picked[2]] as [TestbedHost, TestbedHost, TestbedHost];
let c: E2eCluster;
let ingressSubnet = '';

/** A command in the host's network namespace; never throws (clean-up runs it on what may be gone). */
const inNetns = (h: TestbedHost, args: readonly string[]) => run('nsenter', [`--net=/var/run/netns/${h.namespace}`, '--', ...args]);

async function taskHosts(service: string): Promise<Map<string, TestbedHost>> {
  const out = new Map<string, TestbedHost>();
  for (const h of hosts) {
    const ids = (await onHost(h, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])).split('\n').filter(Boolean);
    for (const id of ids) out.set(id.slice(0, 12), h);
  }
  return out;
}

/** One request from this machine: the answer's "<hostname> <client address>", or '' when nothing answered. */
async function who(address: string, port: number): Promise<string> {
  const r = await run('curl', ['-s', '--max-time', '5', `http://${address}:${port}/cgi-bin/who`], {}, 10_000);
  return r.code === 0 ? r.stdout.trim() : '';
}

/** Whether anything accepts a TCP connection there (curl exit 7: refused). */
async function answers(address: string, port: number): Promise<boolean> {
  const r = await run('curl', ['-s', '-o', '/dev/null', '--max-time', '3', `http://${address}:${port}/`], {}, 10_000);
  return r.code === 0;
}

const SERVE = 'mkdir -p /www/cgi-bin && printf \'#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $(hostname) $REMOTE_ADDR\\n\' > /www/cgi-bin/who && chmod +x /www/cgi-bin/who && exec httpd -f -p 80 -h /www';

/** Mean milliseconds per request over `n` sequential requests. */
async function msPerRequest(address: string, port: number, n: number): Promise<number> {
  const r = await run('sh', ['-c', `for i in $(seq ${n}); do curl -s -o /dev/null -w '%{time_total}\\n' --max-time 5 http://${address}:${port}/cgi-bin/who; done`], {}, 120_000);
  const times = r.stdout.split('\n').filter(Boolean).map(Number);
  assert.equal(times.length, n, r.stderr);
  return (times.reduce((a, b) => a + b, 0) / n) * 1000;
}

describe('routing mesh across three hosts: published ports on every host, client address preserved', () => {
  before(async () => {
    c = await E2eCluster.start({ prefix: 'stv-e2e-mesh-', first: hosts[0], workers: hosts });
    ingressSubnet = JSON.parse(await c.ok(['network', 'inspect', '-f', '{{json .IPAM.Config}}', 'ingress']))[0]?.Subnet ?? '';
    assert.ok(ingressSubnet !== '', 'the ingress network has a subnet');
    // Production's policy for what is forwarded into the ingress subnet: dropped unless accepted before.
    for (const h of hosts) await inNetns(h, ['iptables', '-A', 'FORWARD', '-d', ingressSubnet, '-m', 'comment', '--comment', 'stv-e2e-mesh', '-j', 'DROP']);
  });

  after(async () => {
    for (const s of [WEB, HOSTMODE]) await c?.docker(['service', 'rm', s]);
    await c?.stop(hosts);
    for (const h of hosts) {
      if (ingressSubnet !== '') await inNetns(h, ['iptables', '-D', 'FORWARD', '-d', ingressSubnet, '-m', 'comment', '--comment', 'stv-e2e-mesh', '-j', 'DROP']);
      for (const svc of [WEB, HOSTMODE]) {
        const left = (await run(DOCKER, ['-H', h.dockerHost, 'ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${svc}`])).stdout.trim();
        for (const id of left.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', id]);
      }
      const nets = (await run(DOCKER, ['-H', h.dockerHost, 'network', 'ls', '--format', '{{.Name}} {{index .Labels "io.stevedore.overlay.vni"}}', '--filter', 'label=io.stevedore.overlay.vni'])).stdout.trim();
      for (const line of nets.split('\n').filter(Boolean)) {
        const [name = '', vni = ''] = line.split(' ');
        await run(DOCKER, ['-H', h.dockerHost, 'network', 'rm', name]);
        if (vni !== '') for (const l of [`stvx-${vni}`, `stv-${vni}`]) await inNetns(h, ['ip', 'link', 'del', l]);
      }
      // The mesh's host side (the agents leave it for live-restore).
      await inNetns(h, ['nft', 'delete', 'table', 'ip', 'stevedore_mesh']);
      await inNetns(h, ['iptables', '-D', 'FORWARD', '-j', 'STVMESH-FWD']);
      await inNetns(h, ['iptables', '-F', 'STVMESH-FWD']);
      await inNetns(h, ['iptables', '-X', 'STVMESH-FWD']);
    }
  });

  it('a 2-replica service publishing 8080:80 runs one task on each of two hosts', async () => {
    await c.ok([
      'service', 'create', '--detach', '--name', WEB, '--replicas', '2', '-p', '8080:80',
      '--constraint', 'node.role==worker', '--replicas-max-per-node', '1',
      'busybox', 'sh', '-c', SERVE,
    ]);
    await c.eventually('two tasks on two hosts', async () => new Set((await taskHosts(WEB)).values()).size === 2);
    const ports = JSON.parse(await c.ok(['service', 'inspect', '-f', '{{json .Endpoint.Ports}}', WEB])) as { PublishMode: string; PublishedPort: number }[];
    assert.deepEqual(ports.map((p) => [p.PublishMode, p.PublishedPort]), [['ingress', 8080]]);
  });

  it('every host answers on 8080 (the one without a task too), answers come from both tasks, and each task sees this machine\'s own address', async (t) => {
    const tasks = await taskHosts(WEB);
    const idle = hosts.find((h) => ![...tasks.values()].includes(h));
    assert.ok(idle, 'one host runs no task');
    await c.eventually('8080 answers on every host', async () => (await Promise.all(hosts.map((h) => who(h.address, 8080)))).every((a) => a !== ''), 60_000);
    const seen = new Map<string, number>();
    for (const h of hosts) {
      const lines: string[] = [];
      for (let k = 0; k < 12; k++) lines.push(await who(h.address, 8080));
      assert.ok(lines.every((l) => l !== ''), `every request to ${h.name} (${h.address}) answered: ${JSON.stringify(lines)}`);
      for (const l of lines) {
        const [hostname = '', client = ''] = l.split(' ');
        assert.ok(tasks.has(hostname), `answered by a task of ${WEB}: ${l}`);
        assert.equal(client.replace(/^\[(::ffff:)?/, '').replace(/\]$/, ''), MACHINE, `the task sees the client's own address: ${l}`);
        seen.set(`${h.name}->${tasks.get(hostname)?.name}`, (seen.get(`${h.name}->${tasks.get(hostname)?.name}`) ?? 0) + 1);
      }
      const from = new Set(lines.map((l) => l.split(' ')[0]));
      t.diagnostic(`${h.name} (${h.address})${h === idle ? ' [no task]' : ''}: answered by ${[...from].join(', ')}`);
    }
    const answeredBy = new Set([...seen.keys()].map((k) => k.split('->')[1]));
    assert.equal(answeredBy.size, 2, `both tasks answered: ${[...seen].join(' ')}`);
    t.diagnostic(`receiving host -> task host: ${[...seen].sort().map(([k, n]) => `${k}=${n}`).join(' ')}`);
  });

  it('mode=host publishes only on the host where its task runs', async () => {
    await c.ok([
      'service', 'create', '--detach', '--name', HOSTMODE, '--replicas', '1', '--publish', 'mode=host,published=8090,target=80',
      '--constraint', 'node.role==worker', 'busybox', 'sh', '-c', SERVE,
    ]);
    await c.eventually('the host-mode task runs', async () => (await taskHosts(HOSTMODE)).size === 1);
    const [[id, where] = ['', hosts[0]]] = [...(await taskHosts(HOSTMODE))];
    await c.eventually('8090 answers on the task\'s host', () => answers(where.address, 8090), 30_000);
    const line = await who(where.address, 8090);
    assert.equal(line.split(' ')[0], id, line);
    for (const h of hosts) if (h !== where) assert.equal(await answers(h.address, 8090), false, `${h.name} does not publish 8090`);
    const ports = JSON.parse(await c.ok(['service', 'inspect', '-f', '{{json .Endpoint.Ports}}', HOSTMODE])) as { PublishMode: string; PublishedPort: number }[];
    assert.deepEqual(ports.map((p) => [p.PublishMode, p.PublishedPort]), [['host', 8090]]);
  });

  it('side by side: time per request through the mesh vs straight to a host-mode port', async (t) => {
    const tasks = await taskHosts(WEB);
    const idle = hosts.find((h) => ![...tasks.values()].includes(h));
    const [[, direct] = ['', hosts[0]]] = [...(await taskHosts(HOSTMODE))];
    assert.ok(idle);
    const rounds = { mesh: [] as number[], host: [] as number[] };
    for (let r = 0; r < 3; r++) {
      rounds.mesh.push(await msPerRequest(idle.address, 8080, 30));
      rounds.host.push(await msPerRequest(direct.address, 8090, 30));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    t.diagnostic(`ms per HTTP request (curl, CGI): mesh via ${idle.name} (no task there) ${mean(rounds.mesh).toFixed(2)} vs host-mode on ${direct.name} ${mean(rounds.host).toFixed(2)}; ratio ${(mean(rounds.mesh) / mean(rounds.host)).toFixed(2)}x`);
  });
});
