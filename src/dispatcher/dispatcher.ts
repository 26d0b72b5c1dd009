import { isIP } from 'node:net';
import { canAdvance, NodeRestartingMessage, type Cluster, type Instance, type Node, type NodeStatus } from '../model/index.js';
import { newAttachmentInstance, resolveAttachable } from './attachments.js';
import type { RandomBytes } from '../pki/certificate.js';
import { InvalidJoinTokenMessage, roleForJoinToken, WrongJoinTokenMessage } from '../pki/join-token.js';
import { certIdentity, signNodeCsr } from '../pki/node-cert.js';
import { readCertificate } from '../pki/certificate.js';
import type { PeerIdentity } from '../pki/peer.js';
import { nodeRoleOf, SwarmRoles, type SwarmRole } from '../pki/roles.js';
import type { Store, WatchEvent } from '../store/index.js';
import type { Clock } from '../util/clock.js';
import { forbidden, invalidParameter, notASwarmManager, notFound, StevedoreError } from '../util/errors.js';
import type { IdGenerator } from '../util/ids.js';
import type { Logger } from '../util/log.js';
import { signingMaterial, trustBundle, type CaMaterial } from '../pki/ca.js';
import type { RootCaSource } from '../manager/root-ca.js';
import { nodeTlsInfo } from '../agent/tls-info.js';
import { assignmentsFor, concernsNode, diffAssignments, fullChanges, type AssignmentSet } from './assignments.js';
import { DISPATCHER_PORT } from './protocol.js';
import type {
  AttachmentContainerRequest,
  AttachNetworkRequest,
  AttachNetworkResponse,
  DetachNetworkRequest,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinRequest,
  JoinResponse,
  RenewRequest,
  RenewResponse,
  RestartNoticeRequest,
  SessionMessage,
  SessionRequest,
  StatusUpdateRequest,
} from './protocol.js';

/**
 * The manager's side of the dispatcher protocol, transport-free (server.ts
 * carries it over HTTP/2). It admits nodes (join), keeps one session per node,
 * decides liveness, and is the only writer of a node's observed status and
 * description and of instances' observed status.
 *
 * Liveness: a node is `ready` while its session lives. It is `down` as soon as
 * the session's stream closes (an agent killed with -9 closes its TCP
 * connection at once), or when no heartbeat came for 1.5 periods; server.ts
 * also pings each connection and tears down one that stops answering, which
 * closes the session. Time comes from the injected clock; the one real timer
 * only decides how often `checkHeartbeats` looks.
 */

export interface DispatcherOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly log: Logger;
  /** A fixed root, or the cluster's CA as it changes (root rotation: src/manager/root-ca.ts). */
  readonly ca: CaMaterial | RootCaSource;
  readonly random?: RandomBytes;
  /** How often the heartbeat deadline is checked; 0 disables the timer (tests call checkHeartbeats). */
  readonly checkIntervalMs?: number;
}

/** Where a session's messages go: the open response stream. */
export interface SessionSink {
  send(message: SessionMessage): void;
  close(): void;
}

/** Who is calling, from a verified certificate. */
export interface PeerNode {
  readonly nodeId: string;
  readonly role: SwarmRole;
}

/** What server.ts knows of the TLS peer. */
export interface PeerCertificate {
  readonly authorized: boolean;
  readonly authorizationError?: string;
  /** The leaf's DER; absent when the client sent no certificate. */
  readonly raw?: Uint8Array;
  /**
   * What the leaf says, already read (the server's way: src/pki/peer.ts
   * caches it per connection and fingerprint). An agent's status reports and
   * heartbeats are streams of its one connection, and parsing the DER for
   * each was the gateway's largest cost per report. Without it, `raw` is
   * parsed (tests).
   */
  readonly identity?: PeerIdentity;
}

interface LiveSession {
  readonly id: string;
  readonly nodeId: string;
  readonly sink: SessionSink;
  lastHeartbeat: number;
  readonly abort: AbortController;
  assignments: AssignmentSet;
  closed: boolean;
  /** The agent said it is restarting: when this session ends the node is down with NodeRestartingMessage. */
  restarting?: boolean;
  /** Nudges this session's assignment recomputation (a peer's WireGuard key arrived). */
  poke?: () => void;
}

/** Grace before a node without a heartbeat is down: Swarm's 1.5 periods (its default adds a bigger epsilon). */
export const HEARTBEAT_GRACE_FACTOR = 1.5;

