import path from 'node:path';
import type { HeartbeatResponse, RenewResponse, RestartNoticeRequest, SessionMessage, SessionRequest, StatusUpdateRequest } from '../dispatcher/protocol.js';
import { Engine, parseEngineUrl } from '../engine/index.js';
import { createNodeKeyAndCsr, readCertificate } from '../pki/index.js';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import { StevedoreError, unavailable } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { backoffDelay, defaultBackoff, nextManager, type BackoffPolicy } from './backoff.js';
import { sameDescription } from './describe.js';
import { DockerExecutor, type Executor } from './exec/executor.js';
import type { TranslateInstance } from './exec/container-config.js';
import { hostFilesDir, TmpfsHostFiles, type HostFiles } from './secrets.js';
import { joinCluster } from './join.js';
import { planRenewal, retryRenewalIn } from './renewal.js';
import { ManagerConnection } from './session/connection.js';
import { StateDir, type NodeIdentity } from './state-dir.js';
import { StatusReporter } from './status-reporter.js';
import { hostOf, swarmInfo, type AgentView, type LocalNodeState, type SwarmInfo } from './swarm-info.js';
import { sleep, systemTimers, type Timers } from './timers.js';
import { Worker } from './worker.js';
import { withTlsInfo } from './tls-info.js';
import { swarmContainerConfig, swarmTranslation } from './exec/translate.js';
import type { OverlayDriver } from './network/driver.js';
import { AgentOverlays } from './overlay.js';
import { EngineSandboxes } from './sandboxes.js';
import { AgentDiscovery, withNameservers, type AgentDiscoveryOptions } from './discovery.js';
import { itemsOfKind } from './assignments.js';
import { ContainerAttachments } from './attachments.js';
import { ExecRunner } from './network/runner.js';
import { AgentMesh, withMeshTasks } from './mesh.js';
import { withHostPorts } from './exec/host-ports.js';
import { NsenterNft } from './network/netns-nft.js';
import { makeOverlayDriver, overlayNetworkIdsOnEngine, type OverlayHostOptions } from './overlay-host.js';
import type { Instance, NodeDescription } from '../model/index.js';

/**
 * The agent: one per host. It keeps the node's identity (StateDir), holds one
 * session with a manager (reconnecting with backoff to any manager it knows),
 * hands assignments to the Worker and reports what the Worker observes. Swarm's
 * agent/agent.go + session.go, over our HTTP/2 dispatcher protocol.
 */
export interface AgentOptions {
  readonly engine: Engine | string;
  readonly stateDir: string;
  readonly log?: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly random?: () => number;
  readonly executor?: Executor;
  readonly backoff?: BackoffPolicy;
  /** How often the engine is asked whether the node description changed. */
  readonly describeIntervalMs?: number;
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
  /** The agent's TLS Docker endpoint ("ADDR:PORT"), announced to the manager at join and session as `tcp://HOST:PORT`. */
  readonly dockerTcpListen?: string;
  /** Where the agent mounts its tmpfs for secrets and configs (`<runDir>/files`); `<stateDir>/run` by default. */
  readonly runDir?: string;
  /** Instance → container-create request (src/translate's by default); ignored with `executor`. */
  readonly translate?: TranslateInstance;
  /** Secrets and configs on the host; a tmpfs under `runDir` by default. */
  readonly files?: HostFiles;
  /**
   * Build the overlay networks of this host's instances (src/agent/network):
   * `stevedore agent` turns it on, and so does the gateway for its in-process
   * agent when it shares its engine's network namespace (src/gateway/engine-netns.ts).
   * Off (the default), instances ignore their networks. Needs the default executor.
   */
  readonly overlay?: boolean | OverlayHostOptions;
  /**
   * Service discovery and VIP balancing on those overlays (src/agent/discovery.ts);
   * on whenever overlays are, `false` turns it off.
   */
  readonly discovery?: false | AgentDiscoveryOptions;
  /**
   * Instance sandboxes (src/agent/sandboxes.ts): on whenever the engine has the
   * `stevedore` runtime registered (bin/stevedore-runc), `false` turns them off.
   * Needs the default executor.
   */
  readonly sandbox?: boolean;
}

