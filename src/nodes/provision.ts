/**
 * `node add`, `node upgrade` and `node remove` as step lists over two ports:
 * an SshSession to the host and a ClusterApi to the gateway. The node key is
 * made on the host by `stevedore agent join` and never leaves it; all we carry
 * over SSH is the agent release and the join token.
 */
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import type { ClusterApi, ClusterFacts, ClusterNode } from './cluster.js';
import {
  HostPaths,
  UnitName,
  checkScript,
  evaluateChecks,
  parseKeyValues,
  pruneReleasesCommand,
  releaseDir,
  sh,
  startCommand,
  statusCommand,
  stopCommand,
  supervisorScript,
  switchCurrentCommand,
  systemdUnit,
  type HostFacts,
} from './host.js';
import type { Release } from './release.js';
import { BundleName } from './release.js';
import { ConnectFailures, SshConnectError, describeTarget, type SshConnector, type SshSession, type SshTarget } from './session.js';
import { runSteps, stepError, type RunResult, type Step, type StepListener } from './steps.js';

export type Role = 'worker' | 'manager';
export type Availability = 'active' | 'pause' | 'drain';

export interface ProvisionDeps {
  readonly cluster: ClusterApi;
  readonly connect: SshConnector;
  readonly release: (onBuild: (what: string) => void) => Promise<Release>;
  readonly listener: StepListener;
  readonly clock?: Clock;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface HostAccess {
  readonly target: SshTarget;
  readonly privateKeys: readonly (string | Buffer)[];
  readonly agentSocket?: string;
  readonly connectTimeoutMs?: number;
}

export interface AddOptions extends HostAccess {
  readonly role?: Role;
  readonly labels?: Readonly<Record<string, string>>;
  readonly availability?: Availability;
  /** host:port of the manager the host dials; default: what the gateway advertises. */
  readonly manager?: string;
  readonly readyTimeoutMs?: number;
}

export interface RemoveOptions extends HostAccess {
  readonly force?: boolean;
  /** Also delete the releases and the agent's state directory (its log included). */
  readonly purge?: boolean;
}

export interface UpgradeOptions extends HostAccess {
  readonly readyTimeoutMs?: number;
}

export interface ProvisionResult extends RunResult {
  readonly nodeId: string | undefined;
  /** The host was a node of this swarm before `add`. */
  readonly alreadyNode: boolean;
  readonly hostname: string | undefined;
  readonly version: string | undefined;
}

/** What the steps learn and pass on. */
interface Ctx {
  session?: SshSession;
  facts?: ClusterFacts;
  host?: HostFacts;
  stateNodeId?: string;
  /** The agent did not leave (dead, or --force over a failed leave): what leaving removes is still on the host. */
  leftUncleanly?: boolean;
  existing?: ClusterNode;
  joinedNow?: boolean;
  version?: string | undefined;
  node?: ClusterNode;
}

interface StateJson {
  readonly nodeId?: string;
  readonly clusterId?: string;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sessionOf(ctx: Ctx): SshSession {
  if (ctx.session === undefined) throw stepError('system', 'no SSH session (the connect step did not run)');
  return ctx.session;
}

function hostOf(ctx: Ctx): HostFacts {
  if (ctx.host === undefined) throw stepError('system', 'the host was not checked');
  return ctx.host;
}

/** Runs a command; a non-zero exit fails the step with the command's own words. */
async function run(session: SshSession, command: string, what: string, timeoutMs = 60_000, stdin?: string): Promise<string> {
  const r = await session.exec(command, { timeoutMs, ...(stdin === undefined ? {} : { stdin }) });
  if (r.code !== 0) {
    const words = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-6).join(' | ');
    throw stepError('system', `${what} failed (exit ${r.code})${words === '' ? '' : `: ${words}`}`);
  }
  return r.stdout;
}

function isLoopback(addr: string): boolean {
  const host = addr.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

// ------------------------------------------------------------------ shared steps

function connectStep(access: HostAccess, deps: ProvisionDeps, opts: { tolerateUnreachable?: boolean } = {}): Step<Ctx> {
  return {
    name: 'connect',
    title: `connect to ${describeTarget(access.target)}`,
    async run(ctx) {
      try {
        ctx.session = await deps.connect({
          target: access.target,
          privateKeys: access.privateKeys,
          ...(access.agentSocket === undefined ? {} : { agentSocket: access.agentSocket }),
          ...(access.connectTimeoutMs === undefined ? {} : { readyTimeoutMs: access.connectTimeoutMs }),
        });
      } catch (err) {
        if (!(err instanceof SshConnectError)) throw err;
        if (opts.tolerateUnreachable === true && err.failure === ConnectFailures.unreachable) {
          return { skipped: true, summary: `${err.message}; --force: removing the node from the swarm only` };
        }
        const kind = err.failure === ConnectFailures.auth ? 'unauthorized' : err.failure === ConnectFailures.unreachable ? 'unavailable' : 'system';
        throw stepError(kind, err.message, err);
      }
      return { summary: 'connected' };
    },
  };
}

const checkStep: Step<Ctx> = {
  name: 'check',
  title: 'check the host (Node.js, engine, vxlan, iptables)',
  async run(ctx) {
    const r = await sessionOf(ctx).exec('sh -s', { stdin: checkScript, timeoutMs: 30_000 });
    const report = evaluateChecks(r.stdout);
    if (report.facts === undefined) throw stepError('invalidParameter', `the host is not ready for an agent: ${report.problems.join('; ')}`);
    ctx.host = report.facts;
    const f = report.facts;
    return { summary: `${f.hostname}: node ${f.nodeVersion}, engine ${f.engine}, supervisor ${f.supervisor}` };
  },
};

async function readState(session: SshSession): Promise<StateJson | undefined> {
  const r = await session.exec(`cat ${HostPaths.stateFile} 2>/dev/null`, { timeoutMs: 15_000 });
  if (r.code !== 0 || r.stdout.trim() === '') return undefined;
  try {
    return JSON.parse(r.stdout) as StateJson;
  } catch {
    throw stepError('system', `${HostPaths.stateFile} on the host is not JSON`);
  }
}

const forgetCommand = `rm -f ${['node.key', 'node.crt', 'ca.crt', 'state.json'].map((f) => `${HostPaths.state}/${f}`).join(' ')}`;

function installStep(deps: ProvisionDeps, opts: { skipWhenExisting: boolean }): Step<Ctx> {
  return {
    name: 'install',
    title: 'install the agent',
    async run(ctx, progress) {
      const session = sessionOf(ctx);
      const host = hostOf(ctx);
      if (opts.skipWhenExisting && ctx.existing !== undefined) {
        const current = (await session.exec(`readlink ${HostPaths.current}`)).stdout.trim();
        ctx.version = current || undefined;
        return { skipped: true, summary: `already a node; release ${current || '?'} kept (use \`stevedore node upgrade\`)` };
      }
      const release = await deps.release(progress);
      ctx.version = release.version;
      const dir = releaseDir(release.version);
      // One round trip before the uploads and one after: every exec starts a shell on the host.
      const pre = parseKeyValues(
        await run(
          session,
          `mkdir -p ${sh(dir)} ${HostPaths.state} ${HostPaths.run} && echo "sha=$(sha256sum ${sh(dir)}/${BundleName} 2>/dev/null | cut -d' ' -f1)" && echo "current=$(readlink ${HostPaths.current})"`,
          'preparing the release directory',
        ),
      );
      const before = pre.get('current') ?? '';
      let uploaded = 0;
      if (pre.get('sha') !== release.sha256) {
        for (const f of release.files) {
          progress(`uploading ${f.name} (${(f.data.length / 1e6).toFixed(1)} MB)`);
          await session.upload(`${dir}/${f.name}`, f.data, f.mode);
          uploaded += f.data.length;
        }
      }
      // Host-specific (the node path): always written, by rename, so a running supervisor keeps its own copy.
      await session.upload(`${dir}/supervise.sh`, supervisorScript(host.nodePath), 0o755);
      await run(
        session,
        `${switchCurrentCommand(release.version)} && ${pruneReleasesCommand([release.version, ...(before === '' ? [] : [before])])}`,
        'switching current',
      );
      const what = uploaded > 0 ? `uploaded ${(uploaded / 1e6).toFixed(1)} MB` : 'already on the host';
      return { summary: `release ${release.version} (${what})${before !== '' && before !== release.version ? `, was ${before}` : ''}` };
    },
  };
}

async function supervisorRunning(session: SshSession, host: HostFacts): Promise<boolean> {
  return (await session.exec(statusCommand(host.supervisor))).stdout.startsWith('running');
}

function startStep(opts: { restart: boolean }): Step<Ctx> {
  return {
    name: 'start',
    title: 'start the agent',
    async run(ctx) {
      const session = sessionOf(ctx);
      const host = hostOf(ctx);
      // A fresh identity (or a new release) is read at the agent's start: restart one that runs.
      const restart = opts.restart || ctx.joinedNow === true;
      if (host.supervisor === 'systemd') await session.upload(HostPaths.unit, systemdUnit(host.nodePath), 0o644);
      const command = restart ? `${stopCommand(host.supervisor)}\n${startCommand(host.supervisor)}` : startCommand(host.supervisor);
      const out = (await run(session, command, 'starting the agent', 45_000)).trim();
      const how = host.supervisor === 'systemd' ? UnitName : `setsid supervisor, log ${HostPaths.log}`;
      if (out.startsWith('running ')) return { skipped: true, summary: `already running: ${out.slice('running '.length)} (${how})` };
      return { summary: `${out.replace(/^started /, '') || 'started'} (${how})` };
    },
  };
}

function readyStep(deps: ProvisionDeps, timeoutMs: number): Step<Ctx> {
  const clock = deps.clock ?? systemClock;
  const sleep = deps.sleep ?? defaultSleep;
  return {
    name: 'ready',
    title: 'wait for the node to be Ready',
    async run(ctx, progress) {
      const id = ctx.stateNodeId;
      if (id === undefined) throw stepError('system', 'no node id on the host');
      const until = clock.now() + timeoutMs;
      let last = '';
      for (;;) {
        const node = await deps.cluster.node(id);
        const state = node?.state ?? 'absent';
        if (node !== undefined && state === 'ready') {
          ctx.node = node;
          return { summary: `node ${id.slice(0, 12)} (${node.hostname}) is Ready` };
        }
        if (state !== last) progress(`node ${id.slice(0, 12)} is ${state}`);
        last = state;
        if (clock.now() >= until) {
          const log = ctx.session === undefined ? '' : (await ctx.session.exec(`tail -n 5 ${HostPaths.log} 2>/dev/null`)).stdout.trim().replaceAll('\n', ' | ');
          throw stepError('unavailable', `node ${id} is still ${state} after ${timeoutMs / 1000}s${log === '' ? '' : `; agent log: ${log}`}`);
        }
        await sleep(250);
      }
    },
  };
}

// ------------------------------------------------------------------ node add

export async function addNode(options: AddOptions, deps: ProvisionDeps): Promise<ProvisionResult> {
  const role = options.role ?? 'worker';
  const ctx: Ctx = {};
  const steps: Step<Ctx>[] = [
    {
      name: 'swarm',
      title: 'read the join token and manager address from the gateway',
      async run(c) {
        const facts = await deps.cluster.facts();
        const manager = options.manager ?? facts.managerAddr;
        if (manager === undefined) throw stepError('unavailable', 'the gateway names no manager address (GET /info Swarm.RemoteManagers)');
        if (options.manager === undefined && isLoopback(manager)) {
          throw stepError(
            'invalidParameter',
            `the gateway advertises ${manager}, which ${options.target.host} cannot reach: init the swarm with --advertise-addr an address the hosts reach, or pass --manager ADDR:PORT`,
          );
        }
        const token = role === 'manager' ? facts.joinTokens.manager : facts.joinTokens.worker;
        if (token === '') throw stepError('unavailable', `the gateway gave no ${role} join token`);
        c.facts = { ...facts, managerAddr: manager };
        return { summary: `cluster ${facts.clusterId.slice(0, 12)}, manager ${manager}` };
      },
    },
    connectStep(options, deps),
    checkStep,
    {
      name: 'membership',
      title: 'look for an existing node on the host',
      async run(c) {
        const session = sessionOf(c);
        const state = await readState(session);
        if (state?.nodeId === undefined) return { summary: 'none' };
        const clusterId = c.facts?.clusterId ?? '';
        if (state.clusterId !== undefined && state.clusterId !== clusterId) {
          throw stepError(
            'conflict',
            `the host is already node ${state.nodeId} of another swarm (cluster ${state.clusterId}); run \`stevedore node remove\` against that swarm first`,
          );
        }
        const node = await deps.cluster.node(state.nodeId);
        if (node === undefined) {
          // Removed from this swarm while the host kept its identity: a rejoin needs a fresh one.
          await run(session, forgetCommand, 'clearing the stale identity');
          return { summary: `node ${state.nodeId} was removed from the swarm; its identity on the host was cleared` };
        }
        c.existing = node;
        c.stateNodeId = node.id;
        return { summary: `already node ${node.id.slice(0, 12)} (${node.hostname}, ${node.state})` };
      },
    },
    installStep(deps, { skipWhenExisting: true }),
    {
      name: 'join',
      title: 'join the swarm',
      async run(c) {
        if (c.existing !== undefined) return { skipped: true, summary: `already node ${c.existing.id.slice(0, 12)}` };
        const session = sessionOf(c);
        const host = hostOf(c);
        const facts = c.facts;
        if (facts?.managerAddr === undefined) throw stepError('system', 'no manager address');
        const token = role === 'manager' ? facts.joinTokens.manager : facts.joinTokens.worker;
        const cmd = [sh(host.nodePath), `${HostPaths.current}/${BundleName}`, 'agent', 'join', '--state-dir', HostPaths.state, '--token', sh(token), sh(facts.managerAddr)].join(' ');
        const marker = '--- state.json ---';
        const r = await session.exec(`${cmd} && echo ${sh(marker)} && cat ${HostPaths.stateFile}`, { timeoutMs: 60_000 });
        if (r.code !== 0) {
          const why = (r.stderr.trim() || r.stdout.trim()).replace(/^stevedore: /, '');
          throw stepError(/already part of a swarm/.test(why) ? 'conflict' : 'unavailable', why === '' ? `agent join exited ${r.code}` : why);
        }
        let state: StateJson | undefined;
        try {
          state = JSON.parse(r.stdout.slice(r.stdout.indexOf(marker) + marker.length)) as StateJson;
        } catch {
          state = undefined;
        }
        if (state?.nodeId === undefined) throw stepError('system', `joined, but ${HostPaths.stateFile} names no node`);
        c.stateNodeId = state.nodeId;
        c.joinedNow = true;
        return { summary: `node ${state.nodeId.slice(0, 12)} as a ${role} (key made on the host)` };
      },
    },
    startStep({ restart: false }),
    readyStep(deps, options.readyTimeoutMs ?? 60_000),
    {
      name: 'apply',
      title: 'apply labels and availability',
      async run(c) {
        const labels = options.labels ?? {};
        const changes = [...Object.entries(labels).map(([k, v]) => `${k}=${v}`), ...(options.availability === undefined ? [] : [`availability ${options.availability}`])];
        if (changes.length === 0) return { skipped: true, summary: 'nothing asked' };
        const id = c.stateNodeId ?? '';
        for (let attempt = 0; ; attempt++) {
          const node = await deps.cluster.node(id);
          if (node === undefined) throw stepError('notFound', `node ${id} disappeared`);
          const spec = {
            ...node.spec,
            Labels: { ...((node.spec['Labels'] as Record<string, string> | undefined) ?? {}), ...labels },
            ...(options.availability === undefined ? {} : { Availability: options.availability }),
          };
          try {
            await deps.cluster.updateNode(id, node.version, spec);
            break;
          } catch (err) {
            // Someone else updated the node between our read and write (Swarm: "update out of sequence"): read again.
            if (attempt >= 2 || !/out of sequence/.test((err as Error).message)) throw err;
          }
        }
        return { summary: changes.join(', ') };
      },
    },
  ];
  try {
    const result = await runSteps(describeTarget(options.target), steps, ctx, deps.listener, deps.clock);
    return { ...result, nodeId: ctx.stateNodeId, alreadyNode: ctx.existing !== undefined, hostname: ctx.host?.hostname, version: ctx.version };
  } finally {
    ctx.session?.close();
  }
}

// ------------------------------------------------------------------ node upgrade

export async function upgradeNode(options: UpgradeOptions, deps: ProvisionDeps): Promise<ProvisionResult> {
  const ctx: Ctx = {};
  const steps: Step<Ctx>[] = [
    connectStep(options, deps),
    checkStep,
    {
      name: 'membership',
      title: 'find the agent on the host',
      async run(c) {
        const session = sessionOf(c);
        const current = (await session.exec(`readlink ${HostPaths.current}`)).stdout.trim();
        if (current === '') throw stepError('notFound', 'no agent is installed on the host: use `stevedore node add`');
        const state = await readState(session);
        if (state?.nodeId !== undefined) c.stateNodeId = state.nodeId;
        return { summary: `release ${current}${state?.nodeId === undefined ? ', not joined' : `, node ${state.nodeId.slice(0, 12)}`}` };
      },
    },
    installStep(deps, { skipWhenExisting: false }),
    // Stop + start: the agent re-adopts its running containers from their labels (live-restore).
    startStep({ restart: true }),
    {
      ...readyStep(deps, options.readyTimeoutMs ?? 60_000),
      async run(c, progress) {
        if (c.stateNodeId === undefined) return { skipped: true, summary: 'not joined to a swarm' };
        return readyStep(deps, options.readyTimeoutMs ?? 60_000).run(c, progress);
      },
    },
  ];
  try {
    const result = await runSteps(describeTarget(options.target), steps, ctx, deps.listener, deps.clock);
    return { ...result, nodeId: ctx.stateNodeId, alreadyNode: true, hostname: ctx.host?.hostname, version: ctx.version };
  } finally {
    ctx.session?.close();
  }
}

// ------------------------------------------------------------------ node remove

export async function removeNode(options: RemoveOptions, deps: ProvisionDeps): Promise<ProvisionResult> {
  const ctx: Ctx = {};
  const force = options.force === true;
  const clock = deps.clock ?? systemClock;
  const sleep = deps.sleep ?? defaultSleep;
  const steps: Step<Ctx>[] = [
    connectStep(options, deps, { tolerateUnreachable: force }),
    {
      name: 'membership',
      title: 'find the node',
      async run(c) {
        if (c.session !== undefined) {
          const state = await readState(c.session);
          if (state?.nodeId !== undefined) {
            c.stateNodeId = state.nodeId;
            return { summary: `node ${state.nodeId.slice(0, 12)} (from the host)` };
          }
        }
        // Not on the host (never joined, already left, or unreachable): the swarm may still list it by address.
        const byAddr = (await deps.cluster.nodes()).filter((n) => n.addr === options.target.host);
        if (byAddr.length === 1 && byAddr[0] !== undefined) {
          c.stateNodeId = byAddr[0].id;
          return { summary: `node ${byAddr[0].id.slice(0, 12)} (by its address ${options.target.host})` };
        }
        return { summary: byAddr.length > 1 ? `${byAddr.length} nodes have address ${options.target.host}; none removed from the swarm` : 'the host is not a node' };
      },
    },
    {
      name: 'leave',
      title: 'leave the swarm (through the agent)',
      async run(c) {
        const session = c.session;
        if (session === undefined) return { skipped: true, summary: 'host unreachable' };
        if ((await readState(session)) === undefined) return { skipped: true, summary: 'not joined' };
        c.host ??= await hostFactsForRemove(session);
        if (await supervisorRunning(session, c.host)) {
          const cmd = [sh(c.host.nodePath), `${HostPaths.current}/${BundleName}`, 'agent', 'leave', '--agent', `unix://${HostPaths.agentSocket}`].join(' ');
          const r = await session.exec(cmd, { timeoutMs: 60_000 });
          if (r.code === 0) return { summary: r.stdout.trim() || 'left' };
          if (!force) throw stepError('unavailable', `the agent could not leave: ${(r.stderr.trim() || r.stdout.trim()).replace(/^stevedore: /, '')} (--force removes the node anyway)`);
        } else if (!force) {
          throw stepError('unavailable', 'the agent is not running, so it cannot leave cleanly (--force forgets its identity and removes the node anyway)');
        }
        await run(session, forgetCommand, 'forgetting the identity');
        c.leftUncleanly = true;
        return { summary: 'identity forgotten on the host (--force)' };
      },
    },
    {
      name: 'stop',
      title: 'stop and remove the agent',
      async run(c) {
        const session = c.session;
        if (session === undefined) return { skipped: true, summary: 'host unreachable' };
        c.host ??= await hostFactsForRemove(session);
        await run(session, stopCommand(c.host.supervisor), 'stopping the agent', 30_000);
        if (c.host.supervisor === 'systemd') await run(session, `systemctl disable ${UnitName} 2>/dev/null; rm -f ${HostPaths.unit}; systemctl daemon-reload`, 'removing the unit');
        let cleaned = '';
        if (c.leftUncleanly === true) {
          // A leaving agent removes its containers, secrets tmpfs, overlays and mesh rules; one that could not leave left them
          // (and `--purge` cannot empty a state directory with the tmpfs still mounted in it): the same, from outside.
          const cmd = [sh(c.host.nodePath), `${HostPaths.current}/${BundleName}`, 'agent', 'clean-host', '--remove-containers', '--engine', `unix://${HostPaths.engineSocket}`, '--state-dir', HostPaths.state].join(' ');
          const r = await session.exec(cmd, { timeoutMs: 120_000 });
          cleaned = r.code === 0 ? `; ${r.stdout.trim().split('\n').join('; ')}` : `; cleaning the host failed: ${(r.stderr.trim() || r.stdout.trim()).slice(0, 300)}`;
        }
        if (options.purge === true) {
          await run(session, `rm -rf ${HostPaths.releases}/* ${HostPaths.state}/* ${HostPaths.run}/*`, 'purging');
          return { summary: `stopped; ${HostPaths.releases} and ${HostPaths.state} emptied${cleaned}` };
        }
        return { summary: `stopped (releases kept in ${HostPaths.releases}; --purge removes them)${cleaned}` };
      },
    },
    {
      name: 'delete',
      title: 'remove the node from the swarm',
      async run(c, progress) {
        const id = c.stateNodeId;
        if (id === undefined) return { skipped: true, summary: 'no node to remove' };
        // A node that just left goes down when its session closes; Swarm refuses to remove a ready one without --force.
        const until = clock.now() + 15_000;
        for (;;) {
          const node = await deps.cluster.node(id);
          if (node === undefined) return { summary: `node ${id.slice(0, 12)} already gone` };
          if (node.state !== 'ready' || force || clock.now() >= until) break;
          progress(`node ${id.slice(0, 12)} is still ready`);
          await sleep(250);
        }
        await deps.cluster.removeNode(id, force);
        return { summary: `node ${id.slice(0, 12)} removed` };
      },
    },
  ];
  try {
    const result = await runSteps(describeTarget(options.target), steps, ctx, deps.listener, deps.clock);
    return { ...result, nodeId: ctx.stateNodeId, alreadyNode: false, hostname: ctx.host?.hostname, version: undefined };
  } finally {
    ctx.session?.close();
  }
}

/** Remove needs only the supervisor kind and node path, not a fit host. */
async function hostFactsForRemove(session: SshSession): Promise<HostFacts> {
  const r = await session.exec(
    'echo "node=$(command -v node)"; [ -d /run/systemd/system ] && command -v systemctl >/dev/null && echo supervisor=systemd; echo "hostname=$(hostname)"',
  );
  const kv = parseKeyValues(r.stdout);
  return {
    nodePath: kv.get('node') || 'node',
    supervisor: kv.get('supervisor') === 'systemd' ? 'systemd' : 'setsid',
    hostname: kv.get('hostname') ?? '',
    nodeVersion: '',
    engine: '',
  };
}
