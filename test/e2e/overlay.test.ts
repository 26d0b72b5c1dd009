/**
 * Overlay networks across hosts, end to end with the real docker CLI: a
 * gateway whose engine is the first test host, and `stevedore agent`
 * processes on three test hosts (in their network namespaces, against their
 * engines) joined as workers. `docker network create -d overlay` and a
 * 3-replica service, one task per host: the agents build the VXLAN overlay
 * (src/agent/network) from the manager's network assignments, each task's
 * container sits at the address the allocator gave it, with the MTU lowered
 * by 50, and a task on host 1 reaches the task on host 3 over TCP with
 * full-size packets. An agent restart re-adopts the overlay (same Docker
 * network, containers untouched); a host whose last task leaves loses the
 * overlay; removing the service leaves nothing on any host.
 *
 * Hosts: testbedHosts(3) (STEVEDORE_TESTBED_HOSTS=tb6,tb7,tb8 picks them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureImage, startTestGateway, type TestGateway } from '../support/gateway.js';
import { repoRoot, testbedHosts, type TestbedHost } from '../support/testbed.js';

const DOCKER = '/usr/local/bin/docker';
const SERVICE = 'e2eov';
const NETWORK = 'e2eov-net';
const ENC = 'e2eov-enc';
const KiB64 = 65536;
const picked = testbedHosts(3);
const hosts = [picked[0], picked[1], picked[2]] as [TestbedHost, TestbedHost, TestbedHost];
let gw: TestGateway;
let work: string;
let token = '';
let manager = '';
const agents = new Map<string, ChildProcess>();
const wgOf = (h: TestbedHost): string => `stvwg-${h.name}`;

type Result = { code: number; stdout: string; stderr: string };

function run(cmd: string, args: readonly string[], env: Record<string, string> = {}, timeout = 120_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const docker = (args: readonly string[]) => run(DOCKER, args, gw.env);

async function ok(args: readonly string[]): Promise<string> {
  const r = await docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}\n--- gateway log (tail) ---\n${gw.log().slice(-2000)}`);
  return r.stdout;
}

/** The host's own engine, straight (not through the gateway). */
async function onHost(h: TestbedHost, args: readonly string[]): Promise<string> {
  const r = await run(DOCKER, ['-H', h.dockerHost, ...args]);
  assert.equal(r.code, 0, `docker -H ${h.name} ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A command in the host's network namespace (ip, bridge). */
async function inNetns(h: TestbedHost, args: readonly string[]): Promise<string> {
  const r = await run('nsenter', [`--net=/var/run/netns/${h.namespace}`, '--', ...args]);
  assert.equal(r.code, 0, `${args.join(' ')} in ${h.name} failed: ${r.stderr}`);
  return r.stdout;
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const tasks = await docker(['service', 'ls', '-q']).then(async (r) => (r.stdout.trim() ? (await docker(['service', 'ps', '--no-trunc', ...r.stdout.trim().split('\n')])).stdout : ''));
      throw new Error(`timed out waiting for ${what}\n--- tasks ---\n${tasks}\n--- gateway log (tail) ---\n${gw.log().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function startAgentOn(h: TestbedHost): Promise<void> {
  const dir = path.join(work, h.name);
  const child = spawn(
    'nsenter',
    [
      `--net=/var/run/netns/${h.namespace}`,
      process.execPath, path.join(repoRoot(), 'bin', 'stevedore.js'), 'agent',
      '--engine', h.dockerHost,
      '--state-dir', dir,
      '--listen-docker', `unix://${dir}.sock`,
      // The hosts share /var/run (wireguard-go's control sockets): one interface name each.
      '--wireguard-interface', wgOf(h),
      '--log-level', 'warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let errText = '';
  child.stderr?.on('data', (c: Buffer) => (errText = (errText + c.toString()).slice(-4000)));
  agents.set(h.name, child);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await run(DOCKER, ['-H', `unix://${dir}.sock`, 'version', '--format', '{{.Server.Version}}']);
    if (r.code === 0) break;
    if (Date.now() > deadline) throw new Error(`agent on ${h.name} did not come up: ${r.stderr}\n${errText}`);
    await new Promise((r2) => setTimeout(r2, 250));
  }
}

function stopAgent(name: string): Promise<void> {
  const child = agents.get(name);
  agents.delete(name);
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function joinAgent(h: TestbedHost): Promise<void> {
  await startAgentOn(h);
  const r = await run(process.execPath, [path.join(repoRoot(), 'bin', 'stevedore.js'), 'agent', 'join', manager, '--token', token, '--agent', `unix://${path.join(work, h.name)}.sock`, '--advertise-addr', h.address]);
  assert.equal(r.code, 0, r.stderr);
}

async function readyWorkers(): Promise<number> {
  const out = await ok(['node', 'ls', '--format', '{{.Status}} {{.ManagerStatus}}']);
  return out.split('\n').filter((l) => l.trim() === 'Ready').length;
}

interface TaskOnHost {
  readonly host: TestbedHost;
  readonly container: string;
  readonly taskId: string;
  readonly ip: string;
}

/** The service's running task containers, per host, from the hosts' own engines. */
async function tasksOnHosts(service = SERVICE, network = NETWORK): Promise<TaskOnHost[]> {
  const out: TaskOnHost[] = [];
  for (const h of hosts) {
    const ids = (await onHost(h, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])).split('\n').filter(Boolean);
    for (const id of ids) {
      const [taskId = '', ip = ''] = (await onHost(h, ['inspect', '-f', `{{index .Config.Labels "com.docker.swarm.task.id"}} {{(index .NetworkSettings.Networks "${network}").IPAddress}}`, id])).trim().split(' ');
      out.push({ host: h, container: id, taskId, ip });
    }
  }
  return out;
}

/** What of the overlay with this VNI is on the host: its links and its Docker network. */
async function overlayOn(h: TestbedHost, vni: number): Promise<string[]> {
  const found: string[] = [];
  const links = await inNetns(h, ['ip', '-o', 'link', 'show']);
  for (const name of [`stv-${vni}`, `stvx-${vni}`]) if (links.includes(` ${name}:`) || links.includes(` ${name}@`)) found.push(name);
  const nets = (await onHost(h, ['network', 'ls', '--filter', `label=io.stevedore.overlay.vni=${vni}`, '--format', '{{.Name}}'])).trim();
  if (nets) found.push(`docker network ${nets}`);
  return found;
}

const execIn = (t: TaskOnHost, script: string) => onHost(t.host, ['exec', t.container, 'sh', '-c', script]);

describe('overlay networks across three hosts', () => {
  let vni = 0;
  let encVni = 0;

  before(async () => {
    await Promise.all(hosts.map((h) => ensureImage(h.dockerHost)));
    work = await mkdtemp(path.join(tmpdir(), 'stv-e2e-ov-'));
    gw = await startTestGateway({ engine: hosts[0].dockerHost, args: ['--dispatcher-listen', '10.211.0.1:0', '--advertise-addr', '10.211.0.1'] });
    await ok(['swarm', 'init', '--advertise-addr', '10.211.0.1']);
    const join = await ok(['swarm', 'join-token', 'worker']);
    const m = /--token (\S+) (\S+)/.exec(join);
    assert.ok(m, join);
    token = m[1] ?? '';
    manager = m[2] ?? '';
    for (const h of hosts) await joinAgent(h);
    await eventually('three workers ready', async () => (await readyWorkers()) === 3, 30_000);
  });

  after(async () => {
    await docker(['service', 'rm', SERVICE]);
    await docker(['service', 'rm', ENC]);
    await docker(['swarm', 'leave', '--force']);
    for (const h of hosts) await run(DOCKER, ['-H', `unix://${path.join(work, h.name)}.sock`, 'swarm', 'leave', '--force']);
    for (const name of [...agents.keys()]) await stopAgent(name);
    for (const h of hosts) {
      for (const svc of [SERVICE, ENC]) {
        const left = (await run(DOCKER, ['-H', h.dockerHost, 'ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${svc}`])).stdout.trim();
        for (const id of left.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', id]);
      }
      const nets = (await run(DOCKER, ['-H', h.dockerHost, 'network', 'ls', '-q', '--filter', 'label=io.stevedore.overlay.vni'])).stdout.trim();
      for (const id of nets.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'network', 'rm', id]);
      for (const v of [vni, encVni].filter((x) => x > 0)) for (const l of [`stvx-${v}`, `stv-${v}`]) await run('nsenter', [`--net=/var/run/netns/${h.namespace}`, '--', 'ip', 'link', 'del', l]);
      // wireguard-go exits when its interface goes.
      await run('nsenter', [`--net=/var/run/netns/${h.namespace}`, '--', 'ip', 'link', 'del', wgOf(h)]);
    }
    await gw?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('a 3-replica service on an overlay gets one task per host, each at the allocator\'s address with MTU 1450', async () => {
    await ok(['network', 'create', '-d', 'overlay', '--subnet', '10.231.0.0/24', NETWORK]);
    await ok([
      'service', 'create', '--detach', '--name', SERVICE, '--network', NETWORK, '--replicas', '3',
      '--constraint', 'node.role==worker', '--replicas-max-per-node', '1',
      'busybox', 'httpd', '-f', '-p', '80',
    ]);
    await eventually('three tasks running, one per host', async () => {
      const t = await tasksOnHosts();
      return t.length === 3 && new Set(t.map((x) => x.host.name)).size === 3;
    });
    const tasks = await tasksOnHosts();
    for (const t of tasks) {
      // The address the allocator wrote on the task is the container's.
      const attachments = JSON.parse(await ok(['inspect', '--type', 'task', '--format', '{{json .NetworksAttachments}}', t.taskId])) as { Addresses: string[] }[];
      const addrs = attachments.flatMap((a) => a.Addresses);
      assert.ok(addrs.includes(`${t.ip}/24`), `task ${t.taskId} on ${t.host.name}: container ${t.ip}, allocator ${addrs.join(',')}`);
      assert.match(t.ip, /^10\.231\.0\./);
      assert.equal((await execIn(t, 'cat /sys/class/net/eth0/mtu')).trim(), '1450');
    }
    const label = (await onHost(hosts[0], ['network', 'inspect', '-f', '{{index .Labels "io.stevedore.overlay.vni"}} {{index .Labels "io.stevedore.overlay.mode"}}', NETWORK])).trim().split(' ');
    vni = Number(label[0]);
    assert.ok(vni >= 4096, `vni ${label[0]}`);
    assert.equal(label[1], 'vxlan');
    for (const h of hosts) assert.deepEqual(await overlayOn(h, vni), [`stv-${vni}`, `stvx-${vni}`, `docker network ${NETWORK}`], h.name);
  });

  it('the task on host 1 reaches the task on host 3 by IP over TCP: full-size frames and 64 KiB intact', async () => {
    const tasks = await tasksOnHosts();
    const t1 = tasks.find((t) => t.host === hosts[0]);
    const t3 = tasks.find((t) => t.host === hosts[2]);
    assert.ok(t1 && t3);
    // The largest ICMP payload that fits a 1450 MTU unfragmented.
    assert.match(await execIn(t1, `ping -c 3 -W 5 -s 1422 ${t3.ip}`), /3 packets received/);
    // httpd answers across hosts (busybox's wget segfaults here: plain nc).
    assert.match(await execIn(t1, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${t3.ip} 80`), /^HTTP\/1\.[01] \d{3}/);
    // 64 KiB over TCP; the listener's stdin stays open (busybox nc ends when its stdin does).
    await execIn(t1, `head -c ${KiB64} /dev/urandom > /tmp/payload`);
    const sent = (await execIn(t1, 'md5sum /tmp/payload')).split(' ')[0];
    await onHost(t3.host, ['exec', '-d', t3.container, 'sh', '-c', 'sleep 600 | nc -l -p 7000 > /tmp/received']);
    let connected = false;
    for (let i = 0; i < 30 && !connected; i++) {
      const r = await run(DOCKER, ['-H', t1.host.dockerHost, 'exec', t1.container, 'sh', '-c', `nc ${t3.ip} 7000 < /tmp/payload`]);
      if (r.code === 0) connected = true;
      else await new Promise((r2) => setTimeout(r2, 300));
    }
    assert.ok(connected, 'nc connected');
    let got = '';
    for (let i = 0; i < 50; i++) {
      got = await execIn(t3, 'wc -c < /tmp/received; md5sum /tmp/received');
      if (got.trim().startsWith(String(KiB64))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(got.split('\n')[0]?.trim(), String(KiB64));
    assert.equal(got.split('\n')[1]?.split(' ')[0], sent);
  });

  it('an agent restart re-adopts the overlay: same Docker network, container untouched, still reachable', async () => {
    const h2 = hosts[1];
    const netBefore = (await onHost(h2, ['network', 'inspect', '-f', '{{.Id}}', NETWORK])).trim();
    const before2 = (await tasksOnHosts()).find((t) => t.host === h2);
    assert.ok(before2);
    await stopAgent(h2.name);
    await startAgentOn(h2);
    await eventually(`${h2.name} ready again`, async () => (await readyWorkers()) === 3, 30_000);
    // Give the agent its full assignment set and time to act on it.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await onHost(h2, ['network', 'inspect', '-f', '{{.Id}}', NETWORK])).trim(), netBefore);
    const after2 = (await tasksOnHosts()).find((t) => t.host === h2);
    assert.equal(after2?.container, before2.container);
    const t1 = (await tasksOnHosts()).find((t) => t.host === hosts[0]);
    assert.ok(t1);
    assert.match(await execIn(t1, `ping -c 2 -W 5 -s 1422 ${before2.ip}`), /2 packets received/);
  });

  it('a host whose last task leaves loses the overlay; the others keep it; removing the service leaves nothing', async () => {
    await ok(['service', 'scale', '--detach', `${SERVICE}=2`]);
    await eventually('two tasks', async () => (await tasksOnHosts()).length === 2);
    const tasks = await tasksOnHosts();
    const gone = hosts.find((h) => !tasks.some((t) => t.host === h));
    assert.ok(gone);
    await eventually(`overlay gone from ${gone.name}`, async () => (await overlayOn(gone, vni)).length === 0, 30_000);
    for (const t of tasks) assert.equal((await overlayOn(t.host, vni)).length, 3, t.host.name);
    // The two remaining tasks still reach each other.
    const [a, b] = tasks;
    assert.ok(a && b);
    assert.match(await execIn(a, `ping -c 2 -W 5 ${b.ip}`), /2 packets received/);

    await ok(['service', 'rm', SERVICE]);
    for (const h of hosts) await eventually(`overlay gone from ${h.name}`, async () => (await overlayOn(h, vni)).length === 0, 60_000);
    await ok(['network', 'rm', NETWORK]);
  });
  it('--opt encrypted: VXLAN over WireGuard (wireguard-go), MTU 1390, 64 KiB from host 1 to host 3; the tunnel goes with the last encrypted network', async () => {
    await ok(['network', 'create', '-d', 'overlay', '--opt', 'encrypted', '--subnet', '10.231.1.0/24', ENC]);
    await ok([
      'service', 'create', '--detach', '--name', ENC, '--network', ENC, '--replicas', '3',
      '--constraint', 'node.role==worker', '--replicas-max-per-node', '1',
      'busybox', 'httpd', '-f', '-p', '80',
    ]);
    await eventually('three encrypted tasks running, one per host', async () => {
      const t = await tasksOnHosts(ENC, ENC);
      return t.length === 3 && new Set(t.map((x) => x.host.name)).size === 3;
    });
    const tasks = await tasksOnHosts(ENC, ENC);
    encVni = Number((await onHost(hosts[0], ['network', 'inspect', '-f', '{{index .Labels "io.stevedore.overlay.vni"}}', ENC])).trim());
    for (const h of hosts) {
      const wg = await inNetns(h, ['wg', 'show', wgOf(h), 'peers']);
      assert.equal(wg.trim().split('\n').filter(Boolean).length, 2, `${h.name}: one WireGuard peer per other host`);
    }
    const t1 = tasks.find((t) => t.host === hosts[0]);
    const t3 = tasks.find((t) => t.host === hosts[2]);
    assert.ok(t1 && t3);
    assert.equal((await execIn(t1, 'cat /sys/class/net/eth0/mtu')).trim(), '1390');
    assert.match(await execIn(t1, `ping -c 3 -W 5 -s 1362 ${t3.ip}`), /3 packets received/);
    await execIn(t1, `head -c ${KiB64} /dev/urandom > /tmp/payload`);
    const sent = (await execIn(t1, 'md5sum /tmp/payload')).split(' ')[0];
    await onHost(t3.host, ['exec', '-d', t3.container, 'sh', '-c', 'sleep 600 | nc -l -p 7000 > /tmp/received']);
    let connected = false;
    for (let i = 0; i < 30 && !connected; i++) {
      const r = await run(DOCKER, ['-H', t1.host.dockerHost, 'exec', t1.container, 'sh', '-c', `nc ${t3.ip} 7000 < /tmp/payload`]);
      if (r.code === 0) connected = true;
      else await new Promise((r2) => setTimeout(r2, 300));
    }
    assert.ok(connected, 'nc connected');
    let got = '';
    for (let i = 0; i < 50; i++) {
      got = await execIn(t3, 'wc -c < /tmp/received; md5sum /tmp/received');
      if (got.trim().startsWith(String(KiB64))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(got.split('\n')[0]?.trim(), String(KiB64));
    assert.equal(got.split('\n')[1]?.split(' ')[0], sent);

    await ok(['service', 'rm', ENC]);
    for (const h of hosts) {
      await eventually(`encrypted overlay and tunnel gone from ${h.name}`, async () => {
        const links = await inNetns(h, ['ip', '-o', 'link', 'show']);
        return (await overlayOn(h, encVni)).length === 0 && !links.includes(` ${wgOf(h)}:`);
      }, 60_000);
    }
    await ok(['network', 'rm', ENC]);
  });
});