const rpc = (code: string, desc: string): string => `rpc error: code = ${code} desc = ${desc}`;

export class Dispatcher {
  private readonly sessions = new Map<string, LiveSession>(); // by node id
  /**
   * Nodes' WireGuard public keys, as their agents report them with every
   * session. Kept here rather than in the store: only a node with a session
   * can hold live instances, and its agent sends the key again on reconnection
   * (to whichever manager it reaches).
   */
  private readonly wireguardKeys = new Map<string, string>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Nodes given a new certificate while in session: they reconnect to present it, and are not down meanwhile. */
  private readonly renewing = new Map<string, number>();
  private readonly downTimers = new Map<string, NodeJS.Timeout>();
  private readonly ca: RootCaSource;

  constructor(private readonly opts: DispatcherOptions) {
    const ca = opts.ca;
    this.ca = 'signer' in ca ? ca : { state: () => ({ root: ca }), signer: () => signingMaterial({ root: ca }), trustPem: () => trustBundle({ root: ca }) };
  }

  private get log(): Logger {
    return this.opts.log;
  }

  /** Watches nodes (removal, role change), starts the heartbeat check. */
  start(): void {
    const interval = this.opts.checkIntervalMs ?? 250;
    if (interval > 0) {
      this.timer = setInterval(() => void this.checkHeartbeats().catch((err: unknown) => this.log.error({ err }, 'heartbeat check failed')), interval);
      this.timer.unref();
      // Nodes that were ready under an earlier manager process get one grace period to come back.
      this.graceTimer = setTimeout(() => void this.downNodesWithoutSession().catch((err: unknown) => this.log.error({ err }, 'grace check failed')), this.graceMs());
      this.graceTimer.unref();
    }
    void this.watchNodes();
  }

  /** Ends every session (agents reconnect to whoever serves next); writes nothing. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    for (const t of this.downTimers.values()) clearTimeout(t);
    this.downTimers.clear();
    this.abort.abort();
    for (const s of this.sessions.values()) this.endSession(s);
    this.sessions.clear();
  }

  private cluster(): Cluster {
    const c = this.opts.store.view((tx) => tx.list('cluster')[0]);
    if (!c) throw notASwarmManager();
    return c;
  }

  heartbeatPeriodMs(): number {
    return this.cluster().spec.dispatcher.heartbeatPeriodMs;
  }

  private graceMs(): number {
    return this.heartbeatPeriodMs() * HEARTBEAT_GRACE_FACTOR;
  }

  /** The managers agents may dial: the gateway (the leader) first. */
  managers(): string[] {
    // Only the gateway (the leader) runs a dispatcher today; promoted nodes hold the role, not the service.
    return this.opts.store.view((tx) => tx.list('node', (n) => n.managerStatus?.leader === true).map((n) => n.managerStatus?.addr ?? ''));
  }

  // ---------------------------------------------------------------- join

  async join(req: JoinRequest, remoteIp: string): Promise<JoinResponse> {
    const cluster = this.cluster();
    let role: SwarmRole;
    try {
      role = roleForJoinToken(req.token, cluster.joinTokens);
    } catch (err) {
      if (err instanceof StevedoreError && err.message === WrongJoinTokenMessage) throw invalidParameter(rpc('InvalidArgument', WrongJoinTokenMessage));
      if (err instanceof StevedoreError && err.message === InvalidJoinTokenMessage) throw invalidParameter(InvalidJoinTokenMessage);
      throw err;
    }
    const nodeId = this.opts.ids.objectId();
    const now = this.opts.clock.now();
    const certPem = signNodeCsr({
      ...this.ca.signer(),
      csrPem: req.csrPem,
      nodeId,
      clusterId: cluster.id,
      role,
      now,
      validityMs: cluster.spec.caConfig.nodeCertExpiryMs,
      ...(this.opts.random === undefined ? {} : { random: this.opts.random }),
    });
    const addr = hostOf(req.advertiseAddr) || remoteIp;
    const nodeRole = nodeRoleOf(role);
    await this.opts.store.update((tx) => {
      tx.create('node', {
        id: nodeId,
        spec: { name: '', labels: {}, role: nodeRole, availability: req.availability ?? 'active' },
        description: { ...req.description, hostname: req.description.hostname || req.hostname },
        status: { state: 'unknown', message: 'joined, waiting for its session', addr },
        ...(nodeRole === 'manager' ? { managerStatus: { leader: false, reachability: 'unknown', addr: `${addr}:${DISPATCHER_PORT}` } } : {}),
        endpoints: req.engineEndpoint === undefined ? {} : { engine: req.engineEndpoint },
        certificateSerial: readCertificate(certPem).serialNumber,
        certificateState: 'issued',
      });
    });
    this.log.info({ nodeId, role: nodeRole, hostname: req.hostname, addr }, 'node joined');
    return {
      nodeId,
      role: nodeRole,
      certPem,
      caPem: this.ca.trustPem(),
      clusterId: cluster.id,
      managers: this.managers(),
      heartbeatPeriodMs: cluster.spec.dispatcher.heartbeatPeriodMs,
    };
  }

