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
 *   disabled  `NetworkDisabled`: runc makes the namespace itself, libnetwork is not called
 *
 * Why it is here: the services benchmark compares control planes whose
 * containers all pay the `bridge` price. This shows how much of a create's
 * time is that price (engine work no manager in front of the engine can
 * avoid while containers get their network from the engine).
 *
 *   ./scripts/testbed.sh up 3 && npx tsc -p . && node dist/scripts/bench/engine-cost.js [--containers 30] [--rounds 3]
 *
 * Every container made is removed (label io.stevedore.bench=engine-cost).
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
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

type Variant = 'bridge' | 'none' | 'container' | 'disabled';
const variants: readonly Variant[] = ['bridge', 'none', 'container', 'disabled'];

async function measure(v: Variant, holders: ReadonlyMap<string, string>, tag: string): Promise<{ seconds: number; cpu: number }> {
  const extra = (h: TestbedHost): Record<string, unknown> =>
    v === 'none' ? { HostConfig: { NetworkMode: 'none' } } : v === 'container' ? { HostConfig: { NetworkMode: `container:${holders.get(h.name) ?? ''}` } } : v === 'disabled' ? { NetworkDisabled: true } : {};
  const cpu0 = machineCpu();
  const t0 = performance.now();
  await Promise.all(hosts.map((h) => Promise.all(Array.from({ length: perHost }, () => run(h, tag, extra(h))))));
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
  try {
    for (const h of hosts) holders.set(h.name, await run(h, 'holder', {}));
    for (let r = 0; r < rounds; r++) {
      // Rotated each round, so no variant always follows the same one.
      const order = variants.map((_, i) => variants[(i + r) % variants.length] as Variant);
      for (const v of order) {
        const tag = `${v}-${r}`;
        (results.get(v) ?? results.set(v, []).get(v))?.push(await measure(v, holders, tag));
        await removeAll(`${LABEL}.tag=${tag}`);
        await new Promise((res) => setTimeout(res, 1500)); // the engines settle after the removals
      }
    }
  } finally {
    await removeAll(`${LABEL}=engine-cost`);
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
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
