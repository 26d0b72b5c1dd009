/**
 * Service networking benchmark: what a service VIP and the routing mesh cost,
 * for Stevedore and for Docker Swarm on the same three test hosts, side by
 * side in one run.
 *
 *   ./scripts/testbed.sh up 3 && npx tsc -p . && node dist/scripts/bench/service-net.js [--rounds 5] [--seq 200] [--conns 600] [--concurrency 8] [--no-swarm]
 *
 * Each side runs `benchweb` (3 replicas of busybox httpd, one per host, on the
 * attachable overlay `benchnet`, published in ingress mode on 8080) and
 * `benchhost` (global, the same server published with mode=host on 8090).
 * A client program (a few lines of Node, the same for every variant, entered
 * into a network namespace with `nsenter --net`) opens one TCP connection per
 * HTTP/1.0 request and reads the answer to its end:
 *
 *   VIP       from an attachable container on tb1: the service's virtual IP
 *   direct    the same container, straight to the three tasks' addresses in turn
 *   mesh      from the lab bridge (this machine): each host's address on 8080 in turn
 *   host-mode the same, on 8090 (no mesh: the host's own task)
 *
 * Two figures each: the median time of one request made alone (sequential,
 * --seq of them) and the connection rate with --concurrency connections in
 * flight (--conns in all). Rounds alternate the order of the variants (ABBA).
 * Ratios: VIP / direct and mesh / host-mode, per side: the two sides run one
 * after the other, and a lone request's time here drifts by ±30% between
 * minutes (a plain `docker run -p` container measured 0.32–0.50 ms), so read
 * across sides only through their own baselines. Swarm's VIPs and
 * routing mesh need IPVS, which this kernel does not have: its figures say
 * what happened instead of a number. Everything made here is removed at the
 * end (services, networks, the containers, the swarms, the agents), also on
 * Ctrl-C; the test bed's live-restore is put back as it was.
 */
import { execFile } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { E2eCluster, DOCKER, BRIDGE_ADDRESS } from '../../test/support/e2e-cluster.js';
import { ensureImage } from '../../test/support/gateway.js';
import { repoRoot, testbedHosts, type TestbedHost } from '../../test/support/testbed.js';