  // ---------------------------------------------------------------- authentication

  /**
   * Every call but join: the certificate must chain to our root (the TLS layer
   * verified it; `authorized` says so), name our cluster, carry a node role,
   * and name a node the store still has (a removed node is refused for good).
   */
  authenticate(peer: PeerCertificate): PeerNode {
    const raw = peer.raw;
    if (peer.identity === undefined && (raw === undefined || raw.length === 0)) throw forbidden('a node certificate is required: join the swarm first');
    if (!peer.authorized) throw forbidden(`certificate not accepted: ${peer.authorizationError ?? 'not signed by this swarm\'s CA'}`);
    if (peer.identity?.ok === false) throw peer.identity.error;
    const id = peer.identity?.identity ?? certIdentity({ raw: raw ?? new Uint8Array() });
    if (id.role !== SwarmRoles.manager && id.role !== SwarmRoles.worker) throw forbidden(`a certificate of role ${id.role} is not a node certificate`);
    const cluster = this.cluster();
    if (id.clusterId !== cluster.id) throw forbidden(`certificate belongs to another swarm (${id.clusterId})`);
    const node = this.opts.store.view((tx) => tx.get('node', id.nodeId));
    if (!node) throw forbidden(`Permission denied: node ${id.nodeId} was removed from swarm`);
    return { nodeId: id.nodeId, role: id.role };
  }

  // ---------------------------------------------------------------- sessions

  /**
   * Opens the node's session: writes it ready with its description, sends
   * `session` and the full assignment set, then follows the store. A second
   * session of the same node replaces the first (an agent that reconnected
   * before its old connection timed out).
   */
  async openSession(nodeId: string, req: SessionRequest, remoteIp: string, sink: SessionSink): Promise<string> {
    const previous = this.sessions.get(nodeId);
    if (previous) {
      this.sessions.delete(nodeId);
      this.endSession(previous);
    }
    const now = this.opts.clock.now();
    const session: LiveSession = {
      id: this.opts.ids.objectId(),
      nodeId,
      sink,
      lastHeartbeat: now,
      abort: new AbortController(),
      assignments: new Map(),
      closed: false,
    };
    // Written ready first: a node removed meanwhile is refused and leaves no session behind.
    await this.opts.store.update((tx) => {
      const node = tx.get('node', nodeId);
      if (!node) throw forbidden(`Permission denied: node ${nodeId} was removed from swarm`);
      tx.update('node', {
        ...node,
        description: req.description,
        status: { state: 'ready', message: '', addr: node.status.addr || remoteIp, lastHeartbeat: now },
        ...(node.managerStatus ? { managerStatus: { ...node.managerStatus, reachability: 'reachable' } } : {}),
        endpoints: req.engineEndpoint === undefined ? node.endpoints : { ...node.endpoints, engine: req.engineEndpoint },
      });
    });
    const raced = this.sessions.get(nodeId);
    if (raced) this.endSession(raced); // another session of this node opened while we were writing
    const keyBefore = this.wireguardKeys.get(nodeId);
    if (req.wireguardPublicKey !== undefined && req.wireguardPublicKey !== '') this.wireguardKeys.set(nodeId, req.wireguardPublicKey);
    else this.wireguardKeys.delete(nodeId);
    this.sessions.set(nodeId, session);
    if (this.wireguardKeys.get(nodeId) !== keyBefore) for (const other of this.sessions.values()) if (other !== session) other.poke?.();
    this.renewing.delete(nodeId);
    const pendingDown = this.downTimers.get(nodeId);
    if (pendingDown) clearTimeout(pendingDown);
    this.downTimers.delete(nodeId);
    sink.send({ type: 'session', sessionId: session.id, heartbeatPeriodMs: this.heartbeatPeriodMs(), managers: this.managers() });
    // Asked to rotate while it was away (or before this session): ask again now.
    if (this.opts.store.view((tx) => tx.get('node', nodeId))?.certificateState === 'rotate') {
      sink.send({ type: 'certificate-update', reason: 'root CA rotation' });
    } else if (req.description.tls !== undefined && req.description.tls.trustRoot !== this.cluster().rootCa.certPem && this.cluster().rootCa.rotation === undefined) {
      // A rotation completed while this node was reconnecting (rootChanged
      // reached only the sessions open then): it still trusts the old roots.
      sink.send({ type: 'certificate-update', reason: 'root CA rotation completed' });
    }
    void this.followAssignments(session);
    this.log.info({ nodeId, sessionId: session.id }, 'session opened');
    return session.id;
  }

