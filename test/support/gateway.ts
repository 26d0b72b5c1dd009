/**
 * Gateways for tests.
 *
 * - `startTestGateway()` runs the real thing — `node bin/stevedore.js gateway`
 *   as a child process, mutual TLS with a temporary PKI, a free port — and
 *   returns the environment the docker CLI needs to reach it. Every team's
 *   end-to-end tests use it.
 * - `inProcessContext()` gives an ApiContext over one real engine for
 *   supertest (createApp) and in-process servers (createDockerApiServer).
 *
 * The engine is the test bed's first host (`./scripts/testbed.sh up N`), or
 * STEVEDORE_TEST_ENGINE (e.g. unix:///var/run/docker.sock) when set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Engine, parseEngineUrl, SingleEngineDirectory } from '../../src/engine/index.js';
import type { ApiContext } from '../../src/api/docker/context.js';
import { initPki, issueClientBundle } from '../../src/pki/index.js';
import { silentLogger } from '../../src/util/log.js';
import { repoRoot, testbedHosts } from './testbed.js';

export interface TestEngine {
  /** unix:///… or tcp://host:port */
  readonly url: string;
  /** Where the engine's published ports answer (its host's address). */
  readonly address: string;
}

/** STEVEDORE_TEST_ENGINE if set (ports on 127.0.0.1), else test bed host tb1 (throws if the test bed is down). */
export function testEngine(): TestEngine {
  const override = process.env['STEVEDORE_TEST_ENGINE'];
  if (override) return { url: override, address: process.env['STEVEDORE_TEST_ENGINE_ADDRESS'] ?? '127.0.0.1' };
  const host = testbedHosts(1)[0];
  if (!host) throw new Error('testbed: no host');
  return { url: host.dockerHost, address: host.address };
}

/** An ApiContext over one real engine, for in-process tests. */
export function inProcessContext(engineUrl: string = testEngine().url): { ctx: ApiContext; engine: Engine; close(): void } {
  const engine = new Engine(parseEngineUrl(engineUrl));
  const engines = new SingleEngineDirectory({ nodeId: 'test-node', nodeName: 'test-node', engine });
  return { ctx: { engines, log: silentLogger, identity: { id: 'TEST:GATEWAY', name: 'stevedore-test' } }, engine, close: () => engine.close() };
}

/** Makes sure `image` is on the engine (the test bed's engines pull through the test bed's registry). */
export async function ensureImage(engineUrl: string, image = 'busybox:latest'): Promise<void> {
  const engine = new Engine(parseEngineUrl(engineUrl));
  try {
    const status = await rawCall(engine, 'GET', `/v1.41/images/${encodeURIComponent(image)}/json`);
    if (status.code === 200) return;
    const [name, tag = 'latest'] = image.split(':');
    const pulled = await rawCall(engine, 'POST', `/v1.41/images/create?fromImage=${encodeURIComponent(name ?? image)}&tag=${encodeURIComponent(tag)}`);
    if (pulled.code !== 200 || /"error"/.test(pulled.text)) throw new Error(`cannot pull ${image} on ${engineUrl}: ${pulled.code} ${pulled.text.slice(-300)}`);
  } finally {
    engine.close();
  }
}

function rawCall(engine: Engine, method: string, p: string): Promise<{ code: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = engine.request({ method, path: p });
    req.on('error', reject);
    req.on('response', (res: http.IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, text }));
    });
    req.end();
  });
}

export interface TestGateway {
  /** DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH (merge into process.env for the CLI). */
  readonly env: Readonly<Record<string, string>>;
  readonly port: number;
  /** Where it listens (127.0.0.1, or the test bed host's address with `onHost`). */
  readonly host: string;
  /** The temporary PKI directory (initPki layout), e.g. to issue more bundles. */
  readonly pkiDir: string;
  /** The client bundle behind `env` (ca.pem, cert.pem, key.pem). */
  readonly bundleDir: string;
  /** What the gateway printed so far, for failure messages. */
  log(): string;
  /** SIGTERM, wait for the exit (SIGKILL after 10 s), remove the temporary directories. */
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Engine address; defaults to testEngine().url. */
  readonly engine?: string;
  readonly logLevel?: string;
  /** Extra CLI arguments for `stevedore gateway`. */
  readonly args?: readonly string[];
  /**
   * Run the gateway in this test bed host's network namespace (`nsenter
   * --net`), listening on `address` (the host's), as a gateway installed on
   * that host would: its engine then shares its namespace.
   */
  readonly onHost?: { readonly namespace: string; readonly address: string };
}

/** Starts `stevedore gateway` (built: run `npx tsc -p .` first) with mutual TLS on a free port. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const work = await mkdtemp(path.join(tmpdir(), 'stevedore-gw-'));
  const pkiDir = path.join(work, 'pki');
  const listenHost = options.onHost?.address ?? '127.0.0.1';
  await initPki(pkiDir, { sans: ['localhost', '127.0.0.1', ...(options.onHost ? [options.onHost.address] : [])] });
  const bundleDir = await issueClientBundle(pkiDir, 'test-client');
  const nsenter = options.onHost ? [`--net=/var/run/netns/${options.onHost.namespace}`, process.execPath] : [];
  const child = spawn(
    options.onHost ? 'nsenter' : process.execPath,
    [
      ...nsenter,
      path.join(repoRoot(), 'bin', 'stevedore.js'),
      'gateway',
      '--listen', `${listenHost}:0`,
      '--pki', pkiDir,
      '--engine', options.engine ?? testEngine().url,
      '--state-dir', path.join(work, 'state'),
      '--log-level', options.logLevel ?? 'info',
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  let port: number;
  try {
    port = await listeningPort(child, (line) => (output += line + '\n'));
  } catch (err) {
    child.kill('SIGKILL');
    await rm(work, { recursive: true, force: true });
    throw new Error(`gateway did not start: ${(err as Error).message}\n${output}`);
  }
  let stopped: Promise<void> | undefined;
  return {
    env: { DOCKER_HOST: `tcp://${listenHost}:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: bundleDir },
    host: listenHost,
    port,
    pkiDir,
    bundleDir,
    log: () => output,
    stop: () =>
      (stopped ??= (async () => {
        await stopChild(child);
        await rm(work, { recursive: true, force: true });
      })()),
  };
}

/** Reads the gateway's pino lines until the "listening" one, which carries the bound address. */
function listeningPort(child: ChildProcess, onLine: (line: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no "gateway listening" line within 30 s')), 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      onLine(line);
      try {
        const rec = JSON.parse(line) as { msg?: string; listen?: string };
        if (rec.msg?.startsWith('gateway listening') && rec.listen) {
          clearTimeout(timer);
          resolve(Number(rec.listen.slice(rec.listen.lastIndexOf(':') + 1)));
        }
      } catch {
        /* not a log line */
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code ?? signal}) before listening`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
