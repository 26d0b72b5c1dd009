/**
 * Gateway overhead benchmark: the same calls through a real mutual-TLS gateway
 * and directly against the engine behind it, side by side in one run.
 *
 *   npx tsc -p . && node dist/scripts/bench/gateway.js [--runs 21] [--calls 2000] [--block 50]
 *       [--engine unix:///…] [--containers 60] [--profile DIR]
 *
 * (a) the real docker CLI (/usr/local/bin/docker), DOCKER_HOST at the engine's
 *     socket, at the engine's own mutual-TLS endpoint, at a bare TLS relay and
 *     at the gateway, alternated A B C D / D C B A so drift hits every side;
 * (b) the API over ONE kept-open connection per side (the unix socket to the
 *     engine, mutual TLS to the engine, the relay and the gateway), in
 *     alternated blocks;
 * (c) the gateway's resident memory (VmRSS) idle (no call for 15 s) and with
 *     the containers; the figure just after start-up is printed too.
 *
 * Which "direct" the targets compare with: the engine's own TLS endpoint
 * (dockerd --tlsverify, the test bed's tcp://10.211.0.1N:2376, RSA 2048 like
 * the gateway's). A gateway is a remote endpoint: its users would otherwise
 * reach the same engine remotely, and Docker's only remote transport with
 * client authentication is that one. The CLI pays for a mutual-TLS handshake
 * on every command (about 10 ms here, in the CLI and in any server) that the
 * local socket does not: the unix column shows it, and the ratio to it is
 * printed too, so nothing is hidden.
 *
 * The TLS relay (a child process: the gateway's own TLS settings and
 * certificates, bytes piped to the engine) is the floor any TLS gateway in
 * front of this engine pays: the "vs relay" column is what the gateway adds
 * on top of mutual TLS and one more process.
 *
 * The engine is the test bed's tb1 (`./scripts/testbed.sh up 1`) or
 * STEVEDORE_TEST_ENGINE / --engine. The machine is shared: the load average is
 * printed at start and end, and only ratios measured side by side mean much.
 * Everything made here (containers labelled io.stevedore.bench, the gateway,
 * its temporary PKI) is removed at the end, also on Ctrl-C.
 *
 * --runs 0 skips the CLI part. --profile DIR writes the gateway's CPU profile
 * there (DIR/gateway-PID.cpuprofile, for Chrome DevTools or speedscope).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { ensureImage, startTestGateway, testEngine, type TestGateway } from '../../test/support/gateway.js';
import { parseEngineUrl } from '../../src/engine/index.js';
import { testbedHosts } from '../../test/support/testbed.js';
import { serverTlsOptions } from '../../src/pki/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return (i === -1 ? undefined : process.argv[i + 1]) ?? fallback;
}

const CLI_RUNS = Number(arg('runs', '21'));
const API_CALLS = Number(arg('calls', '2000'));
const BLOCK = Number(arg('block', '50'));
const CONTAINERS = Number(arg('containers', '60'));
const RELAY_MODE = process.argv[2] === '--relay';
const ENGINE_URL = RELAY_MODE ? '' : arg('engine', '') || testEngine().url;
/** The same engine over its own mutual-TLS endpoint: the test bed host whose socket ENGINE_URL is. */
const ENGINE_TLS = RELAY_MODE ? undefined : testbedHosts(1).find((h) => h.dockerHost === ENGINE_URL)?.tls;
const PROFILE_DIR = arg('profile', '');
const DOCKER = '/usr/local/bin/docker';
/** Both sides are asked at the engines' version, so the engine does the same work for both. */
const V = '/v1.41';
const LABEL = `io.stevedore.bench=gateway-${process.pid}`;
/** The engines' own figures on this machine (a Swarm manager's dockerd), the yardstick for memory. */
const DOCKERD_RSS_IDLE_MIB = 101;
const DOCKERD_RSS_60_MIB = 130;
/** How long the gateway sits without a call before its idle memory is read. */
const IDLE_MS = 15_000;

// ---------------------------------------------------------------- statistics

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

// ---------------------------------------------------------------- clients

interface Client {
  /** One call; resolves with the status and the body's length once the body has been read. */
  call(method: string, p: string, body?: string): Promise<{ status: number; bytes: number; text: string }>;
  close(): void;
}