  private async followAssignments(s: LiveSession): Promise<void> {
    const signal = AbortSignal.any([s.abort.signal, this.abort.signal]);
    const keyOf = (id: string): string | undefined => this.wireguardKeys.get(id);
    const { result, events } = this.opts.store.viewAndWatch((tx) => assignmentsFor(tx, s.nodeId, keyOf), { kinds: ['instance', 'secret', 'config', 'network', 'node', 'workload'], signal });
    s.assignments = result;
    s.sink.send({ type: 'assignments', full: true, changes: fullChanges(result) });
    let pending = false;
    const recompute = (): void => {
      pending = false;
      if (s.closed) return;
      const next = this.opts.store.view((tx) => assignmentsFor(tx, s.nodeId, keyOf));
      const changes = diffAssignments(s.assignments, next);
      s.assignments = next;
      if (changes.length > 0) s.sink.send({ type: 'assignments', full: false, changes });
    };
    s.poke = () => {
      if (pending) return;
      pending = true;
      setImmediate(recompute);
    };
    try {
      for await (const ev of events) {
        if (s.closed) break;
        // Coalesce a burst of commits (a service scaled to 100) into one message.
        if (!pending && concernsNode(ev, s.nodeId, s.assignments)) {
          pending = true;
          setImmediate(recompute);
        }
      }
    } catch (err) {
      if (!s.closed) this.log.error({ err, nodeId: s.nodeId }, 'assignment stream failed');
    }
  }

  /** The session's stream or connection ended: the node is down at once. */
  async closeSession(sessionId: string, reason = 'node is down: session closed'): Promise<void> {
    const s = [...this.sessions.values()].find((x) => x.id === sessionId);
    if (!s) return; // replaced or already expired
    this.sessions.delete(s.nodeId);
    this.endSession(s);
    if (this.stopped) return;
    const renewedAt = this.renewing.get(s.nodeId);
    if (renewedAt !== undefined && this.opts.clock.now() - renewedAt <= this.graceMs()) {
      // It closed its session to present a certificate we just gave it: down only if it is not back within the grace.
      this.renewing.delete(s.nodeId);
      const nodeId = s.nodeId;
      const timer = setTimeout(() => {
        this.downTimers.delete(nodeId);
        if (!this.sessions.has(nodeId) && !this.stopped) void this.markDown(nodeId, reason).catch((err: unknown) => this.log.error({ err }, 'marking a node down failed'));
      }, this.graceMs());
      timer.unref();
      this.downTimers.set(nodeId, timer);
      this.log.info({ nodeId, sessionId }, 'session closed after a certificate renewal; waiting for the node to reconnect');
      return;
    }
    const why = s.restarting === true ? NodeRestartingMessage : reason;
    await this.markDown(s.nodeId, why);
    this.log.info({ nodeId: s.nodeId, sessionId, reason: why }, 'session closed');
  }

  private endSession(s: LiveSession): void {
    if (s.closed) return;
    s.closed = true;
    s.abort.abort();
    try {
      s.sink.close();
    } catch {
      /* the stream is gone already */
    }
  }

  private async markDown(nodeId: string, message: string): Promise<void> {
    await this.opts.store.update((tx) => {
      const node = tx.get('node', nodeId);
      if (!node || node.managerStatus?.leader) return;
      if (node.status.state === 'down' && node.status.message === message) return;
      const status: NodeStatus = { ...node.status, state: 'down', message };
      tx.update('node', {
        ...node,
        status,
        ...(node.managerStatus ? { managerStatus: { ...node.managerStatus, reachability: 'unreachable' } } : {}),
      });
    });
  }

