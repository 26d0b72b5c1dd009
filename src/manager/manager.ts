import { networkInterfaces } from 'node:os';
import type { Node, NodeDescription } from '../model/index.js';
import type { RandomBytes } from '../pki/certificate.js';
import { signNodeCsr } from '../pki/node-cert.js';
import type { RootRotation } from '../pki/ca.js';
import { issuerInfoOfCa } from '../pki/issuer.js';
import { signingCaOf } from '../translate/swarm/cluster.js';
import { SwarmRoles } from '../pki/roles.js';
import type { JoinResponse } from '../dispatcher/protocol.js';
import type { Store } from '../store/index.js';
import { Dispatcher } from '../dispatcher/dispatcher.js';
import { startDispatcherServer, type DispatcherServer } from '../dispatcher/server.js';
import { clusterToClusterInfo, clusterToSwarm, mergeSwarmSpec } from '../translate/swarm/cluster.js';
import { nodeToSwarm, type SwarmNode, type TrustInfo } from '../translate/swarm/node.js';
import type { Clock } from '../util/clock.js';
import { unavailable } from '../util/errors.js';
import type { IdGenerator } from '../util/ids.js';
import type { Logger } from '../util/log.js';
import { resolveAdvertiseAddr, splitHostPort, type Interfaces } from './addresses.js';
import { alreadyInSwarm, currentCluster, leaderNode, requireCluster } from './controlapi/common.js';
import { finishRootRotation, initCluster, leaveCluster, parseInitRequest, updateCluster, type ControlDeps } from './controlapi/cluster.js';
import { planCaUpdate, rootCaInfoAfter } from './controlapi/ca-rotation.js';
import { rotationStep } from './ca-reconciler.js';
import { ClusterRootCa, type RootCaChange, type RootCaPersistence } from './root-ca.js';
import { getNode, listNodes, removeNode, updateNode } from './controlapi/node.js';
import { issueDispatcherCertificate } from './dispatcher-cert.js';
import type { NodeFilters } from './node-filters.js';
import { trustInfo } from './tls-info.js';

/**
 * Swarm mode on the gateway: the control API (what the Docker API's /swarm
 * and /nodes routes call) and the dispatcher's lifecycle. The dispatcher runs
 * while a cluster exists in the store: started by `swarm init`, or at start
 * when the state directory already holds a swarm; stopped by `swarm leave`.
 */
export interface SwarmManagerOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly log: Logger;
  /** The cluster's root CA: the gateway's own (admin bundles and node certificates share it). */
  readonly ca: { readonly certPem: string; readonly keyPem: string };
  /** A root rotation found on disk at start (its key kept by the PKI). */
  readonly rotation?: RootRotation;
  /** Where rotations are kept (the gateway's pki directory); in memory only by default. */
  readonly rootCaPersistence?: RootCaPersistence;
  /** How often a running root rotation is reconciled (Swarm's batch interval); 500 ms by default. */
  readonly rotationIntervalMs?: number;
  readonly random?: RandomBytes;
  /** The gateway's engine as a Swarm NodeDescription (see nodeDescriptionFromEngineInfo). */
  readonly describeLocalNode: () => Promise<NodeDescription>;
  readonly localEngineUrl?: string;
  /** Where the dispatcher listens ("0.0.0.0:2377"; port 0 picks one); false: no dispatcher (API tests). */
  readonly dispatcherListen?: string | false;
  /** A default for `swarm init` without --advertise-addr. */
  readonly advertiseAddr?: string;
  readonly interfaces?: () => Interfaces;
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
  readonly checkIntervalMs?: number;
}

/**
 * Something that runs on the leader while a swarm exists, beside the
 * dispatcher: the orchestrator's components, the agent of the gateway's own
 * node. Started after the dispatcher listens, stopped (in reverse order)
 * before it closes; `leave` says the swarm itself is gone.
 */