function client(agent: http.Agent, base: http.RequestOptions, request: typeof http.request): Client {
  return {
    call: (method, p, body) =>
      new Promise((resolve, reject) => {
        const headers: http.OutgoingHttpHeaders = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
        const req = request({ ...base, agent, method, path: p, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const buf = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, bytes: buf.length, text: buf.toString('utf8') });
          });
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** One kept-open connection to the engine (unix socket or plain TCP). */
function engineClient(url: string): Client {
  const ep = parseEngineUrl(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const base: http.RequestOptions = ep.kind === 'unix' ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port };
  return client(agent, base, http.request);
}

/** One kept-open mutual-TLS connection to host:port, with the client bundle the CLI uses. */
function tlsClient(bundleDir: string, port: number, host = '127.0.0.1'): Client {
  const read = (f: string) => readFileSync(path.join(bundleDir, f), 'utf8');
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') });
  return client(agent, { host, port }, https.request as typeof http.request);
}

async function ok(c: Client, method: string, p: string, body?: string): Promise<string> {
  const r = await c.call(method, p, body);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${p}: ${r.status} ${r.text}`);
  return r.text;
}

// ---------------------------------------------------------------- engine fixtures

async function createContainer(engine: Client, name: string, start: boolean): Promise<string> {
  const body = JSON.stringify({ Image: 'busybox:latest', Cmd: ['sleep', '3600'], Labels: { [LABEL.split('=')[0]!]: LABEL.split('=')[1]! } });
  const { Id } = JSON.parse(await ok(engine, 'POST', `${V}/containers/create?name=${encodeURIComponent(name)}`, body)) as { Id: string };
  if (start) await ok(engine, 'POST', `${V}/containers/${Id}/start`);
  return Id;
}

/** Removes every container this run labelled; one connection of its own so it also works mid-failure. */
async function removeOurContainers(): Promise<number> {
  const engine = engineClient(ENGINE_URL);
  try {
    const filters = encodeURIComponent(JSON.stringify({ label: [LABEL] }));
    const list = JSON.parse(await ok(engine, 'GET', `${V}/containers/json?all=1&filters=${filters}`)) as Array<{ Id: string }>;
    for (const c of list) await engine.call('DELETE', `${V}/containers/${c.Id}?force=1&v=1`);
    return list.length;
  } finally {
    engine.close();
  }
}

// ---------------------------------------------------------------- (a) the docker CLI

function runCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile(DOCKER, args, { env, maxBuffer: 1 << 24 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`docker ${args.join(' ')}: ${err.message} ${stderr}`));
      else resolve(performance.now() - t0);
    });
  });
}

/**
 * The sides compared, in this order: the engine's socket, the engine's own
 * mutual-TLS endpoint (what the targets compare with), a bare TLS relay (the
 * floor: mutual TLS terminated with the gateway's own certificates, bytes
 * piped to the engine, one more process), and the gateway.
 */
const SIDES = ['unix', 'direct', 'relay', 'gateway'] as const;
type Side = (typeof SIDES)[number];
type PerSide<T> = Record<Side, T>;
const perSide = <T>(f: (side: Side) => T): PerSide<T> => ({ unix: f('unix'), direct: f('direct'), relay: f('relay'), gateway: f('gateway') });

/** Each round runs every side once, forwards then backwards (A B C, C B A): drift hits all sides alike. */
function roundOrder(round: number): readonly Side[] {
  return round % 2 === 0 ? SIDES : [...SIDES].reverse();
}

interface CliRow {
  readonly label: string;
  readonly median: PerSide<number>;
}

async function benchCli(label: string, args: readonly string[], env: PerSide<NodeJS.ProcessEnv>): Promise<CliRow> {
  for (const side of SIDES) await runCli(args, env[side]); // warm-up: page cache, the CLI's first-run work
  const times: PerSide<number[]> = { unix: [], direct: [], relay: [], gateway: [] };
  for (let i = 0; i < CLI_RUNS; i++) for (const side of roundOrder(i)) times[side].push(await runCli(args, env[side]));
  return { label, median: perSide((s) => median(times[s])) };
}

// ---------------------------------------------------------------- (b) the API, one kept-open connection each

interface ApiRow {
  readonly label: string;
  readonly median: PerSide<number>;
  readonly p90: PerSide<number>;
  readonly bytes: number;
  /** Items in the answer when it is a JSON array (listings). */
  readonly items: number | undefined;
  /** CPU time (all threads) of the relay's and the gateway's process per call, in µs: steadier than latency on a busy machine. */
  readonly cpuPerCall: { readonly relay: number; readonly gateway: number };
}

/** CPU time a process's threads have run, in ns (/proc/PID/task/TID/schedstat, first field). */
function cpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* thread gone */
    }
  }
  return total;
}

async function timeBlock(c: Client, p: string, n: number, into: number[]): Promise<string> {
  let text = '';
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = await c.call('GET', p);
    into.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${r.text}`);
    text = r.text;
  }
  return text;
}

