/**
 * What a container costs its engine, by network mode: N containers created and
 * started straight through the Engine API (no CLI, no control plane), a third
 * on each of tb1..tb3 at once, measured as wall time and as the whole
 * machine's CPU seconds (/proc/stat). Variants, alternated round by round:
 *
 *   bridge    the default network: libnetwork makes a sandbox per container
 *             (Docker 20.10 re-execs dockerd as `netns-create`, then runc runs
 *             dockerd again as the `libnetwork-setkey` prestart hook)
 *   none      a sandbox with only loopback: the same two re-execs
 *   container joins one existing container's namespace (`container:<id>`): no sandbox
 *   disabled  `NetworkDisabled`: runc makes the namespace itself, libnetwork is
 *             not called (and the container has no network)
 *   pod       Kubernetes' dockershim layout: a holder container per container,
 *             a veth plugged into the holder's namespace, the container joining it
 *   sandbox   our instance sandbox (src/agent/sandboxes.ts, bin/stevedore-runc):
 *             the agent's code path, `NetworkDisabled` on our runtime, which
 *             plugs a veth into runc's namespace between create and start
 *
 * Why it is here: the services benchmark compares control planes whose
 * containers all paid the `bridge` price before instance sandboxes. This shows
 * how much of a create's time that price is, and what each way around it
 * saves (a `pod` holder costs a container of its own, so it saves little).
 *
 *   ./scripts/testbed.sh up 3 && npx tsc -p . && node dist/scripts/bench/engine-cost.js [--containers 30] [--rounds 3]
 *
 * Every container made is removed (label io.stevedore.bench=engine-cost), and
 * so are the bench's bridge and the sandbox network.
 */
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Engine, parseEngineUrl } from '../../src/engine/index.js';
import { EngineSandboxes } from '../../src/agent/sandboxes.js';
import { silentLogger } from '../../src/util/log.js';
import { ensureImage } from '../../test/support/gateway.js';
import { testbedHosts, type TestbedHost } from '../../test/support/testbed.js';

const { values } = parseArgs({ options: { containers: { type: 'string', default: '30' }, rounds: { type: 'string', default: '3' } } });
const hosts = testbedHosts(3).slice(0, 3);
const perHost = Math.max(1, Math.round(Number(values.containers) / hosts.length));
const rounds = Math.max(1, Number(values.rounds));
const LABEL = 'io.stevedore.bench';

interface Reply {
  readonly code: number;
  readonly text: string;
}

