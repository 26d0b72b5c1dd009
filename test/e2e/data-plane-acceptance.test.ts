/**
 * Issue 5, items 5–7 (volumes, logging drivers, live-restore), tried as a new
 * user would: the real docker CLI through a real TLS gateway whose engine is
 * the first test host, the two other hosts provisioned with `stevedore node
 * add` over SSH (so their agents run under the real setsid supervisor and
 * serve their Docker endpoint on :2378, as on a production host).
 *
 * - Volumes: a named local volume with the local driver's options (tmpfs,
 *   bind) is made on each host a task lands on; `docker volume ls/inspect`
 *   through the gateway show every node's volumes with their node; a task's
 *   data survives its container being killed; tmpfs and bind mounts.
 * - Logging drivers: json-file, local, none, syslog (to a UDP listener on the
 *   lab bridge), journald (the engine's own refusal); `docker logs` and
 *   `docker service logs` with their options; `service logs -f` goes on with
 *   a warning when a host goes down.
 * - Live-restore: kill -9 of an agent (its supervisor brings it back) and of
 *   the gateway (started again with the same arguments) leave every task and
 *   container as it was, timestamps included; a container that died while its
 *   agent was away is reported and replaced per the restart policy.
 *
 * Hosts: testbedHosts(3) (STEVEDORE_TESTBED_HOSTS=tb15,tb16,tb17 picks them).
 * The last test stops the third host's engine and brings it back with
 * `./scripts/testbed.sh up N`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureImage } from '../support/gateway.js';
import { initPki, issueClientBundle } from '../../src/pki/index.js';
import { repoRoot, testbed, testbedHosts, type TestbedHost } from '../support/testbed.js';

const DOCKER = '/usr/local/bin/docker';
const picked = testbedHosts(3);
const hosts = [picked[0], picked[1], picked[2]] as [TestbedHost, TestbedHost, TestbedHost];
const [h1, h2, h3] = hosts;
const PREFIX = 'e2edp';

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], env: Readonly<Record<string, string>> = {}, timeout = 120_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on `host` (bound and released). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The gateway as a process of our own, on fixed ports and a kept state
 * directory, so it can be killed with -9 and started again with the very same
 * arguments (agents reconnect to the dispatcher address they know).
 */
class Gateway {
  private child: ChildProcess | undefined;
  private output = '';
  env: Record<string, string> = {};

  constructor(
    readonly work: string,
    readonly engine: string,
    readonly apiPort: number,
    readonly dispatcherPort: number,
  ) {}

  args(): string[] {
    const bridge = testbed().bridgeAddress;
    return [
      path.join(repoRoot(), 'bin', 'stevedore.js'), 'gateway',
      '--listen', `127.0.0.1:${this.apiPort}`,
      '--pki', path.join(this.work, 'pki'),
      '--engine', this.engine,
      '--state-dir', path.join(this.work, 'state'),
      '--dispatcher-listen', `${bridge}:${this.dispatcherPort}`,
      '--advertise-addr', bridge,
      '--log-level', 'info',
    ];
  }