async function benchApi(label: string, p: string, clients: PerSide<Client>, pids: { readonly relay: number; readonly gateway: number }): Promise<ApiRow> {
  const warm: number[] = [];
  for (const side of SIDES) await timeBlock(clients[side], p, 50, warm);
  const times: PerSide<number[]> = { unix: [], direct: [], relay: [], gateway: [] };
  const cpu = { relay: 0, gateway: 0 };
  let text = '';
  for (let done = 0, k = 0; done < API_CALLS; done += BLOCK, k++) {
    const n = Math.min(BLOCK, API_CALLS - done);
    for (const side of roundOrder(k)) {
      if (side === 'unix' || side === 'direct') {
        text = await timeBlock(clients[side], p, n, times[side]);
      } else {
        const before = cpuNs(pids[side]);
        await timeBlock(clients[side], p, n, times[side]);
        cpu[side] += cpuNs(pids[side]) - before;
      }
    }
  }
  const per = (f: (xs: number[]) => number): PerSide<number> => perSide((s) => f(times[s]));
  let items: number | undefined;
  try {
    const body = JSON.parse(text) as unknown;
    if (Array.isArray(body)) items = body.length;
  } catch {
    /* not JSON (ping) */
  }
  return {
    label,
    median: per(median),
    p90: per((xs) => percentile(xs, 90)),
    bytes: Buffer.byteLength(text),
    items,
    cpuPerCall: { relay: cpu.relay / API_CALLS / 1000, gateway: cpu.gateway / API_CALLS / 1000 },
  };
}

// ---------------------------------------------------------------- the TLS relay (reference floor)

/**
 * Child mode (`--relay PKI_DIR ENGINE_SOCKET`): a TLS server with the gateway's
 * server options (same certificate, same client-certificate check) that pipes
 * each connection's bytes to a fresh engine connection. What mutual TLS and one
 * more process cost with no HTTP work at all: the gateway cannot do better.
 */
async function relayMain(pkiDir: string, socketPath: string): Promise<void> {
  const server = tls.createServer(serverTlsOptions(pkiDir), (client) => {
    client.setNoDelay(true);
    const engine = net.connect(socketPath);
    client.pipe(engine);
    engine.pipe(client);
    client.on('error', () => engine.destroy());
    engine.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
  process.once('SIGTERM', () => process.exit(0));
}

async function startRelay(pkiDir: string, socketPath: string): Promise<{ port: number; pid: number; stop(): void }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--relay', pkiDir, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`TLS relay exited (${code}) before listening`)));
  });
  return { port, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

// ---------------------------------------------------------------- (c) memory

/** The gateway's process: the child of this process running bin/stevedore.js gateway. */
function gatewayPid(): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd.some((a) => a.endsWith('stevedore.js')) && cmd.includes('gateway')) return Number(entry);
    } catch {
      /* gone meanwhile */
    }
  }
  throw new Error('cannot find the gateway process');
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

/** Source of a module that profiles the process it is preloaded into and writes DIR/gateway-PID.cpuprofile at exit. */
function profilerPreload(dir: string): string {
  return [
    "import { Session } from 'node:inspector';",
    "import { writeFileSync } from 'node:fs';",
    'const s = new Session(); s.connect();',
    "s.post('Profiler.enable'); s.post('Profiler.setSamplingInterval', { interval: 100 }); s.post('Profiler.start');",
    "process.on('exit', () => s.post('Profiler.stop', (err, r) => { if (!err) writeFileSync(" +
      JSON.stringify(dir) +
      " + '/gateway-' + process.pid + '.cpuprofile', JSON.stringify(r.profile)); }));",
  ].join('\n');
}

// ---------------------------------------------------------------- report

type Line = { level: string; what: string; unix: string; direct: string; relay: string; gateway: string; overUnix: string; delta: string; overRelay: string; target: string; pass: boolean };

