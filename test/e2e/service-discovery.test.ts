/**
 * Service discovery and VIP load balancing on an overlay across three hosts,
 * with the real docker CLI: a gateway whose engine is the first test host,
 * `stevedore agent` processes on three test hosts joined as workers, a
 * 6-replica busybox httpd service (each task serves its own hostname) and a
 * client service on the same overlay. From the client's container: the
 * service name and its alias resolve to the VIP, 30 TCP requests to VIP:80
 * are answered by tasks on all three hosts, `tasks.<service>` lists the six
 * task addresses, a task name resolves, a dnsrr service resolves to its
 * tasks, an external name is forwarded to the host's resolvers; scaling down
 * removes the addresses (and no request fails meanwhile); an agent restart
 * re-adopts the VIP rules without duplicating them.
 *
 * Hosts: testbedHosts(3) (STEVEDORE_TESTBED_HOSTS=tb6,tb7,tb8 picks them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { DOCKER, E2eCluster, onHost, run } from '../support/e2e-cluster.js';
import { testbedHosts, type TestbedHost } from '../support/testbed.js';

const WEB = 'sdweb';
const CLIENT = 'sdclient';
const RR = 'sdrr';
const HC = 'sdhc';
const NETWORK = 'sd-net';
const SUBNET_PREFIX = '10.231.4.';
const picked = testbedHosts(3);
const hosts = [picked[0], picked[1], picked[2]] as [TestbedHost, TestbedHost, TestbedHost];
let cluster: E2eCluster;
let vni = 0;

interface TaskOnHost {
  readonly host: TestbedHost;
  readonly container: string; // short id: also the container's hostname
  readonly taskName: string;
  readonly ip: string;
  readonly pid: number;
}

async function tasksOnHosts(service: string): Promise<TaskOnHost[]> {
  const out: TaskOnHost[] = [];
  for (const h of hosts) {
    const ids = (await onHost(h, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])).split('\n').filter(Boolean);
    for (const id of ids) {
      const [taskName = '', ip = '', pid = '0'] = (await onHost(h, ['inspect', '-f', `{{index .Config.Labels "com.docker.swarm.task.name"}} {{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}} {{.State.Pid}}`, id])).trim().split(' ');
      out.push({ host: h, container: id, taskName, ip, pid: Number(pid) });
    }
  }
  return out;
}

async function clientTask(): Promise<TaskOnHost> {
  const [c] = await tasksOnHosts(CLIENT);
  assert.ok(c, 'the client task runs');
  return c;
}

const execIn = (t: TaskOnHost, script: string) => onHost(t.host, ['exec', t.container, 'sh', '-c', script]);

/** busybox nslookup's answer addresses (the server's own "Address" line comes first and carries the port). */
async function resolve(t: TaskOnHost, name: string): Promise<string[]> {
  const r = await run(DOCKER, ['-H', t.host.dockerHost, 'exec', t.container, 'nslookup', name]);
  const answer = r.stdout.split(/\n\s*\n/).slice(1).join('\n');
  return [...answer.matchAll(/Address(?: \d+)?:\s*([0-9.]+)\s*$/gm)].map((m) => m[1] ?? '').sort();
}

async function vipOf(service: string): Promise<string> {
  const netId = (await cluster.ok(['network', 'inspect', '-f', '{{.Id}}', NETWORK])).trim();
  const vips = JSON.parse(await cluster.ok(['service', 'inspect', '-f', '{{json .Endpoint.VirtualIPs}}', service])) as { NetworkID: string; Addr: string }[];
  const v = vips.find((x) => x.NetworkID === netId);
  assert.ok(v, `a VIP on ${NETWORK}: ${JSON.stringify(vips)}`);
  return v.Addr.split('/')[0] ?? '';
}

/** n HTTP requests to addr:80 from the client; who answered each (the task's hostname), '' for a failure. */
async function requests(c: TaskOnHost, addr: string, n: number): Promise<string[]> {
  // One "R:<body's last line>" per request, so a request that got nothing still counts (as '').
  const out = await execIn(c, `for i in $(seq ${n}); do echo "R:$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${addr} 80 | tail -n 1)"; done`);
  return out.split('\n').filter((l) => l.startsWith('R:')).map((l) => l.slice(2).trim());
}