export interface LeaderComponent {
  readonly name: string;
  start(): Promise<void>;
  stop(reason: LeaderStopReason): Promise<void>;
}
export type LeaderStopReason = 'shutdown' | 'leave';

export class SwarmManager {
  private readonly components: LeaderComponent[] = [];
  private componentsRunning = false;
  private dispatcher: Dispatcher | undefined;
  private server: DispatcherServer | undefined;
  private trust: { readonly key: string; readonly info: TrustInfo } | undefined;
  /** The cluster's CA in this process: what signs, what is trusted, the rotation under way. */
  readonly rootCa: ClusterRootCa;
  private rotationTimer: NodeJS.Timeout | undefined;
  private rotationBusy = false;
  private dispatcherTls: { readonly nodeId: string; readonly clusterId: string; readonly advertiseIp: string } | undefined;

  constructor(private readonly opts: SwarmManagerOptions) {
    this.rootCa = new ClusterRootCa(opts.rotation === undefined ? { root: opts.ca } : { root: opts.ca, rotation: opts.rotation }, opts.rootCaPersistence);
    this.rootCa.onChange((change) => this.rootCaChanged(change));
  }

  private get deps(): ControlDeps {
    return {
      store: this.opts.store,
      clock: this.opts.clock,
      ids: this.opts.ids,
      caCertPem: this.rootCa.state().root.certPem,
      ...(this.opts.random === undefined ? {} : { random: this.opts.random }),
    };
  }

  /** For the control API's service, task, secret and config verbs (src/manager/controlapi). */
  controlDeps(): ControlDeps {
    return this.deps;
  }

  /** The cluster's TLSInfo: TrustRoot the current root, the issuer the root that signs now (the new one in a rotation). */
  private trustInfo(): TrustInfo {
    const s = this.rootCa.state();
    const signing = s.rotation?.newCa.certPem ?? s.root.certPem;
    const key = s.root.certPem + signing;
    if (this.trust?.key !== key) this.trust = { key, info: trustInfo(s.root.certPem, signing) };
    return this.trust.info;
  }

  /**
   * The store and the PKI agree on the root after a crash: a rotation the
   * store finished is finished on disk too; one the store never recorded is
   * forgotten.
   */
  private async reconcileRootCa(): Promise<void> {
    const cluster = this.opts.store.view((tx) => currentCluster(tx));
    if (!cluster) return;
    const s = this.rootCa.state();
    if (s.rotation !== undefined && cluster.rootCa.certPem === s.rotation.newCa.certPem) {
      await this.rootCa.complete();
    } else if (s.rotation !== undefined && cluster.rootCa.rotation?.certPem !== s.rotation.newCa.certPem) {
      this.opts.log.warn('a root rotation on disk is not the one in the swarm state; dropping it');
      await this.rootCa.persistRotation(undefined);
      this.rootCa.useRotation(undefined);
    } else if (s.rotation === undefined && cluster.rootCa.rotation !== undefined) {
      this.opts.log.error('the swarm state records a root rotation whose key is not in the pki directory; run "docker swarm ca --rotate" again');
    }
  }

  /** At gateway start: if the state holds a swarm, serve it again. */
  async start(): Promise<void> {
    const cluster = this.opts.store.view((tx) => currentCluster(tx));
    if (!cluster) return;
    await this.reconcileRootCa();
    if (cluster.rootCa.certPem !== this.rootCa.state().root.certPem && cluster.rootCa.rotation === undefined) {
      this.opts.log.warn('the swarm in the state directory was made with another CA; its nodes will not be able to connect');
    }
    await this.refreshLocalNode();
    await this.startDispatcher();
  }

  async stop(): Promise<void> {
    await this.stopDispatcher();
  }

  /** Adds a leader component; it starts with the dispatcher (at once if the dispatcher runs already). */
  async use(component: LeaderComponent): Promise<void> {
    this.components.push(component);
    if (this.componentsRunning) await this.startComponent(component);
  }