function call(h: TestbedHost, method: string, p: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: h.socketPath, method, path: `/v1.41${p}`, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function must(h: TestbedHost, method: string, p: string, body?: unknown): Promise<Reply> {
  const r = await call(h, method, p, body);
  if (r.code >= 300) throw new Error(`${h.name}: ${method} ${p}: ${r.code} ${r.text}`);
  return r;
}

/** CPU seconds the whole machine has spent (user, nice, system, irq, softirq, steal). */
function machineCpu(): number {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const at = (i: number): number => f[i] ?? 0;
  return (at(0) + at(1) + at(2) + at(5) + at(6) + at(7)) / 100;
}

async function run(h: TestbedHost, tag: string, extra: Readonly<Record<string, unknown>>): Promise<string> {
  const body = { Image: 'busybox:latest', Cmd: ['sleep', '3600'], Labels: { [LABEL]: 'engine-cost', [`${LABEL}.tag`]: tag }, StopTimeout: 1, ...extra };
  const id = (JSON.parse((await must(h, 'POST', '/containers/create', body)).text) as { Id: string }).Id;
  await must(h, 'POST', `/containers/${id}/start`);
  return id;
}

async function removeAll(filter: string): Promise<void> {
  await Promise.all(
    hosts.map(async (h) => {
      const list = JSON.parse((await must(h, 'GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [filter] }))}`)).text) as { Id: string }[];
      await Promise.all(list.map((c) => call(h, 'DELETE', `/containers/${c.Id}?force=1`)));
    }),
  );
}

type Variant = 'bridge' | 'none' | 'container' | 'disabled' | 'pod' | 'sandbox';
const variants: readonly Variant[] = ['bridge', 'none', 'container', 'disabled', 'pod', 'sandbox'];

function sh(cmd: string, args: readonly string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: ${err}`))));
    c.stdin.end(input);
  });
}

const POD_BRIDGE = 'stvbench0';
let seq = 0;

/** A pod's holder, as Kubernetes' dockershim made it: an idle container whose namespace a veth from a bridge is plugged into. */
async function podHolder(h: TestbedHost, tag: string): Promise<string> {
  const id = await run(h, tag, { NetworkDisabled: true });
  const pid = (JSON.parse((await must(h, 'GET', `/containers/${id}/json`)).text) as { State: { Pid: number } }).State.Pid;
  const n = ++seq;
  const hi = Number(h.name.replace(/\D/g, ''));
  await sh('nsenter', [`--net=/run/netns/${h.namespace}`, 'ip', '-b', '-'], `link add svbench${n} type veth peer name eth0 netns ${pid}\nlink set svbench${n} master ${POD_BRIDGE} up\n`);
  await sh('nsenter', ['-t', String(pid), '-n', 'ip', '-b', '-'], `addr add 10.250.${hi}.${(n % 250) + 2}/24 dev eth0\nlink set eth0 up\nroute add default via 10.250.${hi}.1\n`);
  return id;
}

/** Our instance sandbox (src/agent/sandboxes.ts): the agent's own code path, then create and start. */
async function sandboxed(h: TestbedHost, tag: string, sandboxes: EngineSandboxes): Promise<void> {
  const instanceId = `bench${++seq}`;
  const req = await sandboxes.prepare(instanceId, { name: instanceId, body: { Image: 'busybox:latest', Cmd: ['sleep', '3600'], Labels: { [LABEL]: 'engine-cost', [`${LABEL}.tag`]: tag }, StopTimeout: 1 } });
  const id = (JSON.parse((await must(h, 'POST', '/containers/create', req.body)).text) as { Id: string }).Id;
  await must(h, 'POST', `/containers/${id}/start`);
}

async function measure(v: Variant, holders: ReadonlyMap<string, string>, sandboxes: ReadonlyMap<string, EngineSandboxes>, tag: string): Promise<{ seconds: number; cpu: number }> {
  const one = async (h: TestbedHost): Promise<void> => {
    switch (v) {
      case 'bridge':
        return void (await run(h, tag, {}));
      case 'none':
        return void (await run(h, tag, { HostConfig: { NetworkMode: 'none' } }));
      case 'container':
        return void (await run(h, tag, { HostConfig: { NetworkMode: `container:${holders.get(h.name) ?? ''}` } }));
      case 'disabled':
        return void (await run(h, tag, { NetworkDisabled: true }));
      case 'pod':
        return void (await run(h, tag, { HostConfig: { NetworkMode: `container:${await podHolder(h, tag)}` } }));
      case 'sandbox': {
        const s = sandboxes.get(h.name);
        if (s === undefined) throw new Error(`no sandboxes on ${h.name}`);
        return sandboxed(h, tag, s);
      }
    }
  };
  const cpu0 = machineCpu();
  const t0 = performance.now();
  await Promise.all(hosts.map((h) => Promise.all(Array.from({ length: perHost }, () => one(h)))));
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, cpu: machineCpu() - cpu0 };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

async function main(): Promise<void> {
  await Promise.all(hosts.map((h) => ensureImage(h.dockerHost)));
  console.log(`${perHost * hosts.length} containers (${perHost} on each of ${hosts.map((h) => h.name).join(', ')}), ${rounds} round(s); load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const holders = new Map<string, string>();
  const results = new Map<Variant, { seconds: number; cpu: number }[]>();
  const dir = mkdtempSync(path.join(tmpdir(), 'stv-engine-cost-'));
  const engines = hosts.map((h) => new Engine(parseEngineUrl(h.dockerHost)));
  const sandboxes = new Map(hosts.map((h, i) => [h.name, new EngineSandboxes({ engine: engines[i] as Engine, dir: path.join(dir, h.name), log: silentLogger })]));
  try {
    for (const h of hosts) {
      if (!(await sandboxes.get(h.name)?.enabled())) throw new Error(`${h.name}'s engine has no stevedore runtime (scripts/testbed.sh registers it)`);
      holders.set(h.name, await run(h, 'holder', {}));
      const hi = Number(h.name.replace(/\D/g, ''));
      await sh('nsenter', [`--net=/run/netns/${h.namespace}`, 'ip', '-b', '-'], `link add ${POD_BRIDGE} type bridge\naddr add 10.250.${hi}.1/24 dev ${POD_BRIDGE}\nlink set ${POD_BRIDGE} up\n`);
    }
    for (let r = 0; r < rounds; r++) {
      // Rotated each round, so no variant always follows the same one.
      const order = variants.map((_, i) => variants[(i + r) % variants.length] as Variant);
      for (const v of order) {
        const tag = `${v}-${r}`;
        (results.get(v) ?? results.set(v, []).get(v))?.push(await measure(v, holders, sandboxes, tag));
        await removeAll(`${LABEL}.tag=${tag}`);
        await new Promise((res) => setTimeout(res, 1500)); // the engines settle after the removals
      }
    }
  } finally {
    await removeAll(`${LABEL}=engine-cost`);
    for (const h of hosts) await sh('nsenter', [`--net=/run/netns/${h.namespace}`, 'ip', 'link', 'del', POD_BRIDGE], '').catch(() => undefined);
    for (const s of sandboxes.values()) await s.removeNetwork();
    for (const e of engines) e.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const n = perHost * hosts.length;
  console.log(['variant'.padEnd(10), 'seconds', 'machine CPU s', 'CPU ms per container', 'runs (s/CPU s)'].join('\t'));
  const cpuPer = new Map<Variant, number>();
  for (const v of variants) {
    const rs = results.get(v) ?? [];
    const cpu = median(rs.map((x) => x.cpu));
    cpuPer.set(v, (cpu * 1000) / n);
    console.log([v.padEnd(10), median(rs.map((x) => x.seconds)).toFixed(2), cpu.toFixed(2), ((cpu * 1000) / n).toFixed(0), rs.map((x) => `${x.seconds.toFixed(2)}/${x.cpu.toFixed(1)}`).join(' ')].join('\t'));
  }
  const bridge = cpuPer.get('bridge') ?? NaN;
  const disabled = cpuPer.get('disabled') ?? NaN;
  console.log(`the engine's network sandbox: ${(bridge - disabled).toFixed(0)} of ${bridge.toFixed(0)} CPU ms per container (${(((bridge - disabled) / bridge) * 100).toFixed(0)}%)`);
  const sandbox = cpuPer.get('sandbox') ?? NaN;
  console.log(`an instance sandbox: ${sandbox.toFixed(0)} CPU ms per container, ${((sandbox / bridge) * 100).toFixed(0)}% of the bridge's`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
