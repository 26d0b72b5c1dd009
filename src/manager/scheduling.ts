import { stateRank, type Instance, type InstanceStatus } from '../model/index.js';
import { awaitingNetworkAllocation } from '../allocator/needs.js';
import { schedule, type SchedulingResult } from '../scheduler/index.js';
import type { ReadTx } from '../store/index.js';
import { Component, changes, type ComponentDeps, type WatchEventOf } from '../orchestrator/component.js';
import { desiredChanged } from '../orchestrator/instances.js';

export interface SchedulingLoopOptions extends ComponentDeps {
  /** The least time between two scheduling passes (default 50 ms; 0: every turn may have one). */
  readonly tickMs?: number;
}

export const DefaultSchedulingTickMs = 50;

/** Swarm's words while a task waits for a node (the allocator's message). */
export const PendingMessage = 'pending task scheduling';
export const AssignedMessage = 'scheduler assigned task to node';

const pendingRank = stateRank('pending');
const assignedRank = stateRank('assigned');
const runningRank = stateRank('running');
const completeRank = stateRank('complete');

const watched = ['instance', 'node', 'workload'] as const;
type Watched = (typeof watched)[number];

/**
 * The scheduler component (swarmkit's manager/scheduler around the pure
 * `schedule`). It watches for instances waiting for a node — `new` ones from
 * the orchestrator (those on no network become `pending` here; the allocator
 * moves the others) and `pending` ones — and for changes that may make room
 * (nodes, instances that stop, workloads' ports). A pass builds one snapshot
 * (nodes, instances, workloads), calls `schedule`, and writes the plan in one
 * store update: `nodeId` and status `assigned` for the placed, status
 * `pending` with Swarm's explanation in `err` ("no suitable node (…)", what
 * `docker service ps` shows) for the others.
 *
 * Batching, leading edge: the first instance to wait gets a pass on the next
 * turn, and passes then come at most one per tick, each taking everything
 * that waits. swarmkit waits for a 50 ms quiet gap before every pass instead;
 * since the orchestrator writes all of a service's new tasks in one commit,
 * that wait only delayed every `service create` and `scale` by 50 ms.
 *
 * Optimistic: an instance changed since the snapshot, or a node gone or no
 * longer ready, is skipped, and the change that caused it brings another
 * pass. A pass that changes nothing writes nothing, so the loop goes quiet.
 */
export class SchedulingLoop extends Component<Watched> {
  protected readonly kinds = watched;
  private readonly tickMs: number;
  private wanted = false;
  private tickTimer: unknown;
  private lastPassAt = Number.NEGATIVE_INFINITY;

  constructor(opts: SchedulingLoopOptions) {
    super(opts);
    this.tickMs = opts.tickMs ?? DefaultSchedulingTickMs;
  }

  protected init(tx: ReadTx): void {
    this.wanted = tx.list('instance', waiting).length > 0;
  }

  protected onEvent(ev: WatchEventOf<Watched>): void {
    switch (ev.kind) {
      case 'instance':
        if (ev.action === 'delete') this.wanted ||= holdsNode(ev.object);
        else if (waiting(ev.object)) this.wanted ||= changes(ev, (a, b) => a.status.state !== b.status.state || desiredChanged(a, b));
        // An instance that stops (or is let go) frees its node's resources and ports.
        else if (ev.action === 'update' && holdsNode(ev.old) && !holdsNode(ev.object)) this.wanted = true;
        return;
      case 'node':
      case 'workload':
        this.wanted = true;
        return;
    }
  }

  protected override onStop(): void {
    if (this.tickTimer !== undefined) this.timers.clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
  }

  /** A pass now if the last one is a tick ago, else once it is. */
  protected flush(): Promise<void> {
    if (!this.wanted || this.tickTimer !== undefined) return Promise.resolve();
    const wait = Math.max(0, this.lastPassAt + this.tickMs - this.clock.now());
    this.tickTimer = this.timers.setTimeout(() => {
      this.tickTimer = undefined;
      void this.pass().catch((err: unknown) => {
        this.log.warn({ err }, 'scheduling pass failed; retrying');
        this.wanted = true;
        this.kick();
      });
    }, wait);
    return Promise.resolve();
  }

  private running = false;

  /** One scheduling pass. Public for tests that drive the loop by hand. */
  async pass(): Promise<SchedulingResult | undefined> {
    if (this.running || this.isStopped) {
      this.wanted = true;
      return undefined;
    }
    this.running = true;
    this.wanted = false;
    this.lastPassAt = this.clock.now();
    try {
      const now = this.clock.now();
      const snap = this.store.view((tx) => {
        const instances = tx.list('instance');
        const workloads = tx.list('workload');
        // Instances that need addresses wait in `new` until the network allocator (src/allocator) writes them and moves them to `pending`.
        const byId = new Map(workloads.map((w) => [w.id, w]));
        return { nodes: tx.list('node'), instances, workloads, pending: instances.filter((i) => waiting(i) && !awaitingNetworkAllocation(i, byId.get(i.workloadId))) };
      });
      if (snap.pending.length === 0) return undefined;
      const result = schedule(snap, snap.pending, now);
      const seen = new Map(snap.pending.map((i) => [i.id, i]));
      await this.store.update((tx) => {
        for (const a of result.assignments) {
          const i = tx.get('instance', a.instanceId);
          const node = tx.get('node', a.nodeId);
          if (i === undefined || i.version !== seen.get(i.id)?.version || node === undefined || node.status.state !== 'ready') continue;
          tx.update('instance', { ...i, nodeId: a.nodeId, status: status(i, 'assigned', AssignedMessage, now) });
        }
        for (const u of result.unschedulable) {
          const i = tx.get('instance', u.instanceId);
          if (i === undefined || i.version !== seen.get(i.id)?.version) continue;
          if (i.status.state === 'pending' && i.status.err === u.reason) continue; // nothing new to say
          tx.update('instance', { ...i, status: { ...status(i, 'pending', PendingMessage, now), err: u.reason } });
        }
      });
      return result;
    } finally {
      this.running = false;
      if (this.wanted) this.kick();
    }
  }
}

/** Waiting for a node: new or pending, and still wanted. */
function waiting(i: Instance): boolean {
  const s = stateRank(i.status.state);
  const d = stateRank(i.desiredState);
  return s <= pendingRank && d <= completeRank;
}

/** Takes resources on its node. */
function holdsNode(i: Instance): boolean {
  const s = stateRank(i.status.state);
  return i.nodeId !== undefined && s >= assignedRank && s <= runningRank;
}

function status(i: Instance, state: 'pending' | 'assigned', message: string, now: number): InstanceStatus {
  const { err: _dropped, ...rest } = i.status;
  return { ...rest, state, message, timestamp: now };
}