export interface JoinParams {
  readonly token: string;
  readonly remoteAddrs: readonly string[];
  readonly advertiseAddr?: string;
  readonly availability?: 'active' | 'pause' | 'drain';
}

export const AlreadyInSwarmMessage = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
export const NotInSwarmMessage = 'This node is not part of a swarm';

export class Agent {
  readonly engine: Engine;
  readonly log: Logger;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly executor: Executor;
  private readonly state: StateDir;
  private readonly reporter: StatusReporter;
  readonly worker: Worker;
  private readonly ownsEngine: boolean;
  readonly files: HostFiles;
  /** The overlay side of the worker, when this agent builds overlays. */
  readonly overlays: AgentOverlays | undefined;
  /** Service discovery on those overlays, when on. */
  readonly discovery: AgentDiscovery | undefined;
  /** The routing mesh (with overlays on). */
  readonly mesh: AgentMesh | undefined;
  /** Standalone containers on attachable overlays (with overlays on): used by the Docker endpoints. */
  readonly attachments: ContainerAttachments | undefined;
  /** Instance sandboxes, unless turned off (they switch themselves off on an engine without our runtime). */
  readonly sandboxes: EngineSandboxes | undefined;
  private overlayDriverFor: { readonly address: string; readonly driver: Promise<OverlayDriver> } | undefined;

  private identity: NodeIdentity | undefined;
  private localState: LocalNodeState = 'inactive';
  private lastError = '';
  private running = false;
  private loop: Promise<void> | undefined;
  private loopStop: AbortController | undefined;
  private conn: ManagerConnection | undefined;
  private sessionId: string | undefined;
  private description: NodeDescription | undefined;
  private sessionWaiters: ((err?: Error) => void)[] = [];
  private readonly identityListeners = new Set<(id: NodeIdentity | undefined) => void>();

