import type { NetworkAssignment } from '../dispatcher/protocol.js';
import type { Instance } from '../model/index.js';
import type { AttachedNetwork } from '../translate/container.js';
import { StevedoreError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { FatalStepError } from './exec/controller.js';
import type { EnsureResult, OverlayDriver, OverlayNetworkDesired } from './network/index.js';
import { sleep, type Timers } from './timers.js';

/**
 * The agent's side of overlay networks: it turns the network assignments the
 * manager sends into the host's data plane (src/agent/network's driver) and
 * tells the container translation which Docker network and address each
 * instance gets. The worker calls it; it never decides which instance runs.
 *
 * - A network assignment arriving or changing (a peer came or went) is
 *   ensured at once, in the background; an instance's `prepare` waits for it,
 *   so the container is created only on a network that exists on this host.
 * - A network leaving the set is torn down once the instances that used it
 *   are gone (the worker calls `remove` after their containers); the
 *   driver refuses while the engine still has containers on it, and we try
 *   again a little later. Leaving the cluster (and, briefly, stopping the
 *   agent) waits for those retries, so a process that exits next leaves no
 *   link behind.
 * - At a full set (a new session, an agent restart), overlays the engine has
 *   but the set does not are torn down; those it has are re-adopted by the
 *   driver (observe → plan → apply leaves what matches alone).
 */
export interface OverlayAttachments {
  /** A network assignment is new or changed: ensure it on this host now. */
  update(networkId: string, network: NetworkAssignment): void;
  /** The network left the set: tear it down (retried while containers remain). */
  remove(networkId: string): Promise<void>;
  /** A full set: tear down our overlays on the engine that it does not name. */
  retain(networkIds: ReadonlySet<string>): Promise<void>;
  /**
   * Waits, at most `withinMs`, for the teardowns still being retried; resolves
   * with the networks still on the host after that. Leaving the cluster calls
   * it: the retries are timers, and a process that exits next would drop them.
   */
  settle(withinMs: number): Promise<string[]>;
  /** Before the instance's container is created: its overlays exist here. Unfixable problems throw FatalStepError. */
  prepare(instance: Instance): Promise<void>;
  /** The instance's overlays as the translation wants them (after `prepare`), in attachment order. */
  attached(instance: Instance): AttachedNetwork[];
}

export interface AgentOverlaysDeps {
  /** The host's driver; a promise because it is made once the node's underlay address is known. */
  readonly driver: () => Promise<OverlayDriver>;
  /** Cluster network ids of the overlays our driver made on this host's engine (by their labels). */
  readonly listOnEngine: () => Promise<readonly string[]>;
  readonly log: Logger;
  readonly timers: Timers;
  /** Between teardown attempts while containers are still attached. */
  readonly retryMs?: number;
  readonly maxTeardownAttempts?: number;
}

interface Attempt {
  readonly promise: Promise<EnsureResult>;
  failed: boolean;
}

/** Errors a retry cannot fix: bad desired state, no WireGuard, a foreign network in the way. */
function isPermanent(err: unknown): err is StevedoreError {
  return err instanceof StevedoreError && (err.kind === 'invalidParameter' || err.kind === 'unavailable' || err.kind === 'conflict');
}

export function desiredOverlay(networkId: string, n: NetworkAssignment): OverlayNetworkDesired {
  return {
    networkId,
    name: n.name,
    vni: n.vni,
    subnet: n.subnet,
    gateway: n.gateway,
    mode: n.mode,
    encrypted: n.encrypted,
    internal: n.internal,
    peers: n.peers.map((p) => ({
      nodeId: p.nodeId,
      underlay: p.underlay,
      endpoints: p.endpoints.map((address) => ({ address })),
      ...(p.wireguard === undefined ? {} : { wireguard: p.wireguard }),
    })),
  };
}

export class AgentOverlays implements OverlayAttachments {
  private readonly desired = new Map<string, NetworkAssignment>();
  private readonly attempts = new Map<string, Attempt>();
  private readonly results = new Map<string, EnsureResult>();
  private readonly retries = new Map<string, unknown>();
  private readonly ensuredListeners = new Set<(networkId: string, result: EnsureResult) => void>();
  /** Teardowns that failed and are being retried: resolved when the chain ends (done, given up, wanted again, closed). */
  private readonly pendingTeardowns = new Map<string, { readonly done: Promise<void>; readonly end: () => void }>();

  constructor(private readonly deps: AgentOverlaysDeps) {}

  update(networkId: string, network: NetworkAssignment): void {
    this.desired.set(networkId, network);
    this.cancelRetry(networkId);
    this.endPending(networkId);
    this.kick(networkId);
  }

  private kick(networkId: string): Attempt {
    const n = this.desired.get(networkId);
    if (n === undefined) throw new Error(`network ${networkId} is not assigned to this node`);
    const attempt: Attempt = {
      promise: this.deps.driver().then((d) => d.ensure(desiredOverlay(networkId, n))),
      failed: false,
    };
    this.attempts.set(networkId, attempt);
    attempt.promise.then(
      (r) => {
        if (this.attempts.get(networkId) !== attempt) return;
        this.results.set(networkId, r);
        for (const l of this.ensuredListeners) {
          try {
            l(networkId, r);
          } catch (err) {
            // A listener's bug must not become an unhandled rejection of this chain.
            this.deps.log.error({ err, networkId }, 'an ensure listener failed');
          }
        }
      },
      (err: unknown) => {
        attempt.failed = true;
        this.deps.log.warn({ err, network: n.name }, 'bringing up the overlay failed');
      },
    );
    return attempt;
  }

  async prepare(instance: Instance): Promise<void> {
    for (const a of instance.networks) {
      const n = this.desired.get(a.networkId);
      if (n === undefined) continue; // not an overlay with a data plane (ingress): nothing to make here
      let attempt = this.attempts.get(a.networkId) ?? this.kick(a.networkId);
      // The last attempt failed (perhaps before this instance came): one fresh try per prepare.
      if (attempt.failed) attempt = this.kick(a.networkId);
      try {
        const r = await attempt.promise;
        this.results.set(a.networkId, r);
      } catch (err) {
        if (isPermanent(err)) throw new FatalStepError(`network ${n.name}: ${err.message}`);
        throw err;
      }
    }
  }

  /**
   * Told after every ensure that went through, whoever asked for it (an
   * assignment, or an instance's prepare retrying a failed one): the routing
   * mesh re-programs the host's leg when an ensure had to make it again.
   */
  onEnsured(listener: (networkId: string, result: EnsureResult) => void): () => void {
    this.ensuredListeners.add(listener);
    return () => this.ensuredListeners.delete(listener);
  }

  /** The latest ensure of an assigned network (the routing mesh programs the ingress bridge after it). */
  ensured(networkId: string): Promise<EnsureResult> {
    const attempt = this.attempts.get(networkId);
    if (attempt !== undefined && !attempt.failed) return attempt.promise;
    return this.kick(networkId).promise;
  }

  attached(instance: Instance): AttachedNetwork[] {
    const out: AttachedNetwork[] = [];
    for (const a of instance.networks) {
      const r = this.results.get(a.networkId);
      if (r === undefined || !this.desired.has(a.networkId)) continue;
      out.push({ name: r.dockerNetworkName, networkId: a.networkId, addresses: [...a.addresses], aliases: [...a.aliases] });
    }
    return out;
  }

  async remove(networkId: string): Promise<void> {
    this.desired.delete(networkId);
    this.results.delete(networkId);
    const inFlight = this.attempts.get(networkId);
    this.attempts.delete(networkId);
    await inFlight?.promise.catch(() => undefined); // let an ensure finish before undoing it
    await this.teardown(networkId, 1);
  }

  private async teardown(networkId: string, attempt: number): Promise<void> {
    if (this.desired.has(networkId)) return this.endPending(networkId); // wanted again meanwhile
    try {
      const driver = await this.deps.driver();
      const r = await driver.teardown(networkId);
      if (r.applied.length > 0) this.deps.log.info({ networkId }, 'overlay torn down: no instance on this host uses it any more');
      this.endPending(networkId);
    } catch (err) {
      const max = this.deps.maxTeardownAttempts ?? 30;
      if (attempt >= max) {
        this.deps.log.error({ err, networkId }, 'tearing down the overlay failed; giving up');
        this.endPending(networkId);
        return;
      }
      this.markPending(networkId);
      // Most often a container that is still being removed.
      this.deps.log.debug({ err, networkId, attempt }, 'tearing down the overlay failed; retrying');
      this.cancelRetry(networkId);
      this.retries.set(
        networkId,
        this.deps.timers.setTimeout(() => {
          this.retries.delete(networkId);
          void this.teardown(networkId, attempt + 1);
        }, this.deps.retryMs ?? 1_000),
      );
    }
  }

  private markPending(networkId: string): void {
    if (this.pendingTeardowns.has(networkId)) return;
    let end = (): void => undefined;
    const done = new Promise<void>((resolve) => (end = resolve));
    this.pendingTeardowns.set(networkId, { done, end });
  }

  private endPending(networkId: string): void {
    const p = this.pendingTeardowns.get(networkId);
    this.pendingTeardowns.delete(networkId);
    p?.end();
  }

  async settle(withinMs: number): Promise<string[]> {
    if (this.pendingTeardowns.size === 0) return [];
    const deadline = new AbortController();
    await Promise.race([
      Promise.all([...this.pendingTeardowns.values()].map((p) => p.done)),
      sleep(this.deps.timers, withinMs, deadline.signal),
    ]);
    deadline.abort(); // clears the deadline's timer when the teardowns won
    return [...this.pendingTeardowns.keys()];
  }

  private cancelRetry(networkId: string): void {
    const t = this.retries.get(networkId);
    if (t !== undefined) this.deps.timers.clearTimeout(t);
    this.retries.delete(networkId);
  }

  async retain(networkIds: ReadonlySet<string>): Promise<void> {
    for (const id of [...this.desired.keys()]) if (!networkIds.has(id)) await this.remove(id);
    let onEngine: readonly string[];
    try {
      onEngine = await this.deps.listOnEngine();
    } catch (err) {
      this.deps.log.warn({ err }, 'listing the overlays on the engine failed');
      return;
    }
    for (const id of onEngine) if (!networkIds.has(id) && !this.desired.has(id)) await this.teardown(id, 1);
  }

  /** The agent stops: no more retries (the data plane stays for live-restore; the next agent's full set tears down what is left). */
  close(): void {
    for (const id of [...this.retries.keys()]) this.cancelRetry(id);
    for (const id of [...this.pendingTeardowns.keys()]) this.endPending(id);
  }
}