  async start(): Promise<void> {
    const pki = path.join(this.work, 'pki');
    try {
      await readFile(path.join(pki, 'ca', 'cert.pem'));
    } catch {
      await initPki(pki, { sans: ['localhost', '127.0.0.1'] });
      const bundle = await issueClientBundle(pki, 'e2e-admin');
      this.env = { DOCKER_HOST: `tcp://127.0.0.1:${this.apiPort}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: bundle };
    }
    const child = spawn(process.execPath, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (c: Buffer) => (this.output = (this.output + c.toString()).slice(-200_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await run(DOCKER, ['version', '--format', '{{.Server.Version}}'], this.env, 10_000);
      if (r.code === 0) return;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`gateway did not start: ${r.stderr}\n${this.log()}`);
      await sleep(250);
    }
  }

  pid(): number {
    const p = this.child?.pid;
    assert.ok(p !== undefined, 'gateway running');
    return p;
  }

  /** kill -9, then wait for the exit. */
  async crash(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    process.kill(this.pid(), 'SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }

  log(): string {
    return this.output;
  }
}

let work = '';
let gw: Gateway;
let cacheDir = '';

const docker = (args: readonly string[], timeout?: number) => run(DOCKER, args, gw.env, timeout);

async function ok(args: readonly string[], timeout?: number): Promise<string> {
  const r = await docker(args, timeout);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}\n--- gateway log (tail) ---\n${gw.log().slice(-2000)}`);
  return r.stdout;
}

/** A host's own engine, straight (not through the gateway). */
async function onHost(h: TestbedHost, args: readonly string[]): Promise<string> {
  const r = await run(DOCKER, ['-H', h.dockerHost, ...args]);
  assert.equal(r.code, 0, `docker -H ${h.name} ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const ids = (await docker(['service', 'ls', '-q'])).stdout.trim();
      const tasks = ids ? (await docker(['service', 'ps', '--no-trunc', ...ids.split('\n')])).stdout : '';
      throw new Error(`timed out waiting for ${what}\n--- tasks ---\n${tasks}\n--- gateway log (tail) ---\n${gw.log().slice(-3000)}`);
    }
    await sleep(500);
  }
}

function stevedore(args: readonly string[], timeout = 180_000): Promise<Ran> {
  return run(process.execPath, [path.join(repoRoot(), 'bin', 'stevedore.js'), ...args], { ...gw.env, STEVEDORE_CACHE_DIR: cacheDir }, timeout);
}

async function nodeAdd(h: TestbedHost): Promise<string> {
  const r = await stevedore(['node', 'add', `root@${h.address}`, '-i', testbed().keyPath]);
  assert.equal(r.code, 0, `node add ${h.name} failed:\n${r.stdout}\n${r.stderr}\n${gw.log().slice(-2000)}`);
  return r.stdout;
}

/** The test bed's directory behind a host's private /run/stevedore (scripts/testbed.sh). */
const hostRun = (h: TestbedHost): string => path.join(path.dirname(h.socketPath), 'fs', 'run-stevedore');

function pidOf(h: TestbedHost, name: 'agent' | 'supervisor'): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(hostRun(h), `${name}.pid`), 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function nodeStates(): Promise<Map<string, string>> {
  const out = (await docker(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'])).stdout;
  return new Map(out.trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

const allReady = async () => {
  const s = await nodeStates();
  return hosts.every((h) => s.get(h.name) === 'Ready');
};

interface TaskRow {
  readonly id: string;
  readonly name: string;
  readonly node: string;
  readonly desired: string;
  readonly current: string;
  readonly error: string;
}

async function ps(service: string): Promise<TaskRow[]> {
  const out = await ok(['service', 'ps', '--no-trunc', '--format', '{{.ID}}|{{.Name}}|{{.Node}}|{{.DesiredState}}|{{.CurrentState}}|{{.Error}}', service]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id = '', name = '', node = '', desired = '', current = '', error = ''] = l.split('|');
      return { id, name: name.trim(), node, desired, current, error };
    });
}

const runningTasks = async (service: string) => (await ps(service)).filter((t) => t.desired === 'Running' && t.current.startsWith('Running'));

interface TaskFacts {
  readonly taskId: string;
  readonly node: string;
  readonly containerId: string;
  readonly startedAt: string;
  readonly statusTimestamp: string;
}

/** Every task of the services (any state) with its container as the hosts' engines show it, sorted. */
async function facts(services: readonly string[]): Promise<TaskFacts[]> {
  const out: TaskFacts[] = [];
  for (const s of services) {
    for (const t of await ps(s)) {
      const ts = (await ok(['inspect', '--type', 'task', '-f', '{{.Status.Timestamp}}|{{.Status.ContainerStatus.ContainerID}}', t.id])).trim();
      const [statusTimestamp = '', containerId = ''] = ts.split('|');
      const h = hosts.find((x) => x.name === t.node);
      const startedAt = h && containerId ? (await run(DOCKER, ['-H', h.dockerHost, 'inspect', '-f', '{{.State.StartedAt}}', containerId])).stdout.trim() : '';
      out.push({ taskId: t.id, node: t.node, containerId, startedAt, statusTimestamp });
    }
  }
  return out.sort((a, b) => a.taskId.localeCompare(b.taskId));
}

/** The running container of a service's task on a host, straight from its engine. */
async function containerOn(h: TestbedHost, service: string): Promise<string> {
  return (await onHost(h, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])).trim().split('\n')[0] ?? '';
}

const bindDir = () => path.join(work, 'bind');

describe('issue 5 items 5–7: volumes, logging drivers, live-restore, on three hosts', () => {
  before(async () => {
    await Promise.all(hosts.map((h) => ensureImage(h.dockerHost)));
    work = await mkdtemp(path.join(tmpdir(), 'stv-e2e-dp-'));
    cacheDir = path.join(work, 'cache');
    gw = new Gateway(work, h1.dockerHost, await freePort('127.0.0.1'), await freePort(testbed().bridgeAddress));
    await gw.start();
    await ok(['swarm', 'init', '--advertise-addr', testbed().bridgeAddress]);
    await nodeAdd(h2);
    await nodeAdd(h3);
    await eventually('three Ready nodes', allReady, 60_000);
  });

  after(async () => {
    if (!gw) return;
    for (const s of (await docker(['service', 'ls', '-q'])).stdout.trim().split('\n').filter(Boolean)) await docker(['service', 'rm', s]);
    for (const h of [h2, h3]) {
      if (pidOf(h, 'supervisor') !== undefined || pidOf(h, 'agent') !== undefined) await stevedore(['node', 'remove', `root@${h.address}`, '-i', testbed().keyPath, '--force', '--purge']);
    }
    await docker(['swarm', 'leave', '--force']);
    await gw.stop();
    for (const h of hosts) {
      // What this file made on the hosts' engines: task and standalone containers, then volumes.
      const left = (await run(DOCKER, ['-H', h.dockerHost, 'ps', '-aq', '--filter', `name=${PREFIX}`])).stdout.trim();
      for (const id of left.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', id]);
      const vols = (await run(DOCKER, ['-H', h.dockerHost, 'volume', 'ls', '-q', '--filter', `name=${PREFIX}`])).stdout.trim();
      for (const v of vols.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'volume', 'rm', '-f', v]);
    }
    await rm(work, { recursive: true, force: true });
  });

  describe('volumes', () => {
    it('a named volume with volume-opt type=tmpfs is made on every host a task lands on, with the driver’s options', async () => {
      await ok([
        'service', 'create', '--detach', '--name', `${PREFIX}-tmpvol`, '--replicas', '3', '--replicas-max-per-node', '1',
        '--mount', `type=volume,source=${PREFIX}-tmp,target=/d,volume-driver=local,volume-opt=type=tmpfs,volume-opt=device=tmpfs`,
        'busybox', 'sh', '-c', 'hostname > /d/who; sleep 3600',
      ]);
      await eventually('three tasks, one per host', async () => new Set((await runningTasks(`${PREFIX}-tmpvol`)).map((t) => t.node)).size === 3);
      for (const h of hosts) {
        const opts = JSON.parse(await onHost(h, ['volume', 'inspect', '-f', '{{json .Options}}', `${PREFIX}-tmp`])) as Record<string, string>;
        assert.deepEqual(opts, { type: 'tmpfs', device: 'tmpfs' }, h.name);
        const c = await containerOn(h, `${PREFIX}-tmpvol`);
        assert.match(await onHost(h, ['exec', c, 'grep', ' /d ', '/proc/mounts']), /^tmpfs \/d tmpfs /, h.name);
      }
    });

    it('docker volume ls / inspect through the gateway: every node’s volume as <node>/<name>, the node in Status.Node, the node filter', async () => {
      const names = (await ok(['volume', 'ls', '--format', '{{.Name}} {{.Driver}}'])).split('\n').filter((l) => l.includes(`${PREFIX}-tmp`));
      assert.deepEqual(names.sort(), hosts.map((h) => `${h.name}/${PREFIX}-tmp local`).sort());
      const one = JSON.parse(await ok(['volume', 'inspect', `${h2.name}/${PREFIX}-tmp`])) as { Name: string; Driver: string; Options: Record<string, string>; Status: { Node: { Name: string; ID: string } }; Scope: string }[];
      assert.equal(one.length, 1);
      assert.equal(one[0]?.Name, `${PREFIX}-tmp`);
      assert.equal(one[0]?.Scope, 'local');
      assert.deepEqual(one[0]?.Options, { type: 'tmpfs', device: 'tmpfs' });
      assert.equal(one[0]?.Status.Node.Name, h2.name);
      // A bare name is found too (the gateway's own engine first), and says where.
      assert.equal((await ok(['volume', 'inspect', '-f', '{{.Status.Node.Name}}', `${PREFIX}-tmp`])).trim(), h1.name);
      const filtered = (await ok(['volume', 'ls', '-q', '--filter', `node=${h3.name}`, '--filter', `name=${PREFIX}-tmp`])).trim().split('\n');
      assert.deepEqual(filtered, [`${h3.name}/${PREFIX}-tmp`]);
      const miss = await docker(['volume', 'inspect', `nosuchnode/${PREFIX}-tmp`]);
      assert.notEqual(miss.code, 0);
      assert.match(miss.stderr, /node nosuchnode not found/);
      // Create and remove on a named node.
      await ok(['volume', 'create', `${h3.name}/${PREFIX}-made`]);
      assert.equal((await onHost(h3, ['volume', 'ls', '-q', '--filter', `name=${PREFIX}-made`])).trim(), `${PREFIX}-made`);
      assert.equal((await onHost(h1, ['volume', 'ls', '-q', '--filter', `name=${PREFIX}-made`])).trim(), '');
      await ok(['volume', 'rm', `${h3.name}/${PREFIX}-made`]);
      assert.equal((await onHost(h3, ['volume', 'ls', '-q', '--filter', `name=${PREFIX}-made`])).trim(), '');
      await ok(['service', 'rm', `${PREFIX}-tmpvol`]);
    });

    it('a volume’s data survives its task’s container being killed on its host', async () => {
      const svc = `${PREFIX}-data`;
      await ok(['service', 'create', '--detach', '--name', svc, '--constraint', `node.hostname==${h2.name}`, '--mount', `type=volume,source=${PREFIX}-data,target=/d`, 'busybox', 'sh', '-c', 'echo "start $(hostname)" >> /d/log; sleep 3600']);
      await eventually('the task running', async () => (await runningTasks(svc)).length === 1);
      const first = await containerOn(h2, svc);
      await onHost(h2, ['kill', first]);
      let second = '';
      await eventually('a new task with a new container', async () => {
        second = await containerOn(h2, svc);
        return second !== '' && second !== first && (await runningTasks(svc)).length === 1;
      });
      const log = (await onHost(h2, ['exec', second, 'cat', '/d/log'])).trim().split('\n');
      assert.deepEqual(log, [`start ${first.slice(0, 12)}`, `start ${second.slice(0, 12)}`]);
      const rows = await ps(svc);
      assert.equal(rows.length, 2);
      assert.match(rows.find((t) => t.desired === 'Shutdown')?.error ?? '', /task: non-zero exit \(137\)/);
      await ok(['service', 'rm', svc]);
    });

    it('bind-type volumes (type=none,o=bind), bind mounts and tmpfs mounts per the spec', async () => {
      const svc = `${PREFIX}-mounts`;
      await mkdir(path.join(bindDir(), 'vol'), { recursive: true });
      await mkdir(path.join(bindDir(), 'plain'), { recursive: true });
      await ok([
        'service', 'create', '--detach', '--name', svc, '--constraint', `node.hostname==${h3.name}`,
        '--mount', `type=volume,source=${PREFIX}-bindvol,target=/v,volume-driver=local,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=${path.join(bindDir(), 'vol')}`,
        '--mount', `type=bind,source=${path.join(bindDir(), 'plain')},target=/b,readonly`,
        '--mount', 'type=tmpfs,target=/t,tmpfs-size=1048576,tmpfs-mode=1770',
        'busybox', 'sh', '-c', 'echo via-volume > /v/f; sleep 3600',
      ]);
      await eventually('the task running', async () => (await runningTasks(svc)).length === 1);
      await eventually('the file written through the volume', async () => {
        try {
          return (await readFile(path.join(bindDir(), 'vol', 'f'), 'utf8')) === 'via-volume\n';
        } catch {
          return false;
        }
      }, 20_000);
      const c = await containerOn(h3, svc);
      const mounts = await onHost(h3, ['exec', c, 'cat', '/proc/mounts']);
      assert.match(mounts, / \/b \S+ ro[, ]/, 'the bind mount is read-only');
      assert.match(mounts, /^tmpfs \/t tmpfs \S*size=1024k\S*mode=1770/m);
      const w = await run(DOCKER, ['-H', h3.dockerHost, 'exec', c, 'sh', '-c', 'echo x > /b/nope']);
      assert.notEqual(w.code, 0);
      await ok(['service', 'rm', svc]);
    });
  });

  describe('logging drivers', () => {
    it('docker run --log-driver/--log-opt through the gateway: json-file, local, none, syslog honoured; journald refused by the engine as Docker does', async () => {
      const info = JSON.parse(await ok(['info', '--format', '{{json .Plugins.Log}}'])) as string[];
      for (const d of ['json-file', 'local', 'syslog', 'journald']) assert.ok(info.includes(d), `${d} in ${info.join(',')}`);
      const syslog = createSocket('udp4');
      const received: string[] = [];
      syslog.on('message', (m) => received.push(m.toString()));
      await new Promise<void>((r) => syslog.bind(0, testbed().bridgeAddress, () => r()));
      const port = syslog.address().port;
      try {
        const cases: [string, string[]][] = [
          ['json-file', ['--log-opt', 'max-size=1m', '--log-opt', 'max-file=2']],
          ['local', ['--log-opt', 'max-size=2m']],
          ['none', []],
          ['syslog', ['--log-opt', `syslog-address=udp://${testbed().bridgeAddress}:${port}`, '--log-opt', 'tag=e2edp-tag']],
        ];
        for (const [driver, opts] of cases) {
          const name = `${PREFIX}-run-${driver}`;
          await ok(['run', '-d', '--name', name, '--log-driver', driver, ...opts, 'busybox', 'sh', '-c', `echo out-${driver}; echo err-${driver} >&2; sleep 3600`]);
          const cfg = JSON.parse(await ok(['inspect', '-f', '{{json .HostConfig.LogConfig}}', name])) as { Type: string; Config: Record<string, string> };
          assert.equal(cfg.Type, driver);
          for (let i = 0; i < opts.length; i += 2) {
            const [k, v] = (opts[i + 1] ?? '').split(/=(.*)/s);
            assert.equal(cfg.Config[k ?? ''], v, `${driver} ${k}`);
          }
        }
        for (const d of ['json-file', 'local', 'syslog']) {
          // syslog: the engine's local cache (dual logging) still serves `docker logs`.
          await eventually(`docker logs of the ${d} container`, async () => {
            const r = await docker(['logs', `${PREFIX}-run-${d}`]);
            return r.stdout.includes(`out-${d}`) && r.stderr.includes(`err-${d}`);
          }, 20_000);
        }
        const none = await docker(['logs', `${PREFIX}-run-none`]);
        assert.notEqual(none.code, 0);
        assert.match(none.stderr, /configured logging driver does not support reading/);
        await eventually('syslog lines on the lab bridge', async () => received.some((m) => m.includes('e2edp-tag') && m.includes('out-syslog')) && received.some((m) => m.includes('err-syslog')), 20_000);
        const j = await docker(['run', '-d', '--name', `${PREFIX}-run-journald`, '--log-driver', 'journald', 'busybox', 'true']);
        assert.notEqual(j.code, 0);
        assert.match(j.stderr, /failed to initialize logging driver: journald is not enabled on this host/);
      } finally {
        syslog.close();
      }
    });

    it('docker logs through the gateway: --tail, --since, --timestamps, --details, --follow', async () => {
      const name = `${PREFIX}-logs`;
      await ok(['run', '-d', '--name', name, '--label', 'app=web', '--log-opt', 'labels=app', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; sleep 2; echo late; sleep 3600']);
      await eventually('five lines', async () => (await ok(['logs', name])).includes('line5'), 20_000);
      assert.equal((await ok(['logs', '--tail', '2', name])).trim(), 'line4\nline5');
      const ts = (await ok(['logs', '-t', '--tail', '1', name])).trim();
      assert.match(ts, /^\d{4}-\d\d-\d\dT[\d:.]+Z line5$/);
      assert.equal((await ok(['logs', '--details', '--tail', '1', name])).trim(), 'app=web line5');
      await eventually('the late line', async () => (await ok(['logs', name])).includes('late'), 20_000);
      const lateAt = Date.parse(((await ok(['logs', '-t', '--tail', '1', name])).split(' ')[0] ?? '').replace(/\.(\d{3})\d*Z$/, '.$1Z'));
      const since = new Date(lateAt - 500).toISOString();
      assert.equal((await ok(['logs', '--since', since, name])).trim(), 'late');
      const f = spawn(DOCKER, ['logs', '-f', '--tail', '1', name], { env: { ...process.env, ...gw.env } });
      let got = '';
      f.stdout.on('data', (c: Buffer) => (got += c.toString()));
      await eventually('follow shows the last line and stays open', async () => got.includes('late'), 10_000);
      await sleep(1000);
      assert.equal(f.exitCode, null, 'still following');
      f.kill();
    });

    it('services with json-file and local: docker service logs from every task, with --tail, --since, -t, --details, --no-task-ids, --no-trunc, --raw', async () => {
      for (const driver of ['json-file', 'local']) {
        const svc = `${PREFIX}-sl-${driver}`;
        await ok([
          'service', 'create', '--detach', '--name', svc, '--replicas', '3', '--replicas-max-per-node', '1',
          // json-file takes `labels`; local refuses it (the engine rejects the task: "unknown log opt 'labels' for log driver local").
          '--log-driver', driver, '--log-opt', 'max-size=1m', ...(driver === 'json-file' ? ['--log-opt', 'labels=app'] : []), '--container-label', 'app=web',
          'busybox', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i from $(hostname)"; sleep 1; done',
        ]);
        await eventually(`${svc}: three tasks running`, async () => (await runningTasks(svc)).length === 3);
        for (const h of hosts) {
          const cfg = JSON.parse(await onHost(h, ['inspect', '-f', '{{json .HostConfig.LogConfig}}', await containerOn(h, svc)])) as { Type: string; Config: Record<string, string> };
          assert.equal(cfg.Type, driver, h.name);
          assert.equal(cfg.Config['max-size'], '1m');
        }
        await eventually(`${svc}: lines from three hosts`, async () => {
          const out = await ok(['service', 'logs', svc]);
          return new Set(out.split('\n').map((l) => /^\S+\.\d\.\w+@(\S+)\s+\| tick/.exec(l)?.[1]).filter(Boolean)).size === 3;
        });
        const tail = (await ok(['service', 'logs', '--tail', '1', svc])).trim().split('\n');
        assert.equal(tail.length, 3);
        for (const l of tail) assert.match(l, new RegExp(`^${svc}\\.[123]\\.[a-z0-9]{12}@(${hosts.map((h) => h.name).join('|')})\\s+\\| tick \\d+ from \\w{12}$`));
        for (const l of (await ok(['service', 'logs', '--tail', '1', '--no-task-ids', svc])).trim().split('\n')) assert.match(l, new RegExp(`^${svc}\\.[123]@\\w+\\s+\\| tick`));
        for (const l of (await ok(['service', 'logs', '--tail', '1', '--no-trunc', svc])).trim().split('\n')) assert.match(l, new RegExp(`^${svc}\\.[123]\\.[a-z0-9]{25}@\\w+\\s+\\| tick`));
        for (const l of (await ok(['service', 'logs', '--tail', '1', '--raw', svc])).trim().split('\n')) assert.match(l, /^tick \d+ from \w{12}$/);
        for (const l of (await ok(['service', 'logs', '--tail', '1', '-t', svc])).trim().split('\n')) assert.match(l, /^\d{4}-\d\d-\d\dT[\d:.]+Z \S+@\S+\s+\| tick/);
        // --details: the container's own log attributes (json-file's labels=app) as Swarm shows them; none with local.
        for (const l of (await ok(['service', 'logs', '--tail', '1', '--details', svc])).trim().split('\n')) assert.match(l, driver === 'json-file' ? /\| app=web tick \d+/ : /\|  tick \d+/);
        const since = (await ok(['service', 'logs', '--since', '3s', svc])).trim().split('\n');
        assert.ok(since.length >= 3 && since.length <= 15, `--since 3s: ${since.length} lines`);
        await ok(['service', 'rm', svc]);
      }
    });

    it('a service with --log-driver none: each task’s logs are refused with a clear warning, as `docker logs` refuses them', async () => {
      const svc = `${PREFIX}-sl-none`;
      await ok(['service', 'create', '--detach', '--name', svc, '--replicas', '3', '--replicas-max-per-node', '1', '--log-driver', 'none', 'busybox', 'sh', '-c', 'echo hidden; sleep 3600']);
      await eventually('three tasks running', async () => (await runningTasks(svc)).length === 3);
      const r = await docker(['service', 'logs', svc]);
      assert.equal(r.code, 0);
      assert.doesNotMatch(r.stdout, /hidden/);
      const warnings = (r.stdout + r.stderr).split('\n').filter((l) => l.includes('cannot be read: configured logging driver does not support reading (log driver "none")'));
      assert.equal(warnings.length, 3, r.stdout + r.stderr);
      await ok(['service', 'rm', svc]);
    });
  });

  describe('live-restore', () => {
    const svc = `${PREFIX}-lr`;

    it('kill -9 of an agent: containers keep running, the supervisor brings the agent back, no task restarted or replaced', async () => {
      await ok(['service', 'create', '--detach', '--name', svc, '--replicas', '3', '--replicas-max-per-node', '1', 'busybox', 'sleep', '3600']);
      await eventually('three tasks running', async () => (await runningTasks(svc)).length === 3);
      await sleep(2000);
      const before = await facts([svc]);
      const agent = pidOf(h2, 'agent');
      const supervisor = pidOf(h2, 'supervisor');
      assert.ok(agent !== undefined && supervisor !== undefined);
      process.kill(agent, 'SIGKILL');
      await eventually('a new agent on the host', async () => {
        const p = pidOf(h2, 'agent');
        return p !== undefined && p !== agent;
      }, 20_000);
      assert.equal(pidOf(h2, 'supervisor'), supervisor);
      await eventually('all nodes Ready', allReady, 30_000);
      await sleep(5000); // the agent's full assignment set acted upon
      assert.deepEqual(await facts([svc]), before);
    });

    it('kill -9 of the gateway, started again with the same arguments: no task restarted, none duplicated', async () => {
      const before = await facts([svc]);
      const containersBefore = await Promise.all(hosts.map((h) => onHost(h, ['ps', '-q', '--no-trunc', '--filter', `label=com.docker.swarm.service.name=${svc}`])));
      await gw.crash();
      await gw.start();
      await eventually('all nodes Ready again', allReady, 60_000);
      await sleep(5000);
      assert.deepEqual(await facts([svc]), before);
      const containersAfter = await Promise.all(hosts.map((h) => onHost(h, ['ps', '-q', '--no-trunc', '--filter', `label=com.docker.swarm.service.name=${svc}`])));
      assert.deepEqual(containersAfter, containersBefore);
    });

    it('a container that died while its agent was away is reported and replaced per the restart policy', async () => {
      const once = `${PREFIX}-lr-once`;
      await ok(['service', 'create', '--detach', '--name', once, '--constraint', `node.hostname==${h3.name}`, '--restart-condition', 'none', 'busybox', 'sleep', '3600']);
      await eventually('the once task running', async () => (await runningTasks(once)).length === 1);
      const victim = await containerOn(h3, svc);
      const victimOnce = await containerOn(h3, once);
      const agent = pidOf(h3, 'agent');
      assert.ok(agent !== undefined && victim !== '' && victimOnce !== '');
      // The agent away (frozen, then killed): it cannot see the deaths happen.
      process.kill(agent, 'SIGSTOP');
      await onHost(h3, ['kill', victim]);
      await onHost(h3, ['kill', victimOnce]);
      process.kill(agent, 'SIGKILL');
      await eventually('the agent back', async () => {
        const p = pidOf(h3, 'agent');
        return p !== undefined && p !== agent;
      }, 20_000);
      await eventually(`the dead task of ${svc} reported failed and replaced on ${h3.name}`, async () => {
        const rows = await ps(svc);
        const dead = rows.find((t) => t.node === h3.name && t.desired === 'Shutdown');
        return dead !== undefined && /Failed/.test(dead.current) && /non-zero exit \(137\)/.test(dead.error) && (await runningTasks(svc)).length === 3;
      }, 60_000);
      await eventually(`${once}: reported failed, not replaced (restart condition none)`, async () => {
        const rows = await ps(once);
        return rows.length === 1 && /Failed/.test(rows[0]?.current ?? '') && /non-zero exit \(137\)/.test(rows[0]?.error ?? '');
      }, 30_000);
      await sleep(3000);
      assert.equal((await ps(once)).length, 1);
      await ok(['service', 'rm', once]);
    });
  });

  describe('a host goes down under docker service logs -f', () => {
    it('lines from every task, then a warning for the lost host while the others go on; the host comes back', async () => {
      const svc = `${PREFIX}-follow`;
      await ok(['service', 'create', '--detach', '--name', svc, '--replicas', '6', '--replicas-max-per-node', '2', 'busybox', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done']);
      await eventually('six tasks, two per host', async () => {
        const r = await runningTasks(svc);
        return r.length === 6 && new Set(r.map((t) => t.node)).size === 3;
      });
      const f = spawn(DOCKER, ['service', 'logs', '-f', '--tail', '1', svc], { env: { ...process.env, ...gw.env } });
      let out = '';
      let err = '';
      f.stdout.on('data', (c: Buffer) => (out += c.toString()));
      f.stderr.on('data', (c: Buffer) => (err += c.toString()));
      try {
        const taskIds = () => new Set(out.split('\n').map((l) => /^\S+\.\d\.(\w+)@\S+\s+\| tick/.exec(l)?.[1]).filter(Boolean));
        await eventually('lines from all six tasks', async () => taskIds().size === 6, 30_000);
        // The host goes down: its supervisor and agent killed, its engine stopped.
        const supervisor = pidOf(h3, 'supervisor');
        const agent = pidOf(h3, 'agent');
        assert.ok(supervisor !== undefined && agent !== undefined);
        process.kill(supervisor, 'SIGKILL');
        process.kill(agent, 'SIGKILL');
        const enginePid = Number(readFileSync(path.join(path.dirname(h3.socketPath), 'docker.pid'), 'utf8').trim());
        process.kill(enginePid, 'SIGTERM');
        await eventually('a warning naming the lost host', async () => new RegExp(`warning: the logs of tasks on node ${h3.name} \\(\\w+\\) are missing`).test(out + err), 30_000);
        const mark = out.length;
        await eventually('lines from the other hosts go on', async () => {
          const later = out.slice(mark).split('\n');
          return [h1, h2].every((h) => later.some((l) => l.includes(`@${h.name} `) && l.includes('| tick')));
        }, 20_000);
        assert.equal(f.exitCode, null, 'the stream is still open');
        await eventually(`${h3.name} Down`, async () => (await nodeStates()).get(h3.name) === 'Down', 30_000);
      } finally {
        f.kill();
      }
      // Back: the engine (live-restore kept its containers) and the agent under its supervisor.
      const up = await run(path.join(repoRoot(), 'scripts', 'testbed.sh'), ['up', h3.name.replace(/^tb/, '')], {}, 300_000);
      const ping = await run(DOCKER, ['-H', h3.dockerHost, 'version', '--format', '{{.Server.Version}}']);
      assert.equal(ping.code, 0, `${h3.name} engine back: ${up.stderr.slice(-2000)}`);
      await nodeAdd(h3);
      await eventually('all nodes Ready', allReady, 60_000);
      await eventually('six tasks running', async () => (await runningTasks(svc)).length === 6);
      await ok(['service', 'rm', svc]);
    });
  });
});