  constructor(private readonly opts: AgentOptions) {
    this.ownsEngine = typeof opts.engine === 'string';
    this.engine = typeof opts.engine === 'string' ? new Engine(parseEngineUrl(opts.engine)) : opts.engine;
    this.log = (opts.log ?? silentLogger).child({ component: 'agent' });
    this.clock = opts.clock ?? systemClock;
    this.timers = opts.timers ?? systemTimers;
    this.random = opts.random ?? Math.random;
    this.files = opts.files ?? new TmpfsHostFiles({ dir: hostFilesDir(opts.stateDir, opts.runDir), log: this.log });
    const overlayOn = opts.overlay !== undefined && opts.overlay !== false;
    this.overlays = overlayOn
      ? new AgentOverlays({
          driver: () => this.overlayDriver(),
          listOnEngine: () => overlayNetworkIdsOnEngine(this.engine),
          log: this.log.child({ component: 'overlay' }),
          timers: this.timers,
        })
      : undefined;
    const overlays = this.overlays;
    const discovery = (this.discovery =
      overlays === undefined || opts.discovery === false
        ? undefined
        : new AgentDiscovery({
            log: this.log.child({ component: 'discovery' }),
            timers: this.timers,
            random: this.random,
            network: (id) => {
              const a = this.worker.assignments.items.get(`network/${id}`);
              return a?.kind === 'network' ? a.network : undefined;
            },
            localInstances: () => itemsOfKind(this.worker.assignments, 'instance').map((a) => a.instance as Instance),
            firewall: new NsenterNft(new ExecRunner()),
            ...(opts.discovery ?? {}),
          }));
    // The containers join the overlays the worker made for them, at the allocator's addresses.
    // With discovery, aliases are ours to answer (as the service's VIP, cluster-wide), not the
    // engine's (it would answer them with the local containers only), and the DNS server is ours.
    const mesh = (this.mesh =
      overlays === undefined
        ? undefined
        : new AgentMesh({
            overlays,
            host: new ExecRunner(),
            inContainer: (pid) => new ExecRunner(`/proc/${pid}/ns/net`),
            log: this.log.child({ component: 'mesh' }),
            timers: this.timers,
          }));
    const translate0 =
      opts.translate ??
      (overlays === undefined
        ? undefined
        : discovery === undefined
          ? swarmTranslation((i) => overlays.attached(i))
          : withNameservers(swarmTranslation((i) => overlays.attached(i).map((a) => ({ ...a, aliases: [] }))), (i) => discovery.nameserversFor(i)));
    const translate = opts.translate ?? withHostPorts(translate0 ?? swarmContainerConfig);
    this.sandboxes =
      opts.executor === undefined && opts.sandbox !== false
        ? new EngineSandboxes({ engine: this.engine, dir: path.join(opts.stateDir, 'sandboxes'), log: this.log.child({ component: 'sandboxes' }) })
        : undefined;
    this.executor =
      opts.executor ??
      new DockerExecutor(this.engine, { files: this.files, ...(translate === undefined ? {} : { translate }), ...(this.sandboxes === undefined ? {} : { sandboxes: this.sandboxes }) });
    this.state = new StateDir(opts.stateDir);
    this.reporter = new StatusReporter(this.log);
    const instanceItems = (): Instance[] => itemsOfKind(this.worker.assignments, 'instance').map((a) => a.instance as Instance);
    this.attachments =
      overlays === undefined
        ? undefined
        : new ContainerAttachments({
            engine: this.engine,
            call: (path, body) => this.managerCall(path, body),
            joined: () => this.identity !== undefined,
            instance: (id) => {
              const a = this.worker.assignments.items.get(`instance/${id}`);
              return a?.kind === 'instance' ? (a.instance as Instance) : undefined;
            },
            instances: instanceItems,
            overlays,
            ...(discovery === undefined ? {} : { discovery }),
            clock: this.clock,
            timers: this.timers,
            log: this.log.child({ component: 'attachments' }),
          });
    this.worker = new Worker({
      executor: this.executor,
      clock: this.clock,
      timers: this.timers,
      log: this.log,
      random: this.random,
      report: (id, status) => this.reporter.report(id, status),
      files: this.files,
      ...(this.overlays === undefined ? {} : { networks: this.overlays }),
      ...(mesh === undefined ? (discovery === undefined ? {} : { discovery }) : { discovery: withMeshTasks(discovery, mesh), mesh }),
      ...(this.attachments === undefined ? {} : { attachments: this.attachments }),
    });
  }

  /**
   * A call to the manager on the open session's connection (standalone
   * containers' network attachments); `unavailable` while there is none.
   */
  async managerCall<T>(path: string, body: unknown): Promise<T> {
    if (this.identity === undefined) throw unavailable(NotInSwarmMessage);
    if (this.conn === undefined || this.sessionId === undefined) await this.waitForSession(10_000).catch(() => undefined);
    const conn = this.conn;
    if (conn === undefined) throw unavailable('this node has no session with a manager; try again');
    return conn.call<T>(path, body);
  }

  /**
   * The host's overlay driver, made on first use for the node's advertised
   * address (peers reach this host there; the manager hands it to them as
   * the node's status address). Made again if a new join changes it.
   */
  private overlayDriver(): Promise<OverlayDriver> {
    const id = this.identity;
    if (id === undefined) return Promise.reject(unavailable(NotInSwarmMessage));
    const address = hostOf(id.advertiseAddr);
    if (address === '') return Promise.reject(unavailable(`overlay networks need this node's advertise address (it has ${JSON.stringify(id.advertiseAddr)})`));
    if (this.overlayDriverFor?.address !== address) {
      const host: OverlayHostOptions = typeof this.opts.overlay === 'object' ? this.opts.overlay : {};
      const driver = makeOverlayDriver({ engine: this.engine, underlayAddress: address, stateDir: this.opts.stateDir, host, log: this.log });
      driver.catch(() => undefined);
      this.overlayDriverFor = { address, driver };
    }
    return this.overlayDriverFor.driver;
  }

