/**
 * Store benchmark: transactions per second, MemoryStore beside SqliteStore,
 * and the resident memory of a large cluster's state.
 *
 *   npx tsc -p . && node dist/scripts/bench/store.js [--seconds 2]
 *
 * Memory is measured in fresh child processes (node --expose-gc), so each
 * number is one store and nothing else.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { newInstance, newNode } from '../../src/store/testing/fixtures.js';

const nodes = 1_000;
const instances = 100_000;
const batchSize = 1_000;

type Variant = { readonly label: string; readonly open: (dir: string) => Store };
const variants: readonly Variant[] = [
  { label: 'memory', open: () => new MemoryStore() },
  { label: 'sqlite group commit', open: (dir) => new SqliteStore({ path: join(dir, 'full.db'), keyPath: join(dir, 'key') }) },
  { label: 'sqlite NORMAL', open: (dir) => new SqliteStore({ path: join(dir, 'normal.db'), keyPath: join(dir, 'key'), synchronous: 'normal' }) },
];

/** Runs `step` for about `seconds` (at least 3 times) and returns steps per second. */
async function rate(seconds: number, step: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let i = 0;
  while (i < 3 || performance.now() - start < seconds * 1000) await step(i++);
  return i / ((performance.now() - start) / 1000);
}

async function singleUpdates(store: Store, seconds: number): Promise<number> {
  await store.update((tx) => tx.create('node', newNode('bench-node', 'bench')));
  return rate(seconds, (i) =>
    store.update((tx) => {
      const n = tx.get('node', 'bench-node')!;
      tx.update('node', { ...n, status: { ...n.status, lastHeartbeat: i } });
    }),
  );
}

async function batchCreates(store: Store, seconds: number): Promise<number> {
  return rate(seconds, (b) =>
    store.update((tx) => {
      for (let i = 0; i < batchSize; i++) tx.create('instance', newInstance(`b${b}i${i}`, 'w1', i + 1, 'n1'));
    }),
  );
}

/** 1,000 nodes and 100,000 instances, written in 1,000-object transactions. */
async function populate(store: Store): Promise<void> {
  await store.update((tx) => {
    for (let i = 0; i < nodes; i++) tx.create('node', newNode(`node${i}`, `worker-${i}`));
  });
  for (let b = 0; b < instances / batchSize; b++) {
    await store.update((tx) => {
      for (let i = 0; i < batchSize; i++) {
        const n = b * batchSize + i;
        tx.create('instance', newInstance(`inst${n}`, `w${n % 100}`, n + 1, `node${n % nodes}`));
      }
    });
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** Child mode: load the state one way and print what it costs. */
async function measure(how: string, dir: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  gc();
  const before = process.memoryUsage();
  const start = performance.now();
  let store: Store;
  if (how === 'memory') {
    store = new MemoryStore();
    await populate(store);
  } else {
    store = new SqliteStore({ path: join(dir, 'big.db'), keyPath: join(dir, 'key') });
  }
  const ms = performance.now() - start;
  gc();
  const after = process.memoryUsage();
  const count = store.view((tx) => tx.list('instance').length + tx.list('node').length);
  await store.close();
  process.stdout.write(JSON.stringify({ ms, count, rss: after.rss, rssDelta: after.rss - before.rss, heapDelta: after.heapUsed - before.heapUsed }));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--measure') return measure(args[1]!, args[2]!);
  const seconds = args[0] === '--seconds' ? Number(args[1]) : 2;
  const dir = mkdtempSync(join(tmpdir(), 'stevedore-bench-'));
  try {
    const rows: [string, string[]][] = [
      ['single-object update (tx/s)', []],
      ['1,000-object create (tx/s)', []],
      ['  = objects/s', []],
    ];
    for (const v of variants) {
      const store = v.open(dir);
      const single = await singleUpdates(store, seconds);
      const batch = await batchCreates(store, seconds);
      await store.close();
      rows[0]![1].push(single.toFixed(0));
      rows[1]![1].push(batch.toFixed(1));
      rows[2]![1].push((batch * batchSize).toFixed(0));
    }
    const width = 30;
    const col = 16;
    const load = loadavg()[0]!.toFixed(1);
    console.log(`node ${process.version}, ${cpus().length} cpus, load average ${load} (numbers scale down with load), ${seconds} s per cell\n`);
    console.log(''.padEnd(width) + variants.map((v) => v.label.padStart(col)).join(''));
    for (const [label, cells] of rows) console.log(label.padEnd(width) + cells.map((c) => c.padStart(col)).join(''));

    // Resident memory: fill a database once, then measure each way of holding the state in a fresh process.
    const seed = new SqliteStore({ path: join(dir, 'big.db'), keyPath: join(dir, 'key'), synchronous: 'normal' });
    await populate(seed);
    await seed.close();
    const self = fileURLToPath(import.meta.url);
    console.log(`\nresident memory, ${nodes.toLocaleString('en')} nodes + ${instances.toLocaleString('en')} instances:`);
    for (const [how, label] of [
      ['memory', 'MemoryStore, created in 1,000-object transactions'],
      ['sqlite', 'SqliteStore, opened from disk'],
    ] as const) {
      const out = execFileSync(process.execPath, ['--expose-gc', self, '--measure', how, dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
      const r = JSON.parse(out) as { ms: number; count: number; rss: number; rssDelta: number; heapDelta: number };
      console.log(`  ${label.padEnd(52)} ${(r.ms / 1000).toFixed(1)} s   RSS ${mib(r.rss)} (+${mib(r.rssDelta)})   heap +${mib(r.heapDelta)} (${(r.heapDelta / r.count / 1024).toFixed(1)} KiB/object)   ${r.count} objects`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