describe('service discovery and VIP load balancing on an overlay across three hosts', () => {
  before(async () => {
    cluster = await E2eCluster.start({ prefix: 'stv-e2e-sd-', first: hosts[0], workers: hosts });
  });

  after(async () => {
    for (const s of [WEB, CLIENT, RR, HC]) await cluster?.docker(['service', 'rm', s]);
    await cluster?.stop(hosts);
    for (const h of hosts) {
      for (const svc of [WEB, CLIENT, RR, HC]) {
        const left = (await run(DOCKER, ['-H', h.dockerHost, 'ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${svc}`])).stdout.trim();
        for (const id of left.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', id]);
      }
      const nets = (await run(DOCKER, ['-H', h.dockerHost, 'network', 'ls', '-q', '--filter', 'label=io.stevedore.overlay.vni'])).stdout.trim();
      for (const id of nets.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'network', 'rm', id]);
      if (vni > 0) for (const l of [`stvx-${vni}`, `stv-${vni}`]) await run('nsenter', [`--net=/var/run/netns/${h.namespace}`, '--', 'ip', 'link', 'del', l]);
    }
  });

  it('a 6-replica web service (two tasks per host) and a client on one overlay', async () => {
    await cluster.ok(['network', 'create', '-d', 'overlay', '--subnet', `${SUBNET_PREFIX}0/24`, NETWORK]);
    await cluster.ok([
      'service', 'create', '--detach', '--name', WEB, '--network', `name=${NETWORK},alias=www`, '--replicas', '6',
      '--constraint', 'node.role==worker', '--replicas-max-per-node', '2',
      'busybox', 'sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www',
    ]);
    await cluster.ok(['service', 'create', '--detach', '--name', CLIENT, '--network', NETWORK, '--constraint', 'node.role==worker', 'busybox', 'sleep', '3600']);
    await cluster.eventually('six web tasks, two per host, and the client', async () => {
      const t = await tasksOnHosts(WEB);
      const c = await tasksOnHosts(CLIENT);
      return t.length === 6 && hosts.every((h) => t.filter((x) => x.host === h).length === 2) && c.length === 1;
    });
    vni = Number((await onHost(hosts[0], ['network', 'inspect', '-f', '{{index .Labels "io.stevedore.overlay.vni"}}', NETWORK])).trim());
  });

  it('the service name and its alias resolve to the VIP (inside the overlay\'s subnet); tasks.<service> lists the six tasks; a task name resolves', async () => {
    const c = await clientTask();
    const vip = await vipOf(WEB);
    assert.ok(vip.startsWith(SUBNET_PREFIX), vip);
    const tasks = await tasksOnHosts(WEB);
    await cluster.eventually('tasks.web lists six addresses', async () => (await resolve(c, `tasks.${WEB}`)).length === 6, 30_000);
    assert.deepEqual(await resolve(c, WEB), [vip]);
    assert.deepEqual(await resolve(c, 'www'), [vip]);
    assert.deepEqual(await resolve(c, `tasks.${WEB}`), tasks.map((t) => t.ip).sort());
    const remote = tasks.find((t) => t.host !== c.host);
    assert.ok(remote);
    assert.deepEqual(await resolve(c, remote.taskName), [remote.ip]);
  });

  it('30 TCP requests to VIP:80 are answered by tasks on all three hosts; by name too', async (t) => {
    const c = await clientTask();
    const vip = await vipOf(WEB);
    const tasks = await tasksOnHosts(WEB);
    const hostOf = new Map(tasks.map((t) => [t.container.slice(0, 12), t.host.name]));
    const answered = await requests(c, vip, 30);
    assert.equal(answered.length, 30, answered.join(','));
    assert.ok(answered.every((a) => hostOf.has(a)), `every request answered by a web task: ${answered.join(',')}`);
    const byHost = new Set(answered.map((a) => hostOf.get(a)));
    assert.equal(byHost.size, 3, `answered from ${[...byHost].join(',')}`);
    const counts = new Map<string, number>();
    for (const a of answered) counts.set(`${hostOf.get(a)}/${a}`, (counts.get(`${hostOf.get(a)}/${a}`) ?? 0) + 1);
    t.diagnostic(`VIP ${vip}: ${[...counts].sort().map(([k, n]) => `${k}=${n}`).join(' ')}`);
    const byName = await requests(c, WEB, 3);
    assert.ok(byName.every((a) => hostOf.has(a)), byName.join(','));
    // The rules live in the client's own namespace, once.
    const table = await run('nsenter', [`--net=/proc/${c.pid}/ns/net`, 'nft', 'list', 'table', 'ip', 'stevedore_lb']);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stdout.split('\n').filter((l) => l.includes(`ip daddr ${vip} dnat`)).length, 1, table.stdout);
  });

  it('a dnsrr service resolves to its tasks\' addresses; an external name is forwarded to the host\'s resolvers', async (t) => {
    await cluster.ok(['service', 'create', '--detach', '--name', RR, '--network', NETWORK, '--endpoint-mode', 'dnsrr', '--replicas', '2', '--constraint', 'node.role==worker', 'busybox', 'sleep', '3600']);
    await cluster.eventually('two dnsrr tasks', async () => (await tasksOnHosts(RR)).length === 2);
    const rr = (await tasksOnHosts(RR)).map((t) => t.ip).sort();
    const c = await clientTask();
    await cluster.eventually('the dnsrr name lists both tasks', async () => JSON.stringify(await resolve(c, RR)) === JSON.stringify(rr), 30_000);
    // No internet here: a name the host's /etc/hosts knows (this machine's own name if it has one, else localhost).
    const hostsFile = await readFile('/etc/hosts', 'utf8');
    const entry = hostsFile
      .split('\n')
      .map((l) => (l.split('#')[0] ?? '').trim().split(/\s+/))
      .find((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f[0] ?? '') && f.length > 1 && f.slice(1).some((n) => n !== 'localhost'));
    const name = entry?.slice(1).find((n) => n !== 'localhost') ?? 'localhost';
    const expected = entry?.[0] ?? '127.0.0.1';
    assert.deepEqual(await resolve(c, name), [expected], `${name} forwarded`);
    t.diagnostic(`forwarded: ${name} -> ${expected}`);
    assert.deepEqual(await resolve(c, 'localhost'), ['127.0.0.1']);
  });

  it('scaling down removes the addresses, and no request fails while the tasks go', async (t) => {
    const c = await clientTask();
    const vip = await vipOf(WEB);
    await cluster.ok(['service', 'scale', '--detach', `${WEB}=3`]);
    // Keep asking while the three go: each request must be answered.
    const during = await requests(c, vip, 60);
    assert.ok(during.every((a) => a !== ''), `a request failed during the scale-down: ${during.join(',')}`);
    t.diagnostic(`during the scale-down: ${during.length} requests, answered by ${new Set(during).size} tasks`);
    await cluster.eventually('three web tasks', async () => (await tasksOnHosts(WEB)).length === 3);
    const left = (await tasksOnHosts(WEB)).map((t) => t.ip).sort();
    await cluster.eventually('tasks.web lists three addresses', async () => JSON.stringify(await resolve(c, `tasks.${WEB}`)) === JSON.stringify(left), 30_000);
    const hostOf = new Set((await tasksOnHosts(WEB)).map((t) => t.container.slice(0, 12)));
    const after = await requests(c, vip, 15);
    assert.ok(after.every((a) => hostOf.has(a)), `only the remaining tasks answer: ${after.join(',')}`);
  });

  it('a task that turns unhealthy leaves the pool: tasks.<service> drops it and the VIP stops sending to it', async () => {
    await cluster.ok([
      'service', 'create', '--detach', '--name', HC, '--network', NETWORK, '--replicas', '3',
      '--constraint', 'node.role==worker', '--replicas-max-per-node', '1',
      '--health-cmd', 'test ! -f /tmp/sick', '--health-interval', '1s', '--health-retries', '1', '--health-timeout', '1s',
      'busybox', 'sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www',
    ]);
    const c = await clientTask();
    await cluster.eventually('three healthy tasks in tasks.<service>', async () => (await resolve(c, `tasks.${HC}`)).length === 3);
    const vip = await vipOf(HC);
    const [sick] = await tasksOnHosts(HC);
    assert.ok(sick);
    await execIn(sick, 'touch /tmp/sick');
    await cluster.eventually('the unhealthy task out of tasks.<service>', async () => !(await resolve(c, `tasks.${HC}`)).includes(sick.ip), 30_000);
    const answered = await requests(c, vip, 15);
    assert.ok(!answered.includes(sick.container.slice(0, 12)), `the unhealthy task still answers: ${answered.join(',')}`);
  });

  it('an agent restart re-adopts the rules and the responder: nothing duplicated, names and VIP still work', async () => {
    const c = await clientTask();
    const vip = await vipOf(WEB);
    await cluster.stopAgent(c.host.name);
    await cluster.startAgentOn(c.host);
    await cluster.eventually(`${c.host.name} ready again`, async () => (await cluster.readyWorkers()) === 3, 30_000);
    await cluster.eventually('the client resolves the service again', async () => JSON.stringify(await resolve(c, WEB)) === JSON.stringify([vip]), 30_000);
    const table = await run('nsenter', [`--net=/proc/${c.pid}/ns/net`, 'nft', 'list', 'ruleset']);
    assert.equal(table.stdout.split('\n').filter((l) => l.startsWith('table ip stevedore_lb')).length, 1, table.stdout);
    assert.equal(table.stdout.split('\n').filter((l) => l.includes(`ip daddr ${vip} dnat`)).length, 1, table.stdout);
    const answered = await requests(c, vip, 6);
    assert.ok(answered.every((a) => a !== ''), answered.join(','));
    assert.equal((await clientTask()).container, c.container, 'the client container was not restarted');
  });
});