  /** This host's WireGuard public key for the session, if it can run encrypted overlays. */
  private async wireguardKey(): Promise<string | undefined> {
    if (this.overlays === undefined) return undefined;
    try {
      return await (await this.overlayDriver()).wireguardPublicKey();
    } catch (err) {
      this.log.warn({ err }, 'no WireGuard key on this host: encrypted overlays will be refused here');
      return undefined;
    }
  }

  /** Loads the identity; a joined node opens its session at once (no token needed). */
  async start(): Promise<void> {
    this.running = true;
    this.identity = await this.state.load();
    if (this.identity !== undefined) {
      this.localState = 'active';
      this.startLoop();
    }
  }

  nodeId(): string | undefined {
    return this.identity?.nodeId;
  }

  currentIdentity(): NodeIdentity | undefined {
    return this.identity;
  }

  /** Called with the new identity after a join, a renewal, or a leave (undefined). */
  onIdentity(listener: (id: NodeIdentity | undefined) => void): () => void {
    this.identityListeners.add(listener);
    return () => this.identityListeners.delete(listener);
  }

  view(): AgentView {
    const id = this.identity;
    return {
      state: this.localState,
      ...(id === undefined ? {} : { nodeId: id.nodeId, advertiseAddr: id.advertiseAddr }),
      managers: id?.managers ?? [],
      error: this.lastError,
    };
  }

  swarmInfo(): SwarmInfo {
    return swarmInfo(this.view());
  }

  get connected(): boolean {
    return this.sessionId !== undefined;
  }

  /** `docker swarm join`: returns once the first session is open (as Docker's join waits for the node to be ready). */
  async join(params: JoinParams, opts: { readonly waitMs?: number } = {}): Promise<void> {
    if (this.identity !== undefined || this.localState === 'pending') throw unavailable(AlreadyInSwarmMessage);
    this.localState = 'pending';
    this.lastError = '';
    try {
      const description = await this.executor.describe();
      const identity = await joinCluster({
        token: params.token,
        remoteAddrs: params.remoteAddrs,
        description,
        engineEndpoint: (advertiseAddr) => engineEndpointFor(this.opts.dockerTcpListen, advertiseAddr),
        ...(params.advertiseAddr === undefined ? {} : { advertiseAddr: params.advertiseAddr }),
        ...(params.availability === undefined ? {} : { availability: params.availability }),
      });
      await this.state.save(identity);
      this.identity = identity;
      this.localState = 'active';
      this.emitIdentity();
      this.log.info({ nodeId: identity.nodeId, managers: identity.managers }, 'joined the cluster');
    } catch (err) {
      this.localState = 'inactive';
      throw err;
    }
    const opened = this.waitForSession(opts.waitMs ?? 20_000);
    this.startLoop();
    await opened;
  }

  /** `docker swarm leave` (or the manager's `leave`): stop every instance, forget the cluster. */
  async leave(reason = 'left the cluster'): Promise<void> {
    if (this.identity === undefined) throw unavailable(NotInSwarmMessage);
    this.log.info({ reason }, 'leaving the cluster');
    await this.stopLoop();
    await this.worker.leave();
    await this.sandboxes?.removeNetwork();
    await this.mesh?.leave().catch((err: unknown) => this.log.warn({ err }, 'removing the routing mesh\'s host rules failed'));
    await this.files.purge().catch((err: unknown) => this.log.warn({ err }, 'removing the secrets tmpfs failed'));
    await this.state.forget();
    this.identity = undefined;
    this.localState = 'inactive';
    this.lastError = '';
    this.emitIdentity();
  }