  private async startComponent(c: LeaderComponent): Promise<void> {
    try {
      await c.start();
    } catch (err) {
      // The swarm stays served: a component that cannot start is logged, not fatal (the API still answers).
      this.opts.log.error({ err, component: c.name }, 'leader component did not start');
    }
  }

  private async startComponents(): Promise<void> {
    if (this.componentsRunning) return;
    this.componentsRunning = true;
    for (const c of this.components) await this.startComponent(c);
  }

  private async stopComponents(reason: LeaderStopReason): Promise<void> {
    if (!this.componentsRunning) return;
    this.componentsRunning = false;
    for (const c of [...this.components].reverse()) {
      try {
        await c.stop(reason);
      } catch (err) {
        this.opts.log.error({ err, component: c.name }, 'leader component did not stop cleanly');
      }
    }
  }

  /** The gateway's node is ready whenever the gateway runs; its description follows its engine. */
  private async refreshLocalNode(): Promise<void> {
    let description: NodeDescription | undefined;
    try {
      description = await this.opts.describeLocalNode();
    } catch (err) {
      this.opts.log.warn({ err }, 'could not describe the local engine; keeping the last description');
    }
    await this.opts.store.update((tx) => {
      const self = leaderNode(tx);
      if (!self) return;
      tx.update('node', { ...self, ...(description ? { description } : {}), status: { ...self.status, state: 'ready', message: '', lastHeartbeat: this.opts.clock.now() } });
    });
  }

  private listenAddr(): { host: string; port: number } | undefined {
    if (this.opts.dispatcherListen === false) return undefined;
    const hp = splitHostPort(this.opts.dispatcherListen ?? '0.0.0.0:2377');
    return { host: hp.host || '0.0.0.0', port: hp.port };
  }

  private async startDispatcher(): Promise<void> {
    const listen = this.listenAddr();
    if (!listen || this.server) return;
    const { cluster, self } = this.opts.store.view((tx) => ({ cluster: requireCluster(tx), self: leaderNode(tx) }));
    if (!self) throw unavailable('the swarm has no leader node; run "docker swarm init --force-new-cluster"');
    const dispatcher = new Dispatcher({
      store: this.opts.store,
      clock: this.opts.clock,
      ids: this.opts.ids,
      log: this.opts.log.child({ component: 'dispatcher' }),
      ca: this.rootCa,
      ...(this.opts.random === undefined ? {} : { random: this.opts.random }),
      ...(this.opts.checkIntervalMs === undefined ? {} : { checkIntervalMs: this.opts.checkIntervalMs }),
    });
    const advertiseIp = self.status.addr;
    this.dispatcherTls = { nodeId: self.id, clusterId: cluster.id, advertiseIp };
    const tls = this.dispatcherTlsMaterial();
    const server = await startDispatcherServer({
      dispatcher,
      log: this.opts.log.child({ component: 'dispatcher' }),
      ...tls,
      host: listen.host,
      port: listen.port,
      ...(this.opts.pingIntervalMs === undefined ? {} : { pingIntervalMs: this.opts.pingIntervalMs }),
      ...(this.opts.pingTimeoutMs === undefined ? {} : { pingTimeoutMs: this.opts.pingTimeoutMs }),
    });
    this.dispatcher = dispatcher;
    this.server = server;
    dispatcher.start();
    this.startRotationLoop();
    // The address agents are told to dial carries the port actually bound (tests listen on port 0).
    await this.opts.store.update((tx) => {
      const n = tx.get('node', self.id);
      const addr = `${advertiseIp}:${server.port}`;
      if (n?.managerStatus && n.managerStatus.addr !== addr) tx.update('node', { ...n, managerStatus: { ...n.managerStatus, addr } });
    });
    await this.startComponents();
  }