function printTable(lines: readonly Line[]): void {
  const head = ['level', 'call', 'engine unix', 'engine TLS', 'TLS relay', 'gateway', 'vs unix', 'gateway vs engine TLS', 'vs relay', 'target', ''];
  const rows = lines.map((l) => [l.level, l.what, l.unix, l.direct, l.relay, l.gateway, l.overUnix, l.delta, l.overRelay, l.target, l.pass ? 'PASS' : 'MISS']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: readonly string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(fmt(r));
}

const ms = (x: number, digits = 2) => `${x.toFixed(digits)} ms`;
const signed = (x: number) => `${x < 0 ? '−' : '+'}${ms(Math.abs(x), 3)}`;

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const loadStart = loadavg();
  console.log(`gateway benchmark: node ${process.version}, ${cpus().length} cpus, engine ${ENGINE_URL}`);
  console.log(`load average at start ${loadStart.map((x) => x.toFixed(2)).join(' ')} — a SHARED machine: other work slows every side; read the ratios, not the absolutes`);
  console.log(
    `(a) ${CLI_RUNS} CLI runs per side, sides alternated A B C / C B A; (b) ${API_CALLS} calls per side over one kept-open connection each, in blocks of ${BLOCK}, at ${V}`,
  );
  console.log(`sides: engine unix = its socket; engine TLS = the same engine's own mutual-TLS endpoint ${ENGINE_TLS?.dockerHost ?? '(none)'} (the targets' "direct"); TLS relay = the gateway's TLS settings and certificates in front of the engine socket, bytes piped (the floor); gateway = stevedore gateway\n`);

  await ensureImage(ENGINE_URL);
  const ep = parseEngineUrl(ENGINE_URL);
  if (ep.kind !== 'unix') throw new Error('the benchmark wants a unix-socket engine (the TLS relay pipes to it)');
  if (!ENGINE_TLS) throw new Error(`${ENGINE_URL} is not a test bed engine: the benchmark needs its mutual-TLS endpoint (./scripts/testbed.sh up 1)`);
  const engineTls = new URL(ENGINE_TLS.dockerHost.replace(/^tcp:/, 'https:'));
  const cliHome = mkdtempSync(path.join(tmpdir(), 'stevedore-bench-cli-'));
  let gw: TestGateway | undefined;
  let relay: { port: number; pid: number; stop(): void } | undefined;
  let clients: PerSide<Client> | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const side of SIDES) clients?.[side].close();
      const removed = await removeOurContainers().catch((err: unknown) => {
        console.error(`cleanup: could not remove the benchmark's containers (label ${LABEL}): ${(err as Error).message}`);
        return 0;
      });
      relay?.stop();
      await gw?.stop();
      rmSync(cliHome, { recursive: true, force: true });
      console.log(`cleaned up: ${removed} containers, the TLS relay, the gateway and its PKI`);
    })());
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const savedNodeOptions = process.env['NODE_OPTIONS'];
    // --cpu-prof is not allowed in NODE_OPTIONS: a preloaded module runs the inspector's profiler instead.
    if (PROFILE_DIR) process.env['NODE_OPTIONS'] = `${savedNodeOptions ?? ''} --import=data:text/javascript,${encodeURIComponent(profilerPreload(PROFILE_DIR))}`.trim();
    try {
      gw = await startTestGateway({ engine: ENGINE_URL, logLevel: 'info' });
    } finally {
      if (savedNodeOptions === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = savedNodeOptions;
    }
    relay = await startRelay(gw.pkiDir, ep.socketPath);
    const pid = gatewayPid();
    clients = {
      unix: engineClient(ENGINE_URL),
      direct: tlsClient(ENGINE_TLS.certPath, Number(engineTls.port), engineTls.hostname),
      relay: tlsClient(gw.bundleDir, relay.port),
      gateway: tlsClient(gw.bundleDir, gw.port),
    };
    const engine = clients.unix;
    for (let i = 0; i < 5; i++) await ok(clients.gateway, 'GET', `${V}/_ping`);
    await new Promise((r) => setTimeout(r, 500));
    const rssStarted = rssMiB(pid);
    // Idle means no call for a while: V8 keeps the young generation start-up
    // grew (~17 MiB here) until its memory reducer runs, about 8 s after the
    // last burst of allocation; a gateway idle for IDLE_MS has been through it.
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const rssIdle = rssMiB(pid);

    const target = `gwbench-${process.pid}-target`;
    const targetId = await createContainer(engine, target, false);
    const running = () => ok(engine, 'GET', `${V}/containers/json`).then((t) => (JSON.parse(t) as unknown[]).length);
    const pids = { relay: relay.pid, gateway: pid };

    // (a) the docker CLI
    const base: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cliHome, DOCKER_CONFIG: path.join(cliHome, '.docker') };
    const env: PerSide<NodeJS.ProcessEnv> = {
      unix: { ...base, DOCKER_HOST: ENGINE_URL },
      direct: { ...base, DOCKER_HOST: ENGINE_TLS.dockerHost, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: ENGINE_TLS.certPath },
      relay: { ...base, ...gw.env, DOCKER_HOST: `tcp://127.0.0.1:${relay.port}` },
      gateway: { ...base, ...gw.env },
    };
    const cli: CliRow[] = [];
    if (CLI_RUNS > 0) {
      cli.push(await benchCli('docker ps', ['ps'], env));
      cli.push(await benchCli(`docker inspect ${target}`, ['inspect', target], env));
      cli.push(await benchCli('docker run --rm busybox true', ['run', '--rm', '--label', LABEL, 'busybox', 'true'], env));
    }

    // (b) the API
    const api: ApiRow[] = [];
    api.push(await benchApi('GET /_ping', `${V}/_ping`, clients, pids));
    api.push(await benchApi('GET /containers/json', `${V}/containers/json`, clients, pids));
    api.push(await benchApi('GET /containers/{id}/json', `${V}/containers/${targetId}/json`, clients, pids));

    // With the containers running: memory after a few listings through the gateway, then the listing.
    const made: Promise<string>[] = [];
    for (let i = 0; i < CONTAINERS; i++) made.push(createContainer(engine, `gwbench-${process.pid}-${i}`, true));
    await Promise.all(made);
    const withMany = await running();
    for (let i = 0; i < 5; i++) await ok(clients.gateway, 'GET', `${V}/containers/json`);
    await new Promise((r) => setTimeout(r, 500));
    const rssMany = rssMiB(pid);
    api.push(await benchApi('GET /containers/json', `${V}/containers/json`, clients, pids));
    const rssEnd = rssMiB(pid);

    const lines: Line[] = [
      ...cli.map((r): Line => {
        const ratio = r.median.gateway / r.median.direct;
        return {
          level: 'cli',
          what: r.label,
          unix: ms(r.median.unix, 1),
          overUnix: `×${(r.median.gateway / r.median.unix).toFixed(3)}`,
          direct: ms(r.median.direct, 1),
          relay: ms(r.median.relay, 1),
          gateway: ms(r.median.gateway, 1),
          delta: `×${ratio.toFixed(3)}`,
          overRelay: `×${(r.median.gateway / r.median.relay).toFixed(3)}`,
          target: '≤ ×1.10',
          pass: ratio <= 1.1,
        };
      }),
      ...api.map((r): Line => {
        const added = r.median.gateway - r.median.direct;
        return {
          level: 'api',
          what: `${r.label}${r.items === undefined ? '' : ` (${r.items} running)`} [${r.bytes} B]`,
          unix: ms(r.median.unix, 3),
          overUnix: signed(r.median.gateway - r.median.unix),
          direct: ms(r.median.direct, 3),
          relay: ms(r.median.relay, 3),
          gateway: ms(r.median.gateway, 3),
          delta: signed(added),
          overRelay: signed(r.median.gateway - r.median.relay),
          target: '≤ +0.500 ms',
          pass: added <= 0.5,
        };
      }),
      ...(
        [
          [`gateway RSS idle (no call for ${IDLE_MS / 1000} s)`, rssIdle, DOCKERD_RSS_IDLE_MIB],
          [`gateway RSS, ${withMany} running, after listings`, rssMany, DOCKERD_RSS_60_MIB],
        ] as const
      ).map(([what, mib, limit]): Line => ({ level: 'mem', what, unix: '', overUnix: '', direct: '', relay: '', gateway: `${mib.toFixed(1)} MiB`, delta: '', overRelay: '', target: `≤ ${limit} MiB (dockerd)`, pass: mib <= limit })),
    ];
    console.log();
    printTable(lines);
    console.log();
    console.log('api p90 (engine unix / engine TLS / TLS relay / gateway), and CPU per call of the relay\'s and the gateway\'s process:');
    for (const r of api) {
      const what = `${r.label}${r.items === undefined ? '' : ` (${r.items})`}`;
      console.log(`  ${what.padEnd(30)} p90 ${SIDES.map((s) => ms(r.p90[s], 3)).join(' / ')}   CPU/call relay ${r.cpuPerCall.relay.toFixed(0)} µs, gateway ${r.cpuPerCall.gateway.toFixed(0)} µs`);
    }
    console.log(`gateway RSS at the end (after ${api.length * (API_CALLS + 50)} API calls through it): ${rssEnd.toFixed(1)} MiB`);
    console.log(`gateway RSS just after start-up (0.5 s after its first calls, before the idle wait): ${rssStarted.toFixed(1)} MiB`);
    console.log(`load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')} (shared machine)`);
  } finally {
    await cleanup();
  }
}

if (RELAY_MODE) await relayMain(process.argv[3]!, process.argv[4]!);
else await main();
