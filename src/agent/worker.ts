import type { AssignmentChange } from '../dispatcher/protocol.js';
import { isTerminal, type Instance, type InstanceStatus } from '../model/index.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { applyAssignments, emptyAssignments, itemsOfKind, type AssignmentSet } from './assignments.js';
import { readoptedStatus, statusFromContainer } from './exec/do.js';
import type { Controller } from './exec/controller.js';
import type { Executor } from './exec/executor.js';
import type { OverlayAttachments } from './overlay.js';
import type { TaskDiscovery } from './discovery.js';
import type { RoutingMesh } from './mesh.js';
import type { RecoveredContainer } from './labels.js';
import type { HostFiles } from './secrets.js';
import { TaskManager } from './task-manager.js';
import { sleep, type Timers } from './timers.js';

/** How long leaving waits for overlay teardowns still being retried (a retry comes every second). */
export const LeaveSettleMs = 10_000;

/**
 * The node's side of the assignments (Swarm's agent worker): keeps the
 * desired set, one TaskManager per assigned instance, and the containers
 * found on the engine at start (live-restore). An instance that leaves the set
 * is stopped and its container removed; a re-adopted container is driven from
 * where the engine says it is, so a running one is watched, never restarted.
 */
export interface WorkerDeps {
  readonly executor: Executor;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly log: Logger;
  readonly random: () => number;
  readonly report: (instanceId: string, status: InstanceStatus) => void;
  /** Secrets and configs on the host: fed from the assignment set, released with their instances. */
  readonly files?: HostFiles;
  /**
   * Overlay networks on the host: fed from the assignment set, made before an
   * instance's container, torn down after the last one. Without it instances
   * ignore their networks (the engine's default bridge).
   */
  readonly networks?: OverlayAttachments;
  /**
   * Service discovery on those overlays: fed the `services` items, told when
   * an instance's container runs (to program its VIPs) and before it is
   * stopped (to let the other hosts take it out of their pools).
   */
  readonly discovery?: TaskDiscovery;
  /** The routing mesh: fed the `ingress` item (its overlay goes through it to `networks`). */
  readonly mesh?: Pick<RoutingMesh, 'update' | 'remove'>;
  /** Standalone containers' network attachments (instances with `attachment`): their controllers watch the container. */
  readonly attachments?: { controller(instance: Instance): Controller };
}

function asInstance(raw: unknown): Instance | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const i = raw as Partial<Instance>;
  if (typeof i.id !== 'string' || typeof i.desiredState !== 'string' || !Array.isArray(i.template?.containers) || typeof i.status?.state !== 'string') return undefined;
  return raw as Instance;
}

export class Worker {
  private set: AssignmentSet = emptyAssignments;
  private readonly tasks = new Map<string, TaskManager>();
  private recovered = new Map<string, RecoveredContainer>();
  private queue: Promise<void> = Promise.resolve();
  private nodeId = '';

  constructor(private readonly deps: WorkerDeps) {}

  /** Lists this node's containers on the engine; their instance ids are the session's `knownInstances`. */
  async recover(nodeId: string): Promise<string[]> {
    this.nodeId = nodeId;
    const found = await this.deps.executor.recover(nodeId);
    this.recovered = new Map(found.map((c) => [c.instanceId, c]));
    return [...this.recovered.keys(), ...[...this.tasks.keys()].filter((id) => !this.recovered.has(id))].sort();
  }

  get assignments(): AssignmentSet {
    return this.set;
  }

  instanceIds(): string[] {
    return [...this.tasks.keys()].sort();
  }

  task(instanceId: string): TaskManager | undefined {
    return this.tasks.get(instanceId);
  }

  /** Applies one `assignments` message; messages are applied in order, one at a time. */
  apply(message: { readonly full: boolean; readonly changes: readonly AssignmentChange[] }): Promise<void> {
    const run = this.queue.then(() => this.applyNow(message));
    this.queue = run.catch((err: unknown) => this.deps.log.error({ err }, 'applying assignments failed'));
    return run;
  }