  /** Where an agent in this process dials the dispatcher (the bound address; loopback for a wildcard). */
  localDispatcherAddr(): string | undefined {
    const port = this.server?.port;
    const listen = this.listenAddr();
    if (port === undefined || listen === undefined) return undefined;
    const host = listen.host === '0.0.0.0' || listen.host === '::' || listen.host === '' ? '127.0.0.1' : listen.host;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  /**
   * The dispatcher's TLS as the leader's manager node: a certificate from what
   * signs now, presented with its intermediates and the current root (a joining
   * host pins the root its token names), trusting the roots managers trust.
   */
  private dispatcherTlsMaterial(): { keyPem: string; certChainPem: string; caPem: string } {
    const t = this.dispatcherTls;
    if (t === undefined) throw unavailable('the dispatcher is not running');
    const signer = this.rootCa.signer();
    const validityMs = this.opts.store.view((tx) => requireCluster(tx)).spec.caConfig.nodeCertExpiryMs;
    const cert = issueDispatcherCertificate({
      ca: { certPem: signer.caCertPem, keyPem: signer.caKeyPem },
      nodeId: t.nodeId,
      clusterId: t.clusterId,
      advertiseIp: t.advertiseIp,
      now: this.opts.clock.now(),
      validityMs,
    });
    return { keyPem: cert.keyPem, certChainPem: cert.certPem + (signer.intermediatesPem ?? '') + this.rootCa.state().root.certPem, caPem: this.rootCa.trustPem() };
  }

  private readonly rootCaListeners = new Set<(change: RootCaChange) => void>();

  /** Called after the root CA changed and the dispatcher follows it (the gateway re-reads its own TLS files). */
  onRootCaChange(listener: (change: RootCaChange) => void): () => void {
    this.rootCaListeners.add(listener);
    return () => this.rootCaListeners.delete(listener);
  }

  private rootCaChanged(change: RootCaChange): void {
    this.opts.log.info({ change }, 'root CA changed');
    if (this.server !== undefined && this.dispatcherTls !== undefined) {
      try {
        this.server.setTls(this.dispatcherTlsMaterial());
      } catch (err) {
        this.opts.log.error({ err }, 'the dispatcher could not follow the root CA change');
      }
    }
    // Completed: every node renews now, to hold the new root alone (Swarm's RootCA in the session message).
    if (change === 'rotation-completed') this.dispatcher?.rootChanged('root CA rotation completed');
    for (const l of this.rootCaListeners) {
      try {
        l(change);
      } catch (err) {
        this.opts.log.error({ err }, 'a root CA listener failed');
      }
    }
  }

  private startRotationLoop(): void {
    if (this.rotationTimer) return;
    this.rotationTimer = setInterval(() => void this.reconcileRotation(), this.opts.rotationIntervalMs ?? 500);
    this.rotationTimer.unref();
  }

  /**
   * One step of the root rotation (swarmkit's rootRotationReconciler): ask
   * the next batch of unconverged nodes to renew; when every node holds a
   * certificate from the new root, finish.
   */
  async reconcileRotation(): Promise<void> {
    if (this.rotationBusy) return;
    const rotation = this.rootCa.state().rotation;
    if (rotation === undefined) return;
    this.rotationBusy = true;
    try {
      const desired = issuerInfoOfCa(rotation.newCa.certPem);
      const { cluster, nodes } = this.opts.store.view((tx) => ({ cluster: currentCluster(tx), nodes: tx.list('node') }));
      if (cluster?.rootCa.rotation?.certPem !== rotation.newCa.certPem) return;
      const step = rotationStep(nodes, desired);
      if (step.toRotate.length > 0) {
        await this.opts.store.update((tx) => {
          for (const id of step.toRotate) {
            const n = tx.get('node', id);
            if (n && n.certificateState !== 'rotate') tx.update('node', { ...n, certificateState: 'rotate' });
          }
        });
        this.opts.log.info({ nodes: step.toRotate.length }, 'root rotation: nodes asked to renew their certificates');
      }
      if (step.converged) await this.finishRotation(rotation.newCa.certPem);
    } catch (err) {
      this.opts.log.error({ err }, 'root rotation step failed');
    } finally {
      this.rotationBusy = false;
    }
  }

  private async finishRotation(newRootPem: string): Promise<void> {
    if (!(await finishRootRotation(this.deps, newRootPem))) return;
    // The store says done first: a crash from here on is finished at the next start (reconcileRootCa).
    await this.rootCa.complete();
    this.opts.log.info('root rotation completed: the new root is the only one trusted; join tokens renewed');
  }

  private async stopDispatcher(reason: LeaderStopReason = 'shutdown'): Promise<void> {
    if (this.rotationTimer) clearInterval(this.rotationTimer);
    this.rotationTimer = undefined;
    await this.stopComponents(reason);
    const d = this.dispatcher;
    const s = this.server;
    this.dispatcher = undefined;
    this.server = undefined;
    await d?.stop();
    await s?.close();
  }

  /** The dispatcher's bound port while it runs. */
  dispatcherPort(): number | undefined {
    return this.server?.port;
  }

  /**
   * Credentials for an agent run inside the gateway for its own engine: a
   * certificate for the leader node (no join, no new node), so that agent
   * speaks the same protocol as every other one. The dispatcher never marks
   * the leader down; its sessions only carry assignments.
   */
  async localNodeCredentials(csrPem: string): Promise<JoinResponse> {
    const { cluster, self } = this.opts.store.view((tx) => ({ cluster: requireCluster(tx), self: leaderNode(tx) }));
    if (!self) throw unavailable('the swarm has no leader node');
    const certPem = signNodeCsr({
      ...this.rootCa.signer(),
      csrPem,
      nodeId: self.id,
      clusterId: cluster.id,
      role: SwarmRoles.manager,
      now: this.opts.clock.now(),
      validityMs: cluster.spec.caConfig.nodeCertExpiryMs,
    });
    return {
      nodeId: self.id,
      role: 'manager',
      certPem,
      caPem: this.rootCa.trustPem(),
      clusterId: cluster.id,
      managers: this.dispatcher?.managers() ?? [],
      heartbeatPeriodMs: cluster.spec.dispatcher.heartbeatPeriodMs,
    };
  }

  /** For tests: drive the heartbeat check with a manual clock. */
  currentDispatcher(): Dispatcher | undefined {
    return this.dispatcher;
  }

  // ---------------------------------------------------------------- swarm

  isActive(): boolean {
    return this.opts.store.view((tx) => currentCluster(tx) !== undefined);
  }

  async init(body: unknown): Promise<string> {
    const req = parseInitRequest(body);
    // Checked before touching the engine, as the daemon does (initCluster checks again, atomically).
    if (this.isActive() && !req.forceNewCluster) throw alreadyInSwarm();
    const listenPort = this.listenAddr()?.port ?? splitHostPort(req.listenAddr).port;
    const advertise = resolveAdvertiseAddr(req.advertiseAddr || this.opts.advertiseAddr || '', req.listenAddr, (this.opts.interfaces ?? networkInterfaces)());
    const description = await this.opts.describeLocalNode();
    const nodeId = await initCluster(this.deps, req, {
      description,
      advertiseIp: advertise.host,
      dispatcherPort: listenPort,
      ...(this.opts.localEngineUrl === undefined ? {} : { engineUrl: this.opts.localEngineUrl }),
    });
    try {
      await this.stopDispatcher(); // force-new-cluster: serve under the refreshed identity
      await this.startDispatcher();
    } catch (err) {
      this.opts.log.error({ err }, 'dispatcher did not start; undoing swarm init');
      await leaveCluster(this.deps, true).catch(() => undefined);
      throw unavailable(`failed to listen on the swarm port: ${(err as Error).message}`);
    }
    this.opts.log.info({ nodeId, advertise: advertise.host }, 'swarm initialised');
    return nodeId;
  }

  inspect(): Record<string, unknown> {
    const cluster = this.opts.store.view((tx) => requireCluster(tx));
    return clusterToSwarm(cluster, this.trustInfo());
  }

  /**
   * `docker swarm update`, `join-token --rotate`, and `docker swarm ca
   * [--rotate] [--ca-cert --ca-key]`: a new root's key is kept by the PKI
   * before the store records the rotation, and used once it does.
   */
  async update(req: { version: number; spec: unknown; rotateWorkerToken: boolean; rotateManagerToken: boolean }): Promise<void> {
    const cluster = this.opts.store.view((tx) => requireCluster(tx));
    const spec = mergeSwarmSpec(cluster.spec, req.spec); // its errors before any key is made
    const before = this.rootCa.state();
    const plan = planCaUpdate(before, cluster.rootCa, { forceRotate: spec.caConfig.forceRotate ?? 0, signingCa: signingCaOf(req.spec) }, this.opts.clock.now(), this.opts.random);
    if (plan.kind === 'begin') await this.rootCa.persistRotation(plan.rotation);
    if (plan.kind === 'abort') await this.rootCa.persistRotation(undefined);
    try {
      await updateCluster(this.deps, req, (current) => rootCaInfoAfter(current, plan));
    } catch (err) {
      if (plan.kind !== 'keep') await this.rootCa.persistRotation(before.rotation).catch(() => undefined);
      throw err;
    }
    if (plan.kind === 'begin') {
      this.rootCa.useRotation(plan.rotation);
      this.opts.log.info('root rotation started');
    } else if (plan.kind === 'abort') {
      this.rootCa.useRotation(undefined);
      this.opts.log.info('root rotation aborted');
    }
  }

  async leave(force: boolean): Promise<void> {
    await leaveCluster(this.deps, force);
    await this.stopDispatcher('leave');
    this.opts.log.info('left the swarm');
  }

  /** Autolock is not offered, so there is never a key (the CLI says "no unlock key is set"). */
  unlockKey(): { UnlockKey: string } {
    this.opts.store.view((tx) => requireCluster(tx));
    return { UnlockKey: '' };
  }

  // ---------------------------------------------------------------- nodes

  listNodes(filters: NodeFilters): SwarmNode[] {
    const trust = this.trustInfo();
    return this.opts.store.view((tx) => listNodes(tx, filters)).map((n) => nodeToSwarm(n, trust));
  }

  inspectNode(ref: string): SwarmNode {
    return nodeToSwarm(
      this.opts.store.view((tx) => getNode(tx, ref)),
      this.trustInfo(),
    );
  }

  async updateNode(ref: string, version: number, body: unknown): Promise<void> {
    await updateNode(this.deps, ref, version, body);
  }

  async removeNode(ref: string, force: boolean): Promise<void> {
    await removeNode(this.deps, ref, force);
  }

  // ---------------------------------------------------------------- /info and /_ping

  /** The `Swarm` block of GET /info (an InfoContributor). */
  readonly contributeInfo = (info: Record<string, unknown>): void => {
    const state = this.opts.store.view((tx) => {
      const cluster = currentCluster(tx);
      if (!cluster) return undefined;
      const nodes = tx.list('node');
      return { cluster, nodes, self: leaderNode(tx) };
    });
    if (!state) return;
    const managers = state.nodes.filter((n: Node) => n.spec.role === 'manager');
    info['Swarm'] = {
      NodeID: state.self?.id ?? '',
      NodeAddr: state.self?.status.addr ?? '',
      LocalNodeState: 'active',
      ControlAvailable: true,
      Error: '',
      RemoteManagers: managers
        .filter((n) => n.managerStatus?.leader)
        .map((n) => ({ NodeID: n.id, Addr: n.managerStatus?.addr ?? '' })),
      Nodes: state.nodes.length,
      Managers: managers.length,
      Cluster: clusterToClusterInfo(state.cluster, this.trustInfo()),
    };
  };

  /** The `Swarm` header of /_ping. */
  readonly pingStatus = (): string => (this.isActive() ? 'active/manager' : 'inactive');
}
