/**
 * An end-to-end swarm on the test bed, the way the e2e tests need one: a real
 * gateway (child process, mutual TLS) whose engine is the first host, `docker
 * swarm init` through the real CLI, and `stevedore agent` processes in other
 * hosts' network namespaces (against their engines) joined as workers with
 * the real `stevedore agent join`. One place for the set-up and its clean-up,
 * so each test file keeps only what it checks.
 *
 * The agents run from this process with `nsenter --net`, so they share the
 * machine's /var/run: each gets a WireGuard interface name of its own
 * (wireguard-go's control socket lives there).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureImage, startTestGateway, type TestGateway } from './gateway.js';
import { repoRoot, type TestbedHost } from './testbed.js';

export const DOCKER = '/usr/local/bin/docker';
/** The lab bridge: what the test hosts reach the gateway's dispatcher at. */
export const BRIDGE_ADDRESS = '10.211.0.1';

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], env: Readonly<Record<string, string>> = {}, timeout = 120_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** A host's own engine, straight (not through the gateway); fails the test on a non-zero exit. */
export async function onHost(h: TestbedHost, args: readonly string[]): Promise<string> {
  const r = await run(DOCKER, ['-H', h.dockerHost, ...args]);
  assert.equal(r.code, 0, `docker -H ${h.name} ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A command in a host's network namespace (ip, bridge, nft). */
export async function inNetns(h: TestbedHost, args: readonly string[]): Promise<string> {
  const r = await run('nsenter', [`--net=/var/run/netns/${h.namespace}`, '--', ...args]);
  assert.equal(r.code, 0, `${args.join(' ')} in ${h.name} failed: ${r.stderr}`);
  return r.stdout;
}

export const wireguardInterfaceOf = (h: TestbedHost): string => `stvwg-${h.name}`;

/** busybox nslookup's answer addresses, sorted. */
export function answers(stdout: string): string[] {
  const answer = stdout.split(/\n\s*\n/).slice(1).join('\n');
  return [...answer.matchAll(/Address(?: \d+)?:\s*([0-9.]+)\s*$/gm)].map((m) => m[1] ?? '').sort();
}

export interface E2eClusterOptions {
  /** Temp directory prefix, e.g. 'stv-e2e-ov-'. */
  readonly prefix: string;
  /** The gateway's engine (its own node). */
  readonly first: TestbedHost;
  /** Hosts whose agents join as workers now (more can join later with joinAgent). */
  readonly workers: readonly TestbedHost[];
  /** Extra `stevedore agent` flags. */
  readonly agentArgs?: readonly string[];
  /**
   * The gateway runs in `first`'s network namespace and advertises its
   * address, so the first node takes part in overlays as every other node
   * does. Otherwise it runs beside the lab bridge (its node then has no
   * overlays, and a worker agent on `first` serves them).
   */
  readonly gatewayOnFirst?: boolean;
}

export class E2eCluster {
  private readonly agents = new Map<string, ChildProcess>();
  /** Agents that exited without being asked to, with their stderr's tail: a timeout then says why a node went Down. */
  private readonly deaths: string[] = [];
  private token = '';
  private manager = '';

  private constructor(
    readonly gw: TestGateway,
    readonly work: string,
    private readonly agentArgs: readonly string[],
  ) {}

  /** Gateway up, swarm initialised, `workers` joined and Ready. */
  static async start(o: E2eClusterOptions): Promise<E2eCluster> {
    await Promise.all([o.first, ...o.workers].map((h) => ensureImage(h.dockerHost)));
    const work = await mkdtemp(path.join(tmpdir(), o.prefix));
    const advertise = o.gatewayOnFirst ? o.first.address : BRIDGE_ADDRESS;
    const gw = await startTestGateway({
      engine: o.first.dockerHost,
      args: ['--dispatcher-listen', `${advertise}:0`, '--advertise-addr', advertise, ...(o.gatewayOnFirst ? ['--wireguard-interface', wireguardInterfaceOf(o.first)] : [])],
      ...(o.gatewayOnFirst ? { onHost: { namespace: o.first.namespace, address: o.first.address } } : {}),
    });
    const c = new E2eCluster(gw, work, o.agentArgs ?? []);
    await c.ok(['swarm', 'init', '--advertise-addr', advertise]);
    const join = await c.ok(['swarm', 'join-token', 'worker']);
    const m = /--token (\S+) (\S+)/.exec(join);
    assert.ok(m, join);
    c.token = m[1] ?? '';
    c.manager = m[2] ?? '';
    for (const h of o.workers) await c.joinAgent(h);
    await c.eventually(`${o.workers.length} workers ready`, async () => (await c.readyWorkers()) === o.workers.length, 30_000);
    return c;
  }

  /** GET on the gateway's Engine API with the test's client bundle, parsed. */
  async apiGet(p: string): Promise<unknown> {
    const dir = this.gw.bundleDir;
    const [ca, cert, key] = await Promise.all(['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFile(path.join(dir, f))));
    return new Promise((resolve, reject) => {
      const req = https.get({ host: this.gw.host, port: this.gw.port, path: p, ca, cert, key }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          try {
            resolve(JSON.parse(text));
          } catch (err) {
            reject(err);
          }
        });
      });
      req.on('error', reject);
    });
  }

  /** The cluster's instances' addresses on the network (tasks and attachments), bare, as GET /tasks shows them. */
  async addressesOn(networkId: string): Promise<string[]> {
    const tasks = (await this.apiGet('/tasks')) as { NetworksAttachments?: { Network?: { ID?: string }; Addresses?: string[] }[] }[];
    const out: string[] = [];
    for (const t of tasks) for (const a of t.NetworksAttachments ?? []) if (a.Network?.ID === networkId) out.push(...(a.Addresses ?? []).map((x) => x.split('/')[0] ?? ''));
    return out;
  }

  /** The service's virtual IP on `network`, bare. */
  async vipOf(service: string, network: string): Promise<string> {
    const netId = (await this.ok(['network', 'inspect', '-f', '{{.Id}}', network])).trim();
    const vips = JSON.parse(await this.ok(['service', 'inspect', '-f', '{{json .Endpoint.VirtualIPs}}', service])) as { NetworkID: string; Addr: string }[];
    const v = vips.find((x) => x.NetworkID === netId);
    assert.ok(v, `a VIP on ${network}: ${JSON.stringify(vips)}`);
    return v.Addr.split('/')[0] ?? '';
  }

  /** The docker CLI through the gateway. */
  docker(args: readonly string[], timeout?: number): Promise<Result> {
    return run(DOCKER, args, this.gw.env, timeout);
  }

  /** The same, failing the test on a non-zero exit (with the gateway log's tail). */
  async ok(args: readonly string[], timeout?: number): Promise<string> {
    const r = await this.docker(args, timeout);
    assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}${this.postMortem(2000)}`);
    return r.stdout;
  }

  /** The gateway log's tail and any agent that died on its own, for a failure message. */
  postMortem(chars = 3000): string {
    const deaths = this.deaths.length ? `\n--- agents that exited unasked ---\n${this.deaths.join('\n')}` : '';
    return `${deaths}\n--- gateway log (tail) ---\n${this.gw.log().slice(-chars)}`;
  }

  /** Polls `check` every 500 ms; on timeout the error carries the tasks and the gateway log's tail. */
  async eventually(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) {
        const ls = await this.docker(['service', 'ls', '-q']);
        const ids = ls.stdout.trim();
        const tasks = ids ? (await this.docker(['service', 'ps', '--no-trunc', ...ids.split('\n')])).stdout : '';
        throw new Error(`timed out waiting for ${what}\n--- tasks ---\n${tasks}${this.postMortem()}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** The agent's own Docker endpoint on `h` (a unix socket in the work directory). */
  agentEndpoint(h: TestbedHost): string {
    return `unix://${path.join(this.work, h.name)}.sock`;
  }

  async startAgentOn(h: TestbedHost): Promise<void> {
    const dir = path.join(this.work, h.name);
    const child = spawn(
      'nsenter',
      [
        `--net=/var/run/netns/${h.namespace}`,
        process.execPath, path.join(repoRoot(), 'bin', 'stevedore.js'), 'agent',
        '--engine', h.dockerHost,
        '--state-dir', dir,
        '--listen-docker', this.agentEndpoint(h),
        '--wireguard-interface', wireguardInterfaceOf(h),
        // As `node add` gives agents (the test bed's engines serve their own TLS on :2376):
        // the gateway reads other nodes' logs and volumes through this endpoint.
        '--listen-docker-tcp', `${h.address}:2378`,
        '--log-level', process.env['STEVEDORE_E2E_AGENT_LOG_LEVEL'] ?? 'warn',
        ...this.agentArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // The tail of what the agent printed (pino's warnings and errors on stdout, crashes on stderr).
    let errText = '';
    const keep = (c: Buffer): void => void (errText = (errText + c.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // STEVEDORE_E2E_AGENT_LOG=DIR keeps each agent's log (pino writes to stdout) in DIR/<host>.log for a post-mortem.
    const logDir = process.env['STEVEDORE_E2E_AGENT_LOG'];
    if (logDir) {
      const log = createWriteStream(path.join(logDir, `${h.name}.log`), { flags: 'a' });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
    }
    this.agents.set(h.name, child);
    child.once('exit', (code, signal) => {
      if (this.agents.get(h.name) === child) this.deaths.push(`${h.name}: agent exited (code ${code}, signal ${signal})\n${errText}`);
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await run(DOCKER, ['-H', this.agentEndpoint(h), 'version', '--format', '{{.Server.Version}}']);
      if (r.code === 0) break;
      if (Date.now() > deadline) throw new Error(`agent on ${h.name} did not come up: ${r.stderr}\n${errText}`);
      await new Promise((r2) => setTimeout(r2, 250));
    }
  }

  /** Stops `name`'s agent (SIGKILL plays a host whose agent died). */
  stopAgent(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.agents.get(name);
    this.agents.delete(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  async joinAgent(h: TestbedHost): Promise<void> {
    await this.startAgentOn(h);
    const r = await run(process.execPath, [path.join(repoRoot(), 'bin', 'stevedore.js'), 'agent', 'join', this.manager, '--token', this.token, '--agent', this.agentEndpoint(h), '--advertise-addr', h.address]);
    assert.equal(r.code, 0, r.stderr);
  }

  /** Hostnames of the nodes `docker node ls` shows Ready. */
  async readyNodes(): Promise<string[]> {
    const out = await this.ok(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']);
    return out.split('\n').filter((l) => l.endsWith(' Ready')).map((l) => l.split(' ')[0] ?? '');
  }

  async readyWorkers(): Promise<number> {
    const out = await this.ok(['node', 'ls', '--format', '{{.Status}} {{.ManagerStatus}}']);
    return out.split('\n').filter((l) => l.trim() === 'Ready').length;
  }

  /**
   * Leaves the swarm everywhere, stops the agents and the gateway, and removes
   * the work directory. Per-host leftovers (containers, links) are the
   * caller's to remove afterwards: it knows what it made, and with every agent
   * gone nothing puts them back.
   */
  async stop(hosts: readonly TestbedHost[]): Promise<void> {
    await this.docker(['swarm', 'leave', '--force']);
    for (const h of hosts) if (this.agents.has(h.name)) await run(DOCKER, ['-H', this.agentEndpoint(h), 'swarm', 'leave', '--force']);
    for (const name of [...this.agents.keys()]) await this.stopAgent(name);
    await this.gw.stop();
    await rm(this.work, { recursive: true, force: true });
  }
}