const exec = promisify(execFile);
const argv = process.argv.slice(2);
const num = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  const v = i === -1 ? Number.NaN : Number(argv[i + 1]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const ROUNDS = num('rounds', 5);
const SEQ = num('seq', 200);
const CONNS = num('conns', 600);
const CONCURRENCY = num('concurrency', 8);
const WITH_SWARM = !argv.includes('--no-swarm');
const hosts = testbedHosts(3).slice(0, 3) as [TestbedHost, TestbedHost, TestbedHost];

const NET = 'benchnet';
const WEB = 'benchweb';
const HOSTMODE = 'benchhost';
const CLIENT = 'benchclient';
const SERVE = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www";

/**
 * The client: argv = targets (JSON ["ip:port", …]), seq, conns, concurrency.
 * Prints {seqMs: [...], rate, failures, firstError}.
 */
const CLIENT_PROGRAM = `
const net = require('node:net');
const [targetsJson, seq, conns, conc] = process.argv.slice(1);
const targets = JSON.parse(targetsJson).map((t) => { const i = t.lastIndexOf(':'); return { host: t.slice(0, i), port: Number(t.slice(i + 1)) }; });
let next = 0, failures = 0, firstError = '';
function once() {
  const t = targets[next++ % targets.length];
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    let got = 0;
    const s = net.connect(t.port, t.host, () => s.end('GET / HTTP/1.0\\r\\n\\r\\n'));
    s.setTimeout(3000, () => s.destroy(new Error('timed out after 3 s')));
    s.on('data', (b) => (got += b.length));
    s.on('error', (e) => { failures++; firstError ||= t.host + ':' + t.port + ' ' + e.message; resolve(undefined); });
    s.on('close', (hadError) => { if (!hadError) { if (got > 0) resolve(Number(process.hrtime.bigint() - t0) / 1e6); else { failures++; firstError ||= t.host + ':' + t.port + ' closed with no answer'; resolve(undefined); } } });
  });
}
(async () => {
  const seqMs = [];
  for (let i = 0; i < Number(seq); i++) { const ms = await once(); if (ms !== undefined) seqMs.push(ms); if (failures > 5) break; }
  let left = failures > 5 ? 0 : Number(conns), done = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Number(conc) }, async () => { while (left > 0) { left--; if ((await once()) !== undefined) done++; } }));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ seqMs, rate: done / s, failures, firstError }));
})();`;

interface Sample {
  readonly medianMs: number;
  readonly rate: number;
}
interface Variant {
  readonly label: string;
  readonly netns: string;
  readonly targets: readonly string[];
  readonly samples: Sample[];
  failure?: string;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function measure(v: Variant): Promise<void> {
  if (v.failure) return;
  const { stdout } = await exec('nsenter', [`--net=${v.netns}`, '--', process.execPath, '-e', CLIENT_PROGRAM, JSON.stringify(v.targets), String(SEQ), String(CONNS), String(CONCURRENCY)], { timeout: 300_000 });
  const r = JSON.parse(stdout) as { seqMs: number[]; rate: number; failures: number; firstError: string };
  if (r.failures > 0) {
    v.failure = `${r.failures} of ${SEQ + CONNS} requests failed (${r.firstError})`;
    return;
  }
  v.samples.push({ medianMs: median(r.seqMs), rate: r.rate });
}

async function sh(cmd: string, args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await exec(cmd, args, { env: { ...process.env, ...env }, timeout: 120_000 });
  return stdout.trim();
}
const onEngine = (h: TestbedHost, args: readonly string[]): Promise<string> => sh(DOCKER, ['-H', h.dockerHost, ...args]);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The running containers of `service` on every host: their host, pid and address on NET. */
async function tasksOf(service: string): Promise<{ host: TestbedHost; pid: number; address: string }[]> {
  const out: { host: TestbedHost; pid: number; address: string }[] = [];
  for (const h of hosts) {
    const ids = (await onEngine(h, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])).split('\n').filter(Boolean);
    for (const id of ids) {
      const [pid = '0', ...addrs] = (await onEngine(h, ['inspect', '-f', '{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', id])).split(' ');
      out.push({ host: h, pid: Number(pid), address: addrs.find((a) => a.startsWith('10.')) ?? '' });
    }
  }
  return out;
}

interface Side {
  readonly name: string;
  readonly variants: Variant[];
  readonly notes: string[];
  readonly teardown: () => Promise<void>;
}

/**
 * The services on a side's cluster, through `docker` (that side's manager);
 * the client container is run on tb1's `clientEngine` (Stevedore: its gateway,
 * which is tb1's node; Swarm: tb1's engine).
 */
async function deploy(docker: (args: readonly string[]) => Promise<string>, vipOf: () => Promise<string>, notes: string[]): Promise<Variant[]> {
  await docker(['network', 'create', '-d', 'overlay', '--attachable', NET]);
  await docker(['service', 'create', '--detach', '--name', WEB, '--replicas', '3', '--replicas-max-per-node', '1', '--network', NET, '--publish', '8080:80', 'busybox', 'sh', '-c', SERVE]);
  await docker(['service', 'create', '--detach', '--name', HOSTMODE, '--mode', 'global', '--publish', 'mode=host,published=8090,target=80', 'busybox', 'sh', '-c', SERVE]);
  await docker(['run', '-d', '--name', CLIENT, '--network', NET, 'busybox', 'sleep', '3600']);
  await until(`${WEB}: 3 tasks running`, async () => (await tasksOf(WEB)).filter((t) => t.address).length === 3);
  await until(`${HOSTMODE}: 3 tasks running`, async () => (await tasksOf(HOSTMODE)).length === 3);
  const tasks = await tasksOf(WEB);
  notes.push(`${WEB} tasks: ${tasks.map((t) => `${t.address}@${t.host.name}`).join(' ')}`);
  const clientPid = Number(await onEngine(hosts[0], ['inspect', '-f', '{{.State.Pid}}', CLIENT]));
  const vip = await vipOf().catch((err: Error) => `none (${err.message.split('\n')[0] ?? ''})`);
  const clientNs = `/proc/${clientPid}/ns/net`;
  const machine = `/proc/${process.pid}/ns/net`;
  const variants: Variant[] = [
    { label: 'direct to tasks', netns: clientNs, targets: tasks.map((t) => `${t.address}:80`), samples: [] },
    /^\d/.test(vip) ? { label: `VIP ${vip}`, netns: clientNs, targets: [`${vip}:80`], samples: [] } : { label: 'VIP', netns: clientNs, targets: [], samples: [], failure: `no VIP: ${vip}` },
    { label: 'host-mode :8090', netns: machine, targets: hosts.map((h) => `${h.address}:8090`), samples: [] },
    { label: 'mesh :8080', netns: machine, targets: hosts.map((h) => `${h.address}:8080`), samples: [] },
  ];
  // Warm-up: a variant that does not answer at all here is marked failed once, not timed.
  for (const v of variants) {
    if (v.failure) continue;
    await until(`${v.label} answers`, async () => {
      const probe: Variant = { ...v, samples: [] };
      await measureOnce(probe, 3);
      return probe.failure === undefined;
    }, 20_000).catch((err: Error) => (v.failure = err.message));
  }
  return variants;
}

async function measureOnce(v: Variant, n: number): Promise<void> {
  const { stdout } = await exec('nsenter', [`--net=${v.netns}`, '--', process.execPath, '-e', CLIENT_PROGRAM, JSON.stringify(v.targets), String(n), '0', '1'], { timeout: 60_000 });
  const r = JSON.parse(stdout) as { failures: number; firstError: string };
  if (r.failures > 0) v.failure = r.firstError;
}

async function stevedoreSide(): Promise<Side> {
  const notes: string[] = [];
  const c = await E2eCluster.start({ prefix: 'stv-bench-net-', first: hosts[0], workers: [hosts[1], hosts[2]], gatewayOnFirst: true });
  const teardown = async (): Promise<void> => {
    for (const s of [WEB, HOSTMODE]) await c.docker(['service', 'rm', s]);
    await c.docker(['rm', '-f', CLIENT]);
    await new Promise((r) => setTimeout(r, 2000));
    await c.docker(['network', 'rm', NET]);
    await c.stop(hosts);
    for (const h of hosts) {
      const left = (await onEngine(h, ['ps', '-aq', '--filter', 'label=com.docker.swarm.service.name'])).split('\n').filter(Boolean);
      if (left.length) await onEngine(h, ['rm', '-f', ...left]);
    }
  };
  try {
    const variants = await deploy((a) => c.ok(a), () => c.vipOf(WEB, NET), notes);
    return { name: 'Stevedore', variants, notes, teardown };
  } catch (err) {
    await teardown().catch(() => undefined);
    throw err;
  }
}

async function swarmSide(): Promise<Side> {
  const notes: string[] = [];
  const liveRestore = (to: 'on' | 'off') => exec(path.join(repoRoot(), 'scripts', 'testbed.sh'), ['live-restore', to, ...hosts.map((h) => h.name)], { timeout: 180_000 });
  for (const h of hosts) {
    const state = await onEngine(h, ['info', '--format', '{{.Swarm.LocalNodeState}}']);
    if (state !== 'inactive') throw new Error(`${h.name} is already in swarm mode (${state}); not touching someone else's swarm`);
  }
  // Swarm mode refuses to start on an engine with live-restore on (the test bed's default).
  await liveRestore('off');
  const [m, ...workers] = hosts;
  const teardown = async (): Promise<void> => {
    for (const s of [WEB, HOSTMODE]) await onEngine(m, ['service', 'rm', s]).catch(() => undefined);
    await onEngine(m, ['rm', '-f', CLIENT]).catch(() => undefined);
    for (const h of [...workers, m]) await onEngine(h, ['swarm', 'leave', '--force']).catch(() => undefined);
    await liveRestore('on');
  };
  try {
    await onEngine(m, ['swarm', 'init', '--advertise-addr', m.address]);
    const token = await onEngine(m, ['swarm', 'join-token', '-q', 'worker']);
    for (const w of workers) await onEngine(w, ['swarm', 'join', '--token', token, '--advertise-addr', w.address, `${m.address}:2377`]);
    const vipOf = async (): Promise<string> => {
      const netId = await onEngine(m, ['network', 'inspect', '-f', '{{.Id}}', NET]);
      const vips = JSON.parse(await onEngine(m, ['service', 'inspect', '-f', '{{json .Endpoint.VirtualIPs}}', WEB])) as { NetworkID: string; Addr: string }[];
      const v = vips.find((x) => x.NetworkID === netId);
      if (!v) throw new Error(`no VIP on ${NET}: ${JSON.stringify(vips)}`);
      return v.Addr.split('/')[0] ?? '';
    };
    const variants = await deploy((a) => onEngine(m, a), vipOf, notes);
    return { name: 'Docker Swarm', variants, notes, teardown };
  } catch (err) {
    await teardown().catch(() => undefined);
    throw err;
  }
}

function report(side: Side): string[] {
  const lines = [`${side.name}`];
  for (const n of side.notes) lines.push(`  ${n}`);
  lines.push(`  ${'variant'.padEnd(26)} ${'ms/request alone'.padStart(17)} ${'conns/s ×' + String(CONCURRENCY)}   rounds (ms | conns/s)`);
  for (const v of side.variants) {
    if (v.failure && v.samples.length === 0) {
      lines.push(`  ${v.label.padEnd(26)} failed: ${v.failure}`);
      continue;
    }
    const ms = median(v.samples.map((s) => s.medianMs));
    const rate = median(v.samples.map((s) => s.rate));
    lines.push(
      `  ${v.label.padEnd(26)} ${ms.toFixed(2).padStart(17)} ${rate.toFixed(0).padStart(11)}   ${v.samples.map((s) => s.medianMs.toFixed(2)).join('/')} | ${v.samples.map((s) => s.rate.toFixed(0)).join('/')}${v.failure ? `  (then failed: ${v.failure})` : ''}`,
    );
  }
  const by = (prefix: string) => side.variants.find((v) => v.label.startsWith(prefix) && v.samples.length > 0);
  const ratio = (a?: Variant, b?: Variant): string => {
    if (!a || !b) return 'n/a';
    const ms = median(a.samples.map((s) => s.medianMs)) / median(b.samples.map((s) => s.medianMs));
    const rate = median(a.samples.map((s) => s.rate)) / median(b.samples.map((s) => s.rate));
    return `time ×${ms.toFixed(2)}, rate ×${rate.toFixed(2)}`;
  };
  lines.push(`  VIP vs direct: ${ratio(by('VIP'), by('direct'))};  mesh vs host-mode: ${ratio(by('mesh'), by('host-mode'))}`);
  return lines;
}

async function runSide(name: string, make: () => Promise<Side>): Promise<string[]> {
  let side: Side;
  try {
    side = await make();
  } catch (err) {
    return [name, `  could not be set up: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`];
  }
  const stop = (): void => void side.teardown().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? side.variants : [...side.variants].reverse();
      for (const v of order) await measure(v);
    }
    return report(side);
  } finally {
    process.removeListener('SIGINT', stop);
    await side.teardown().catch((err: Error) => console.error(`clean-up of ${side.name}: ${err.message}`));
  }
}

async function main(): Promise<void> {
  await Promise.all(hosts.map((h) => ensureImage(h.dockerHost)));
  console.log(`service networking bench: ${ROUNDS} rounds; per variant and round ${SEQ} requests alone, then ${CONNS} with ${CONCURRENCY} in flight; client on tb1 (container) or ${BRIDGE_ADDRESS} (mesh); ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const out = [...(await runSide('Stevedore', stevedoreSide))];
  if (WITH_SWARM) out.push(...(await runSide('Docker Swarm', swarmSide)));
  console.log(out.join('\n'));
  console.log(`load at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

await main();