  private sessionOf(nodeId: string, sessionId: string): LiveSession {
    const s = this.sessions.get(nodeId);
    if (!s || s.id !== sessionId) throw notFound(rpc('NotFound', 'session invalid'));
    return s;
  }

  /** The agent is stopping to come back (see RestartNoticeRequest). */
  restartNotice(nodeId: string, req: RestartNoticeRequest): void {
    this.sessionOf(nodeId, req.sessionId).restarting = true;
    this.log.info({ nodeId, sessionId: req.sessionId }, 'the agent is restarting; its instances are held');
  }

  heartbeat(nodeId: string, req: HeartbeatRequest): HeartbeatResponse {
    const s = this.sessionOf(nodeId, req.sessionId);
    s.lastHeartbeat = this.opts.clock.now();
    return { periodMs: this.heartbeatPeriodMs() };
  }

  /** Expires sessions whose last heartbeat is older than the grace. Driven by a timer, or by tests. */
  async checkHeartbeats(): Promise<void> {
    if (this.stopped) return;
    const now = this.opts.clock.now();
    const grace = this.graceMs();
    for (const s of [...this.sessions.values()]) {
      if (now - s.lastHeartbeat > grace) await this.closeSession(s.id, 'heartbeat failure');
    }
  }

  private async downNodesWithoutSession(): Promise<void> {
    if (this.stopped) return;
    const stale = this.opts.store.view((tx) =>
      tx.list('node', (n) => !n.managerStatus?.leader && n.status.state !== 'down' && !this.sessions.has(n.id)).map((n) => n.id),
    );
    for (const id of stale) if (!this.sessions.has(id)) await this.markDown(id, 'heartbeat failure');
  }

  // ---------------------------------------------------------------- status, renew

  /**
   * Observed instance states from the agent. Each goes to the store only if
   * the instance is assigned to this node and the state moves forward; a
   * stale or backwards report is dropped (the agent will report again).
   */
  async updateStatus(nodeId: string, req: StatusUpdateRequest): Promise<void> {
    this.sessionOf(nodeId, req.sessionId);
    await this.opts.store.update((tx) => {
      for (const u of req.updates) {
        const inst = tx.get('instance', u.instanceId);
        if (!inst) continue;
        if (inst.nodeId !== nodeId) {
          this.log.warn({ nodeId, instanceId: inst.id }, 'status for an instance not assigned to this node dropped');
          continue;
        }
        if (!canAdvance(inst.status.state, u.status.state)) {
          this.log.debug({ nodeId, instanceId: inst.id, from: inst.status.state, to: u.status.state }, 'backwards status dropped');
          continue;
        }
        tx.update('instance', { ...inst, status: u.status });
      }
    });
  }

  // ---------------------------------------------------------------- container network attachments

  /**
   * A standalone container on `nodeId` joins an attachable overlay (Swarm's
   * AttachNetwork): an attachment instance placed on that node; the allocator
   * and the assignment stream do the rest.
   */
  async attachNetwork(nodeId: string, req: AttachNetworkRequest): Promise<AttachNetworkResponse> {
    const id = this.opts.ids.objectId();
    let networkId = '';
    await this.opts.store.update((tx) => {
      const network = resolveAttachable(tx, req.network);
      networkId = network.id;
      tx.create('instance', newAttachmentInstance(id, nodeId, network, req, this.opts.clock.now()));
    });
    this.log.info({ nodeId, attachment: id, network: req.network, container: req.containerName }, 'container network attachment created');
    return { attachmentId: id, networkId };
  }