  /** Stop the agent; containers keep running and are re-adopted by the next agent on this state dir. */
  async stop(): Promise<void> {
    this.running = false;
    await this.noticeRestart();
    await this.stopLoop();
    await this.worker.stop();
    // A network that just left the set may still be waiting for its teardown; a short wait, then the next agent's full set finishes it.
    await this.overlays?.settle(2_000);
    this.overlays?.close();
    this.mesh?.close();
    await this.discovery?.close();
    await this.files.close().catch((err: unknown) => this.log.warn({ err }, 'closing the secrets tmpfs failed'));
    this.reporter.stop();
    if (this.ownsEngine) this.engine.close();
  }

  /**
   * Tells the manager this agent will be back (its containers stay): the node
   * goes down as restarting, and its instances are held for the longer grace.
   * Best effort and quick: a manager that does not answer treats the stop as
   * a lost node, which is only slower to recover from, never wrong.
   */
  private async noticeRestart(): Promise<void> {
    const conn = this.conn;
    const sessionId = this.sessionId;
    if (conn === undefined || sessionId === undefined) return;
    const body: RestartNoticeRequest = { sessionId };
    await conn.call<unknown>('/session/restart', body, 1_000).catch((err: unknown) => this.log.debug({ err }, 'the restart notice was not delivered'));
  }

  private emitIdentity(): void {
    for (const l of this.identityListeners) l(this.identity);
  }

