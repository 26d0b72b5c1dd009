/**
 * Swarm services benchmark: Stevedore (a gateway on tb1 plus agents on tb2 and
 * tb3) and real Docker Swarm on the same test hosts, side by side, with the
 * floor (the same containers with plain `docker run -d` on the engines, hosts
 * in parallel).
 *
 *   npx tsc -p . && node dist/scripts/bench/services.js [--sizes 10,30,60] [--rounds N] [--no-swarm] [--creates-only]
 *
 * --creates-only measures the create figures alone (a round takes ~2.5 min
 * instead of ~4.5), so more rounds fit: their spread is ±0.5–1 s per run.
 *
 * Figures (seconds, from the command to all tasks running, polled every 200 ms):
 *   create --replicas N (N in --sizes); stack deploy (3 services × 10, a
 *   secret, a config, an overlay) to converged; scale 30→60; rolling update of 30 with
 *   parallelism 5, with and without --init; a host killed with 30 replicas
 *   running until all 30 run again (its agent, or for Swarm its dockerd's
 *   swarm membership, is killed: the test bed's engines are shared, so the
 *   engine itself stays up — what the manager sees is the same lost session).
 * Both managers are driven the way users reach them: the docker CLI over
 * mutual TLS (the gateway's endpoint; the Swarm manager engine's own).
 * Ratios: Stevedore / Swarm; overhead = time − floor. The machine is shared:
 * the load average is printed; compare only figures from the same run.
 * Everything made here is removed at the end (services, the swarm, agents).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { ensureImage, startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { repoRoot, testbedHosts, type TestbedHost } from '../../test/support/testbed.js';

const DOCKER = '/usr/local/bin/docker';
const args = process.argv.slice(2);
const sizes = (args[args.indexOf('--sizes') + 1] && args.includes('--sizes') ? String(args[args.indexOf('--sizes') + 1]) : '10,30,60').split(',').map(Number);
const withSwarm = !args.includes('--no-swarm');
const createsOnly = args.includes('--creates-only');
/** --rounds N: each side measured N times, alternating who goes first; medians are printed. */
const rounds = Math.max(1, Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : 1) || 1);
const hosts = testbedHosts(3).slice(0, 3);
/** Three services of ten replicas with a secret and a config (see the file). */
const STACK_FILE = path.join(repoRoot(), 'scripts', 'bench', 'stack', 'stack.yml');