  private async applyNow(message: { readonly full: boolean; readonly changes: readonly AssignmentChange[] }): Promise<void> {
    const { set, diff } = applyAssignments(this.set, message);
    this.set = set;
    // File data first: an instance of this very message may need it when it prepares.
    for (const a of diff.updated) {
      if (a.kind === 'secret') this.deps.files?.setData('secret', a.id, a.secret.dataBase64);
      else if (a.kind === 'config') this.deps.files?.setData('config', a.id, a.config.dataBase64);
    }
    for (const r of diff.removed) if (r.kind === 'secret' || r.kind === 'config') this.deps.files?.setData(r.kind, r.id, undefined);
    // Networks next, also before instances: their ensure starts now and a new instance's prepare waits for it.
    for (const a of diff.updated) if (a.kind === 'network') this.deps.networks?.update(a.id, a.network);
    for (const a of diff.updated) if (a.kind === 'ingress') this.deps.mesh?.update(a.id, a.ingress);
    for (const a of diff.updated) if (a.kind === 'services') this.deps.discovery?.update(a.id, a.services);
    for (const r of diff.removed) if (r.kind === 'services') this.deps.discovery?.remove(r.id);
    if (message.full) this.deps.discovery?.retain(new Set(itemsOfKind(set, 'services').map((s) => s.id)));
    const removals: Promise<void>[] = [];
    for (const r of diff.removed) {
      if (r.kind !== 'instance') continue;
      const tm = this.tasks.get(r.id);
      if (tm === undefined) continue;
      this.tasks.delete(r.id);
      removals.push(this.removeTask(tm));
    }
    for (const a of diff.updated) {
      if (a.kind !== 'instance') continue;
      const instance = asInstance(a.instance);
      if (instance === undefined) {
        this.deps.log.warn({ instance: a.id }, 'ignoring an instance assignment without the model\'s shape');
        continue;
      }
      const tm = this.tasks.get(instance.id);
      if (tm !== undefined) tm.update(instance);
      else await this.startTask(instance);
    }
    if (message.full) {
      // Containers of instances this node no longer runs (removed while the agent was away).
      const assigned = new Set(itemsOfKind(set, 'instance').map((i) => i.id));
      for (const [id, c] of this.recovered) {
        if (assigned.has(id) || this.tasks.has(id)) continue;
        this.recovered.delete(id);
        removals.push(this.removeOrphan(c));
      }
    }
    await Promise.all(removals);
    // Only now, with the containers of the instances that left gone, can their networks go.
    const networks = this.deps.networks;
    if (networks !== undefined) {
      for (const r of diff.removed) if (r.kind === 'network') await networks.remove(r.id).catch((err: unknown) => this.deps.log.warn({ err, network: r.id }, 'tearing down an overlay failed'));
      for (const r of diff.removed) if (r.kind === 'ingress') await this.deps.mesh?.remove(r.id).catch((err: unknown) => this.deps.log.warn({ err, network: r.id }, 'tearing down the routing mesh failed'));
      if (message.full) {
        const kept = new Set([...itemsOfKind(set, 'network'), ...itemsOfKind(set, 'ingress')].map((n) => n.id));
        await networks.retain(kept).catch((err: unknown) => this.deps.log.warn({ err }, 'cleaning up overlays failed'));
      }
    }
    if (message.full) {
      // Files left by instances that are gone (removed while the agent was away).
      await this.deps.files?.retain(new Set(this.tasks.keys())).catch((err: unknown) => this.deps.log.warn({ err }, 'cleaning up secret files failed'));
    }
  }

  private async startTask(instance: Instance): Promise<void> {
    const found = this.recovered.get(instance.id);
    const containerId = found?.containerId ?? instance.status.container?.containerId;
    const attachment = instance.attachment !== undefined ? this.deps.attachments?.controller(instance) : undefined;
    const ctlr = attachment ?? this.deps.executor.controller(instance, this.nodeId, containerId);
    const networked = this.deps.networks === undefined ? ctlr : withNetworks(ctlr, instance, this.deps.networks);
    // An attachment's controller tells discovery about its container itself (it is not ours to start or stop).
    // Names and VIPs live on overlays only: an instance on none has nothing to program, and skipping it spares
    // the engine the inspect polling and the host an nsenter+nft per container (a 60-replica create is 60 of each).
    const discovery = attachment === undefined && instance.networks.length > 0 ? this.deps.discovery : undefined;
    const driven = discovery === undefined ? networked : withDiscovery(networked, instance, discovery, this.deps.log, this.deps.timers);
    let initial: InstanceStatus = instance.status;
    if (found !== undefined) {
      this.recovered.delete(instance.id);
      try {
        const c = await ctlr.inspect();
        if (c !== undefined && c.running && attachment === undefined && isTerminal(instance.status.state) && isTerminal(instance.desiredState)) {
          // The manager gave this task up while we were away (its node was down) and finished tasks
          // stay assigned for their history: its container must not go on running beside the replacement.
          this.deps.log.info({ instance: instance.id, state: instance.status.state }, 'stopping the container of a task finished while this node was away');
          await ctlr.shutdown().catch((err: unknown) => this.deps.log.warn({ err, instance: instance.id }, 'stopping the container of a task finished while this node was away failed'));
        } else if (c !== undefined) {
          initial = readoptedStatus(initial, statusFromContainer(c, this.deps.clock.now()));
        }
      } catch (err) {
        this.deps.log.warn({ err, instance: instance.id }, 'inspecting a re-adopted container failed');
      }
    }
    const tm = new TaskManager(instance, initial, driven, {
      clock: this.deps.clock,
      timers: this.deps.timers,
      log: this.deps.log,
      random: this.deps.random,
      report: this.deps.report,
    });
    this.tasks.set(instance.id, tm);
    if (initial !== instance.status) this.deps.report(instance.id, initial);
  }