  private waitForSession(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.sessionWaiters = this.sessionWaiters.filter((w) => w !== done);
        // Joined all the same: the session keeps trying in the background, as Docker's join does after its timeout.
        resolve();
      }, ms);
      const done = (err?: Error) => {
        this.timers.clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      this.sessionWaiters.push(done);
    });
  }

  private startLoop(): void {
    if (this.loop !== undefined || !this.running) return;
    const stop = new AbortController();
    this.loopStop = stop;
    this.loop = this.sessionLoop(stop.signal).finally(() => {
      this.loop = undefined;
    });
  }

  private async stopLoop(): Promise<void> {
    this.loopStop?.abort();
    this.conn?.close();
    await this.loop;
    this.loopStop = undefined;
  }

  /** Dial, open a session, live in it until it ends, back off, dial the next manager. */
  private async sessionLoop(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    let renewal: RenewalTimer | undefined;
    try {
      renewal = this.scheduleRenewal(signal);
      while (!signal.aborted && this.identity !== undefined) {
        const addr = nextManager(this.identity.managers, attempt);
        if (addr === undefined) break;
        try {
          const established = await this.runSession(addr, this.identity, signal);
          if (established) attempt = 0;
        } catch (err) {
          if (signal.aborted) break;
          this.lastError = err instanceof Error ? err.message : String(err);
          this.log.warn({ err, manager: addr }, 'session with the manager failed');
          if (err instanceof StevedoreError && (err.kind === 'forbidden' || err.kind === 'unauthorized')) {
            // A removed node's certificate is refused for good (Swarm: "node is removed"): stop, forget.
            for (const w of this.sessionWaiters.splice(0)) w(err);
          }
        }
        if (signal.aborted || this.identity === undefined) break;
        const wait = backoffDelay(attempt++, this.random, this.opts.backoff ?? defaultBackoff);
        await sleep(this.timers, wait, signal);
      }
    } finally {
      renewal?.cancel();
    }
  }

  /** One session; true once the manager said `session` (so the next failure starts the backoff afresh). */
  private async runSession(addr: string, identity: NodeIdentity, signal: AbortSignal): Promise<boolean> {
    const conn = await ManagerConnection.connect({
      addr,
      trust: { kind: 'mutual', caPem: identity.caPem, certPem: identity.certPem, keyPem: identity.keyPem },
      ...(this.opts.pingIntervalMs === undefined ? {} : { pingIntervalMs: this.opts.pingIntervalMs }),
      ...(this.opts.pingTimeoutMs === undefined ? {} : { pingTimeoutMs: this.opts.pingTimeoutMs }),
    });
    this.conn = conn;
    let established = false;
    const sessionEnd = new AbortController();
    const endSession = () => sessionEnd.abort();
    signal.addEventListener('abort', endSession, { once: true });
    const unClose = conn.onClose(endSession);
    try {
      const description = await this.executor.describe();
      this.description = description;
      const knownInstances = await this.worker.recover(identity.nodeId);
      const engineEndpoint = engineEndpointFor(this.opts.dockerTcpListen, identity.advertiseAddr);
      const wireguardPublicKey = await this.wireguardKey();
      const request: SessionRequest = {
        // With the node's TLSInfo: after a renewal the manager learns who issued the new certificate (root rotation).
        description: withTlsInfo(description, identity),
        knownInstances,
        ...(engineEndpoint === undefined ? {} : { engineEndpoint }),
        ...(wireguardPublicKey === undefined ? {} : { wireguardPublicKey }),
      };
      let heartbeat: Promise<void> | undefined;
      let leaving: Promise<void> | undefined;
      const stream = await conn.stream('/session', request, (raw) => {
        const m = raw as SessionMessage;
        switch (m.type) {
          case 'session': {
            this.sessionId = m.sessionId;
            established = true;
            this.lastError = '';
            if (m.managers.length > 0 && JSON.stringify(m.managers) !== JSON.stringify(identity.managers)) {
              void this.updateIdentity({ managers: m.managers });
            }
            this.reporter.attach((updates) => this.sendStatuses(conn, m.sessionId, updates));
            heartbeat ??= this.heartbeatLoop(conn, m.sessionId, m.heartbeatPeriodMs, sessionEnd.signal);
            heartbeat.catch(() => undefined);
            for (const w of this.sessionWaiters.splice(0)) w();
            this.log.info({ manager: addr, sessionId: m.sessionId }, 'session open');
            break;
          }
          case 'assignments':
            void this.worker.apply(m);
            break;
          case 'certificate-update':
            this.log.info({ reason: m.reason }, 'the manager asks for a certificate renewal');
            void this.renew(conn).then(() => endSession(), (err: unknown) => this.log.warn({ err }, 'renewal failed'));
            break;
          case 'leave':
            this.log.info({ reason: m.reason }, 'the manager removed this node');
            endSession();
            // Leave from outside this session's own stack: leave() waits for this loop to end.
            leaving = Promise.resolve().then(() => this.leave(m.reason)).catch((err: unknown) => this.log.error({ err }, 'leaving failed'));
            break;
          default:
            this.log.debug({ message: raw }, 'ignoring an unknown session message');
        }
      });
      sessionEnd.signal.addEventListener('abort', () => stream.cancel(), { once: true });
      const describeEvery = this.opts.describeIntervalMs ?? 30_000;
      const watcher = this.watchDescription(describeEvery, sessionEnd.signal, endSession);
      await Promise.race([stream.ended, new Promise<void>((r) => sessionEnd.signal.addEventListener('abort', () => r(), { once: true }))]);
      endSession();
      await watcher;
      await heartbeat?.catch(() => undefined);
      void leaving;
      if (!signal.aborted) this.lastError = `session with ${addr} ended`;
      return established;
    } finally {
      signal.removeEventListener('abort', endSession);
      unClose();
      this.reporter.detach();
      this.sessionId = undefined;
      conn.close();
      if (this.conn === conn) this.conn = undefined;
    }
  }

  private async sendStatuses(conn: ManagerConnection, sessionId: string, updates: StatusUpdateRequest['updates']): Promise<void> {
    const body: StatusUpdateRequest = { sessionId, updates };
    await conn.call<unknown>('/status', body);
  }

  private async heartbeatLoop(conn: ManagerConnection, sessionId: string, firstPeriodMs: number, signal: AbortSignal): Promise<void> {
    let period = firstPeriodMs > 0 ? firstPeriodMs : 5_000;
    while (!signal.aborted) {
      await sleep(this.timers, period, signal);
      if (signal.aborted) return;
      try {
        const r = await conn.call<HeartbeatResponse>('/heartbeat', { sessionId }, Math.max(period, 5_000));
        if (r !== undefined && typeof r.periodMs === 'number' && r.periodMs > 0) period = r.periodMs;
      } catch (err) {
        this.log.warn({ err }, 'heartbeat failed; reconnecting');
        conn.close();
        return;
      }
    }
  }

  /** Swarm restarts the session when the node description changes; so do we. */
  private async watchDescription(everyMs: number, signal: AbortSignal, restart: () => void): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.timers, everyMs, signal);
      if (signal.aborted) return;
      try {
        const d = await this.executor.describe();
        if (!sameDescription(this.description, d)) {
          this.log.info('node description changed; reopening the session');
          restart();
          return;
        }
      } catch (err) {
        this.log.warn({ err }, 'describing the node failed');
      }
    }
  }

  private async updateIdentity(change: Partial<NodeIdentity>): Promise<void> {
    if (this.identity === undefined) return;
    this.identity = { ...this.identity, ...change };
    await this.state.save(this.identity);
    this.emitIdentity();
  }

  /** A fresh key and CSR, a new certificate over the current (mutual TLS) connection. */
  async renew(conn?: ManagerConnection): Promise<void> {
    const id = this.identity;
    if (id === undefined) throw unavailable(NotInSwarmMessage);
    const { keyPem, csrPem } = createNodeKeyAndCsr();
    let c = conn ?? this.conn;
    let own = false;
    if (c === undefined || c.isClosed) {
      const addr = nextManager(id.managers, 0);
      if (addr === undefined) throw unavailable('no manager known');
      c = await ManagerConnection.connect({ addr, trust: { kind: 'mutual', caPem: id.caPem, certPem: id.certPem, keyPem: id.keyPem } });
      own = true;
    }
    try {
      const r = await c.call<RenewResponse>('/renew', { csrPem });
      await this.updateIdentity({ keyPem, certPem: r.certPem, caPem: r.caPem });
      this.log.info({ nodeId: id.nodeId }, 'certificate renewed');
    } finally {
      if (own) c.close();
    }
  }

  private scheduleRenewal(signal: AbortSignal): RenewalTimer {
    const stop = new AbortController();
    const cancel = () => stop.abort();
    signal.addEventListener('abort', cancel, { once: true });
    const run = async () => {
      let failures = 0;
      while (!stop.signal.aborted && this.identity !== undefined) {
        const v = readCertificate(this.identity.certPem);
        const plan = planRenewal(v, this.clock.now(), this.random);
        await sleep(this.timers, plan.waitMs, stop.signal);
        if (stop.signal.aborted || !plan.due) continue;
        try {
          await this.renew();
          failures = 0;
          // New certificate: reopen the session so it is the one presented.
          this.conn?.close();
        } catch (err) {
          const wait = retryRenewalIn(v, this.clock.now(), backoffDelay(failures++, this.random, { baseMs: 1000, maxMs: 60_000 }));
          this.log.warn({ err, retryInMs: wait }, 'certificate renewal failed');
          await sleep(this.timers, wait, stop.signal);
        }
      }
    };
    void run();
    return { cancel };
  }
}

/** "0.0.0.0:2375" advertised from 10.211.0.11 → "tcp://10.211.0.11:2375"; no TCP endpoint → nothing. */
export function engineEndpointFor(listen: string | undefined, advertiseAddr: string): string | undefined {
  if (listen === undefined) return undefined;
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(listen);
  if (!m?.[2]) return undefined;
  const bound = m[1] ?? '';
  const host = bound === '' || bound === '0.0.0.0' || bound === '::' ? hostOf(advertiseAddr) : bound;
  return `tcp://${host.includes(':') ? `[${host}]` : host}:${m[2]}`;
}

interface RenewalTimer {
  cancel(): void;
}