function run(cmd: string, a: readonly string[], env: Record<string, string> = {}, timeout = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, a, { env: { ...process.env, ...env }, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** A cluster to measure: how to run the CLI against its manager, and how to kill one of its hosts. */
interface Cluster {
  readonly name: string;
  docker(a: readonly string[], timeout?: number): Promise<string>;
  killHost(h: TestbedHost): Promise<void>;
  /** Brings a killed host back into the cluster (untimed), so the clean-up reaches its containers. */
  reviveHost(h: TestbedHost): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runningCount(c: Cluster, service: string): Promise<number> {
  const out = await c.docker(['service', 'ps', '--filter', 'desired-state=running', '--format', '{{.CurrentState}}', service]).catch(() => '');
  return out.split('\n').filter((l) => l.startsWith('Running')).length;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(200);
  }
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function removeService(c: Cluster, name: string): Promise<void> {
  await c.docker(['service', 'rm', name]).catch(() => '');
  const leftovers = async (): Promise<{ h: TestbedHost; ids: string[] }[]> =>
    Promise.all(hosts.map(async (h) => ({ h, ids: (await run(DOCKER, ['-H', h.dockerHost, 'ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${name}`])).stdout.split('\n').filter(Boolean) })));
  // Untimed: a host that was killed and came back may keep containers its manager no longer knows
  // (Swarm forgets the tasks of a node that left); those are removed on the engine after a minute.
  const gone = await until(`${name} gone`, async () => (await leftovers()).every((x) => x.ids.length === 0), 60_000).then(
    () => true,
    () => false,
  );
  if (!gone) for (const { h, ids } of await leftovers()) if (ids.length > 0) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', ...ids]);
}

async function measure(c: Cluster): Promise<Record<string, number>> {
  const r: Record<string, number> = {};
  for (const n of sizes) {
    const name = `bench${n}`;
    r[`create ${n}`] = await timed(async () => {
      await c.docker(['service', 'create', '--detach', '--name', name, '--replicas', String(n), '--stop-grace-period', '1s', 'busybox', 'sleep', '3600']);
      await until(`${n} running`, async () => (await runningCount(c, name)) === n);
    });
    await removeService(c, name);
  }
  if (createsOnly) return r;
  try {
    r['stack deploy 3×10'] = await timed(async () => {
      await c.docker(['stack', 'deploy', '--detach=true', '-c', STACK_FILE, 'benchstack']);
      await until('the stack converged', async () => (await Promise.all(['front', 'back', 'cache'].map((s) => runningCount(c, `benchstack_${s}`)))).every((n) => n === 10), 120_000);
    });
  } catch (err) {
    console.log(`${c.name}: stack deploy did not converge: ${err instanceof Error ? err.message : String(err)}`);
  }
  await c.docker(['stack', 'rm', 'benchstack']).catch(() => '');
  for (const s of ['front', 'back', 'cache']) await removeService(c, `benchstack_${s}`);
  await c.docker(['service', 'create', '--detach', '--name', 'benchs', '--replicas', '30', '--stop-grace-period', '1s', 'busybox', 'sleep', '3600']);
  await until('30 running', async () => (await runningCount(c, 'benchs')) === 30);
  r['scale 30→60'] = await timed(async () => {
    await c.docker(['service', 'scale', '--detach', 'benchs=60']);
    await until('60 running', async () => (await runningCount(c, 'benchs')) === 60);
  });
  await c.docker(['service', 'scale', '--detach', 'benchs=30']);
  await until('30 running', async () => (await runningCount(c, 'benchs')) === 30);
  const updated = async (): Promise<boolean> => (await c.docker(['service', 'inspect', '-f', '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}', 'benchs'])).trim() === 'completed' && (await runningCount(c, 'benchs')) === 30;
  r['update 30 p5'] = await timed(async () => {
    await c.docker(['service', 'update', '--detach', '--update-parallelism', '5', '--env-add', 'BENCH=1', 'benchs']);
    await until('update done', updated);
  });
  r['update 30 p5 --init'] = await timed(async () => {
    await c.docker(['service', 'update', '--detach', '--update-parallelism', '5', '--init', 'benchs']);
    await until('update done', updated);
  });
  const victim = hosts[2];
  if (victim) {
    r['host killed → 30'] = await timed(async () => {
      await c.killHost(victim);
      await until('30 running elsewhere', async () => {
        const out = await c.docker(['service', 'ps', '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}', 'benchs']).catch(() => '');
        return out.split('\n').filter((l) => l.includes('Running') && !l.startsWith(victim.name)).length === 30;
      });
    });
    await c.reviveHost(victim);
  }
  await removeService(c, 'benchs');
  return r;
}

/** The same containers with `docker run -d` straight on the engines, hosts in parallel. */
async function floor(): Promise<Record<string, number>> {
  const r: Record<string, number> = {};
  const one = async (n: number, label: string): Promise<number> => {
    const t = await timed(async () => {
      await Promise.all(
        hosts.map(async (h, hi) => {
          const mine = Math.floor(n / hosts.length) + (hi < n % hosts.length ? 1 : 0);
          // One CLI process per container, as a manager's agent makes one create+start per task.
          const batch = Array.from({ length: mine }, () => run(DOCKER, ['-H', h.dockerHost, 'run', '-d', '--label', `io.stevedore.bench=${label}`, '--stop-timeout', '1', 'busybox', 'sleep', '3600']));
          await Promise.all(batch);
        }),
      );
    });
    await Promise.all(hosts.map(async (h) => {
      const ids = (await run(DOCKER, ['-H', h.dockerHost, 'ps', '-aq', '--filter', `label=io.stevedore.bench=${label}`])).stdout.trim();
      if (ids) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', ...ids.split('\n')]);
    }));
    return t;
  };
  for (const n of sizes) r[`create ${n}`] = await one(n, `floor${n}`);
  return r;
}

async function stevedore(): Promise<Cluster> {
  const work = mkdtempSync(path.join(tmpdir(), 'stv-bench-svc-'));
  const gw: TestGateway = await startTestGateway({ engine: hosts[0]?.dockerHost ?? '', logLevel: 'info', args: ['--dispatcher-listen', '10.211.0.1:0', '--advertise-addr', '10.211.0.1'] });
  const docker = async (a: readonly string[], timeout?: number): Promise<string> => {
    const r = await run(DOCKER, a, gw.env, timeout);
    if (r.code !== 0) throw new Error(`docker ${a.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await docker(['swarm', 'init', '--advertise-addr', '10.211.0.1']);
  const m = /--token (\S+) (\S+)/.exec(await docker(['swarm', 'join-token', 'worker']));
  const agents = new Map<string, ChildProcess>();
  const bin = path.join(repoRoot(), 'bin', 'stevedore.js');
  // No --listen-docker-tcp: the test bed's engines serve their own TLS endpoint on the host's :2376.
  const startAgent = async (h: TestbedHost): Promise<string> => {
    const dir = path.join(work, h.name);
    agents.set(h.name, spawn('nsenter', [`--net=/var/run/netns/${h.namespace}`, process.execPath, bin, 'agent', '--engine', h.dockerHost, '--state-dir', dir, '--listen-docker', `unix://${dir}.sock`, '--log-level', 'warn'], { stdio: 'ignore' }));
    await until(`agent ${h.name}`, async () => (await run(DOCKER, ['-H', `unix://${dir}.sock`, 'version'])).code === 0, 30_000);
    return dir;
  };
  for (const h of hosts.slice(1)) {
    const dir = await startAgent(h);
    const joined = await run(process.execPath, [bin, 'agent', 'join', m?.[2] ?? '', '--token', m?.[1] ?? '', '--agent', `unix://${dir}.sock`, '--advertise-addr', h.address]);
    if (joined.code !== 0) throw new Error(`agent join ${h.name}: ${joined.stderr}`);
  }
  await until('3 nodes ready', async () => (await docker(['node', 'ls', '--format', '{{.Status}}'])).split('\n').filter((l) => l === 'Ready').length === 3, 60_000);
  return {
    name: 'Stevedore',
    docker,
    killHost: async (h) => {
      agents.get(h.name)?.kill('SIGKILL');
    },
    // The same state directory: the agent reconnects as the same node and removes the containers it no longer runs.
    reviveHost: async (h) => {
      await startAgent(h);
      await until(`${h.name} ready again`, async () => (await docker(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'])).split('\n').includes(`${h.name} Ready`), 60_000);
    },
    close: async () => {
      await run(DOCKER, ['swarm', 'leave', '--force'], gw.env);
      for (const h of hosts.slice(1)) await run(DOCKER, ['-H', `unix://${path.join(work, h.name)}.sock`, 'swarm', 'leave', '--force']);
      for (const a of agents.values()) if (a.exitCode === null) a.kill('SIGTERM');
      await sleep(1000);
      await gw.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

async function dockerSwarm(): Promise<Cluster> {
  const [m, ...workers] = hosts;
  if (!m) throw new Error('no host');
  const on = async (h: TestbedHost, a: readonly string[]): Promise<string> => {
    const r = await run(DOCKER, ['-H', h.dockerHost, ...a]);
    if (r.code !== 0) throw new Error(`docker -H ${h.name} ${a.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await on(m, ['swarm', 'init', '--advertise-addr', m.address]);
  const token = (await on(m, ['swarm', 'join-token', '-q', 'worker'])).trim();
  for (const w of workers) await on(w, ['swarm', 'join', '--token', token, '--advertise-addr', w.address, `${m.address}:2377`]);
  return {
    name: 'Docker Swarm',
    // The CLI reaches Swarm's manager as it reaches Stevedore's: over mutual TLS (the engine's own endpoint), not its unix socket.
    docker: async (a) => {
      const r = await run(DOCKER, a, { DOCKER_HOST: m.tls.dockerHost, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: m.tls.certPath });
      if (r.code !== 0) throw new Error(`docker (Swarm manager over TLS) ${a.join(' ')}: ${r.stderr}`);
      return r.stdout;
    },
    // The engine is shared with others: its swarm membership is killed instead (the manager loses the node the same way).
    killHost: async (h) => {
      await run(DOCKER, ['-H', h.dockerHost, 'swarm', 'leave', '--force']);
    },
    reviveHost: async (h) => {
      await on(h, ['swarm', 'join', '--token', token, '--advertise-addr', h.address, `${m.address}:2377`]);
    },
    close: async () => {
      for (const w of workers) await run(DOCKER, ['-H', w.dockerHost, 'swarm', 'leave', '--force']);
      await run(DOCKER, ['-H', m.dockerHost, 'swarm', 'leave', '--force']);
    },
  };
}

function fmt(x: number | undefined): string {
  return x === undefined ? '—' : x.toFixed(1);
}

/** Stevedore's turn: a gateway and agents, every figure, then all of it gone. */
async function measureStevedore(): Promise<Record<string, number>> {
  const s = await stevedore();
  try {
    return await measure(s);
  } finally {
    await s.close();
  }
}

/** Swarm's turn. Swarm mode refuses to start on an engine with live-restore on (the test bed's default): off for its turn, then back. */
async function measureSwarm(): Promise<Record<string, number>> {
  const liveRestore = (to: 'on' | 'off') => run(path.join(repoRoot(), 'scripts', 'testbed.sh'), ['live-restore', to, ...hosts.map((h) => h.name)]);
  await liveRestore('off');
  try {
    const d = await dockerSwarm();
    try {
      return await measure(d);
    } finally {
      await d.close();
    }
  } finally {
    await liveRestore('on');
  }
}

const median = (xs: readonly number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[m] : ((v[m - 1] ?? 0) + (v[m] ?? 0)) / 2;
};

async function main(): Promise<void> {
  await Promise.all(hosts.map((h) => ensureImage(h.dockerHost)));
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const floors: Record<string, number>[] = [];
  const ours: Record<string, number>[] = [];
  const theirs: Record<string, number>[] = [];
  // Rounds alternate who goes first (ABBA): whatever the machine was doing before weighs on both sides alike.
  for (let round = 0; round < rounds; round++) {
    floors.push(await floor());
    const order = round % 2 === 0 ? (['stevedore', 'swarm'] as const) : (['swarm', 'stevedore'] as const);
    for (const side of order) {
      if (side === 'stevedore') ours.push(await measureStevedore());
      else if (withSwarm) theirs.push(await measureSwarm());
    }
    console.log(`round ${round + 1} of ${rounds} done (${order.join(' then ')}); load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  }
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const rows = Object.keys(ours[0] ?? {});
  const pick = (runs: readonly Record<string, number>[], k: string) => median(runs.map((r) => r[k]).filter((x): x is number => x !== undefined));
  const each = (runs: readonly Record<string, number>[], k: string) => runs.map((r) => fmt(r[k])).join('/');
  const fmt2 = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(2));
  console.log(`medians of ${rounds} round(s); every run in the last columns`);
  console.log(['figure'.padEnd(22), 'Stevedore', 'Swarm', 'ratio', 'floor', 'ours−floor', 'swarm−floor', 'runs (ours | swarm)'].join('\t'));
  const verdicts: string[] = [];
  const verdict = (ok: boolean, what: string) => verdicts.push(`${ok ? 'PASS' : 'MISS'}  ${what}`);
  for (const k of rows) {
    const a = pick(ours, k);
    const b = pick(theirs, k);
    const fl = pick(floors, k);
    console.log(
      [k.padEnd(22), fmt2(a), fmt2(b), a !== undefined && b ? (a / b).toFixed(2) : '—', fmt2(fl), fl !== undefined && a !== undefined ? fmt2(a - fl) : '—', fl !== undefined && b !== undefined ? fmt2(b - fl) : '—', `${each(ours, k)} | ${each(theirs, k)}`].join('\t'),
    );
    // The targets: every figure ≤ Swarm's; overhead over the floor ≤ half of Swarm's; a dead host's replicas back within 8 s.
    if (a !== undefined && b !== undefined) verdict(a <= b, `${k}: ${fmt2(a)} s ≤ Swarm's ${fmt2(b)} s`);
    if (a !== undefined && b !== undefined && fl !== undefined) verdict(a - fl <= (b - fl) / 2, `${k}: overhead ${fmt2(a - fl)} s ≤ half of Swarm's ${fmt2(b - fl)} s`);
    if (k.startsWith('host killed') && a !== undefined) verdict(a <= 8, `${k}: ${fmt2(a)} s ≤ 8 s`);
  }
  console.log('targets (medians):');
  for (const v of verdicts) console.log(`  ${v}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