  private async removeTask(tm: TaskManager): Promise<void> {
    try {
      await tm.removeContainer();
    } catch (err) {
      this.deps.log.warn({ err, instance: tm.id }, 'removing the container of a removed instance failed');
    }
  }

  private async removeOrphan(c: RecoveredContainer): Promise<void> {
    try {
      await this.deps.executor.removeContainer(c.containerId);
      await this.deps.files?.release(c.instanceId);
      this.deps.log.info({ instance: c.instanceId, container: c.containerId }, 'removed the container of an instance no longer assigned');
    } catch (err) {
      this.deps.log.warn({ err, container: c.containerId }, 'removing an unassigned container failed');
    }
  }

  /** The agent stops: stop driving instances, leave their containers running (live-restore). */
  async stop(): Promise<void> {
    await this.queue;
    await Promise.all([...this.tasks.values()].map((t) => t.close()));
    this.tasks.clear();
  }

  /** The node leaves the cluster: every instance stops and its container goes. */
  async leave(): Promise<void> {
    await this.queue;
    const all = [...this.tasks.values()];
    this.tasks.clear();
    await Promise.all(all.map((t) => this.removeTask(t)));
    const orphans = await this.deps.executor.recover(this.nodeId);
    await Promise.all(orphans.map((c) => this.removeOrphan(c)));
    this.recovered.clear();
    await this.deps.networks?.retain(new Set()).catch((err: unknown) => this.deps.log.warn({ err }, 'tearing down overlays at leave failed'));
    // A teardown refused a moment ago (the engine was still detaching a removed container) is retried on a timer;
    // the process may exit right after leaving, so wait for those retries instead of leaving links behind.
    const left = (await this.deps.networks?.settle(LeaveSettleMs)) ?? [];
    if (left.length > 0) this.deps.log.warn({ networks: left }, 'overlays still on the host after leaving; the next agent on this host removes them');
    this.set = emptyAssignments;
  }
}

/** The controller, with the instance's overlays made on the host before its container is created. */
export function withNetworks(inner: Controller, instance: Instance, networks: OverlayAttachments): Controller {
  return {
    prepare: async (signal) => {
      await networks.prepare(instance);
      await inner.prepare(signal);
    },
    start: (signal) => inner.start(signal),
    wait: (signal) => inner.wait(signal),
    shutdown: () => inner.shutdown(),
    terminate: () => inner.terminate(),
    remove: () => inner.remove(),
    inspect: () => inner.inspect(),
    preparedId: () => inner.preparedId?.(),
  };
}

/**
 * The controller, with service discovery told about the container: when it
 * runs (started, or found running after an agent restart: `wait` is where
 * both arrive) its namespace gets the VIP rules; before it is stopped, the
 * other hosts get a moment to drop it from their pools.
 */
export function withDiscovery(inner: Controller, instance: Instance, discovery: TaskDiscovery, log: Logger, timers: Timers): Controller {
  const register = async (): Promise<boolean> => {
    try {
      const c = await inner.inspect();
      if (c?.running === true && c.pid > 0) {
        discovery.running(instance, c.pid);
        return true;
      }
    } catch (err) {
      log.debug({ err, instance: instance.id }, 'inspecting a container for service discovery failed');
    }
    return false;
  };
  return {
    prepare: (signal) => inner.prepare(signal),
    start: async (signal) => {
      // With a healthcheck, start returns only once healthy; the task's own
      // connections to VIPs need the rules from its first moments.
      let settled = false;
      const early = (async () => {
        for (let i = 0; i < 100 && !settled; i++) {
          await sleep(timers, 100);
          if (!settled && (await register())) return;
        }
      })();
      try {
        await inner.start(signal);
      } finally {
        settled = true;
      }
      await early;
      await register();
    },
    wait: async (signal) => {
      await register();
      const code = await inner.wait(signal);
      discovery.gone(instance.id);
      return code;
    },
    shutdown: async () => {
      await discovery.beforeStop(instance);
      await inner.shutdown();
      discovery.gone(instance.id);
    },
    terminate: async () => {
      await inner.terminate();
      discovery.gone(instance.id);
    },
    remove: async () => {
      discovery.gone(instance.id);
      await inner.remove();
    },
    inspect: () => inner.inspect(),
    preparedId: () => inner.preparedId?.(),
  };
}