  /** The engine made the attachment's container: record its id and name (its name then resolves on the network). */
  async attachmentContainer(nodeId: string, req: AttachmentContainerRequest): Promise<void> {
    await this.opts.store.update((tx) => {
      const i = this.ownAttachment(tx.get('instance', req.attachmentId), nodeId, req.attachmentId);
      const containerName = req.containerName.replace(/^\//, '');
      tx.update('instance', { ...i, attachment: { ...i.attachment, containerId: req.containerId, ...(containerName === '' ? {} : { containerName }) } });
    });
  }

  /** The container is gone (Swarm's DetachNetwork deletes the attachment task): its address goes back. Idempotent. */
  async detachNetwork(nodeId: string, req: DetachNetworkRequest): Promise<void> {
    let deleted = false;
    await this.opts.store.update((tx) => {
      const found = tx.get('instance', req.attachmentId);
      if (found === undefined) return;
      this.ownAttachment(found, nodeId, req.attachmentId);
      tx.delete('instance', found.id);
      deleted = true;
    });
    if (deleted) this.log.info({ nodeId, attachment: req.attachmentId }, 'container network attachment removed');
  }

  private ownAttachment(i: Instance | undefined, nodeId: string, id: string): Instance {
    if (i === undefined || i.attachment === undefined) throw notFound(`network attachment ${id} not found`);
    if (i.nodeId !== nodeId) throw forbidden(`network attachment ${id} belongs to another node`);
    return i;
  }

  /** A fresh certificate for the node's current (desired) role. */
  async renew(nodeId: string, req: RenewRequest): Promise<RenewResponse> {
    const cluster = this.cluster();
    const node = this.opts.store.view((tx) => tx.get('node', nodeId));
    if (!node) throw forbidden(`Permission denied: node ${nodeId} was removed from swarm`);
    const certPem = signNodeCsr({
      ...this.ca.signer(),
      csrPem: req.csrPem,
      nodeId,
      clusterId: cluster.id,
      role: node.spec.role === 'manager' ? SwarmRoles.manager : SwarmRoles.worker,
      now: this.opts.clock.now(),
      validityMs: cluster.spec.caConfig.nodeCertExpiryMs,
      ...(this.opts.random === undefined ? {} : { random: this.opts.random }),
    });
    const serial = readCertificate(certPem).serialNumber;
    const caPem = this.ca.trustPem();
    await this.opts.store.update((tx) => {
      const n = tx.get('node', nodeId);
      if (!n) return;
      // What the node will report once it reconnects: the rotation reconciler need not wait for it.
      const tls = nodeTlsInfo({ certPem, caPem });
      const description = n.description && tls ? { ...n.description, tls } : n.description;
      tx.update('node', { ...n, certificateSerial: serial, certificateState: 'issued', ...(description ? { description } : {}) });
    });
    if (this.sessions.has(nodeId)) this.renewing.set(nodeId, this.opts.clock.now());
    return { certPem, caPem };
  }

  // ---------------------------------------------------------------- reacting to the store

  private async watchNodes(): Promise<void> {
    try {
      for await (const ev of this.opts.store.watch({ kinds: ['node'], signal: this.abort.signal })) this.onNodeEvent(ev);
    } catch (err) {
      if (!this.stopped) this.log.error({ err }, 'node watch failed');
    }
  }

  private onNodeEvent(ev: WatchEvent): void {
    if (ev.kind !== 'node') return;
    const s = this.sessions.get(ev.object.id);
    if (!s) return;
    if (ev.action === 'delete') {
      // Removed: tell the agent to forget the cluster, then end the session without marking anything.
      try {
        s.sink.send({ type: 'leave', reason: 'node was removed from the swarm' });
      } catch {
        /* gone already */
      }
      this.sessions.delete(s.nodeId);
      this.endSession(s);
      return;
    }
    if (ev.action === 'update' && roleChanged(ev.old, ev.object)) {
      s.sink.send({ type: 'certificate-update', reason: `role changed to ${ev.object.spec.role}` });
    } else if (ev.action === 'update' && ev.object.certificateState === 'rotate' && ev.old.certificateState !== 'rotate') {
      // The root rotation reconciler's batch (Swarm's IssuanceStateRotate).
      s.sink.send({ type: 'certificate-update', reason: 'root CA rotation' });
    }
  }

  /**
   * The cluster's root changed (a rotation completed): every node in session
   * renews at once, so it gets a certificate from the new root alone and the
   * new root as its only trust root (Swarm sends the new RootCA in each
   * session message; the node then trusts it).
   */
  rootChanged(reason: string): void {
    for (const s of this.sessions.values()) {
      try {
        s.sink.send({ type: 'certificate-update', reason });
      } catch {
        /* the stream is gone; it renews when it reconnects */
      }
    }
  }

  /** Live sessions, for /info and tests. */
  sessionCount(): number {
    return this.sessions.size;
  }
}

function roleChanged(a: Node, b: Node): boolean {
  return a.spec.role !== b.spec.role;
}

/** "10.0.0.5:2377" → "10.0.0.5"; an interface name or "" → "". */
function hostOf(addr: string): string {
  const a = addr.trim();
  if (a === '') return '';
  if (isIP(a)) return a;
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(a);
  const host = m?.[1] ?? '';
  return isIP(host) ? host : '';
}
