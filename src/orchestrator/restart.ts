import { NodeRestartingMessage, stateRank, type Instance, type Node, type Workload } from '../model/index.js';
import type { ReadTx, WriteTx } from '../store/index.js';
import { Component, type ComponentDeps, type WatchEventOf } from './component.js';
import { globalNodeMatches, nodeSheds } from './eligibility.js';
import {
  byAge,
  currentJobIteration,
  isDone,
  isJobKind,
  isReplicatedKind,
  newInstance,
  runningRank,
  setDesired,
  slotKey,
  wantedRunning,
} from './instances.js';
import { recordRestart, shouldRestart, type RestartHistory } from './restart-policy.js';

export interface RestartSupervisorOptions extends ComponentDeps {
  /** How long a node that vanished may stay down before its replicated instances are rescheduled (default 2 s). */
  readonly nodeDownGraceMs?: number;
  /** The same for a node whose agent said it was restarting (default 30 s). */
  readonly nodeRestartGraceMs?: number;
  /** How long a replacement waits for the instance it replaces to stop (swarmkit: 1 minute). */
  readonly oldInstanceTimeoutMs?: number;
}

/**
 * Swarm reschedules as soon as a node is down, but it needs ~15 s of missed
 * heartbeats to say so. We see a lost session at once (or within the 3 s ping
 * deadline), so a short grace keeps a reconnecting agent (its first retry is
 * within a second) from moving everything, and the instances still run
 * elsewhere well before Swarm has noticed.
 */
export const DefaultNodeDownGraceMs = 2_000;
/** An agent restart (upgrade, supervisor) keeps its containers and is back in a few seconds: no reason to move them. */
export const DefaultNodeRestartGraceMs = 30_000;
export const DefaultOldInstanceTimeoutMs = 60_000;

interface DelayedStart {
  /** The instance it replaces, while waiting for it to stop. */
  waitFor?: string;
  timer: unknown;
  phase: 'delay' | 'wait-stop';
  /** It failed while waiting: restart it once the delay has run out. */
  restartWhenDue?: boolean;
}

const watched = ['instance', 'node', 'workload'] as const;
type Watched = (typeof watched)[number];

/**
 * The restart supervisor (swarmkit's orchestrator/restart, and the task-level
 * half of the replicated and global orchestrators).
 *
 * When an instance desired to run (`running`, or `ready` while it waits)
 * reaches a final observed state — complete, failed, rejected, shutdown it
 * was not asked for, orphaned — the restart policy decides:
 * - restart: in one transaction the old instance's desired state becomes
 *   `shutdown` and a replacement is made in the same slot (on the same node
 *   for global kinds) with the workload's current template, desired `ready`
 *   (Swarm's delayed start: the scheduler places it and the agent prepares it
 *   at once). After the restart delay (none on a drained node), and once the
 *   old instance has stopped (at most a minute), its desired state becomes
 *   `running`.
 * - no restart (condition none; on-failure after exit 0; a job that
 *   completed; max attempts within the window reached): the old instance's
 *   desired state becomes `complete` — finished, kept, not replaced.
 * Attempts are counted per slot (per node for global kinds) and per spec
 * version, in memory as in Swarm, seeded from the store at start.
 *
 * Nodes: the replicated instances of a node that is drained, removed, or down
 * for longer than a short grace are restarted elsewhere the same way, without
 * the restart delay (they did not crash, and a down node already waited out
 * the grace). Global instances of such nodes are the
 * global reconciler's (it shuts them down).
 */
export class RestartSupervisor extends Component<Watched> {
  protected readonly kinds = watched;
  private candidates = new Set<string>();
  private readonly delays = new Map<string, DelayedStart>(); // replacement id → its delayed start
  private readonly waiting = new Map<string, string>(); // old instance id → replacement id
  private readonly downTimers = new Map<string, unknown>();
  /** Nodes whose down grace ran out: their replicated instances go elsewhere. */
  private readonly downExpired = new Set<string>();
  private readonly history = new Map<string, RestartHistory>();
  private readonly graceMs: number;
  private readonly restartGraceMs: number;
  private readonly oldTimeoutMs: number;
  private toStart = new Set<string>();

  constructor(opts: RestartSupervisorOptions) {
    super(opts);
    this.graceMs = opts.nodeDownGraceMs ?? DefaultNodeDownGraceMs;
    this.restartGraceMs = opts.nodeRestartGraceMs ?? DefaultNodeRestartGraceMs;
    this.oldTimeoutMs = opts.oldInstanceTimeoutMs ?? DefaultOldInstanceTimeoutMs;
  }

  protected init(tx: ReadTx): void {
    const now = this.clock.now();
    const workloads = new Map(tx.list('workload').map((w) => [w.id, w]));
    const groups = new Map<string, Instance[]>();
    for (const i of tx.list('instance')) {
      const w = workloads.get(i.workloadId);
      if (w === undefined) continue;
      if (wantedRunning(i) && isDone(i)) this.candidates.add(i.id);
      // Replacements that were waiting when the last manager stopped: start them when their delay is over.
      if (i.desiredState === 'ready') this.delayStart(i.id, Math.max(0, i.createdAt + i.template.restartPolicy.delayMs - now), undefined);
      const k = historyKey(w, i);
      let g = groups.get(k);
      if (g === undefined) groups.set(k, (g = []));
      g.push(i);
    }
    // Every instance of a slot and spec version after the first was a restart.
    for (const [k, g] of groups) {
      g.sort(byAge);
      const last = g[g.length - 1]!;
      const same = g.filter((i) => i.specVersion === last.specVersion);
      if (same.length > 1) this.history.set(k, { specVersion: last.specVersion, restarts: same.slice(1).map((i) => i.createdAt) });
    }
    for (const n of tx.list('node')) {
      if (n.status.state === 'down') this.startDownGrace(n);
      if (n.spec.availability === 'drain') this.addNodeInstances(tx, n.id);
    }
  }

  protected onEvent(ev: WatchEventOf<Watched>): void {
    switch (ev.kind) {
      case 'instance': {
        const i = ev.object;
        if (ev.action === 'delete') {
          this.cancelDelay(i.id);
          return;
        }
        if (wantedRunning(i) && isDone(i)) this.candidates.add(i.id);
        if (isDone(i) || !wantedRunning(i)) this.oldStopped(i.id);
        return;
      }
      case 'node': {
        const n = ev.object;
        if (ev.action === 'delete') {
          this.clearDownGrace(n.id);
          this.downExpired.add(n.id);
          this.store.view((tx) => this.addNodeInstances(tx, n.id));
          this.nodeGone(n.id);
          return;
        }
        if (n.status.state === 'down') {
          this.startDownGrace(n);
          this.nodeGone(n.id);
        } else {
          this.clearDownGrace(n.id);
          this.downExpired.delete(n.id);
        }
        const drained = n.spec.availability === 'drain' && (ev.action === 'create' || ev.old.spec.availability !== 'drain');
        if (drained) this.store.view((tx) => this.addNodeInstances(tx, n.id));
        return;
      }
      case 'workload':
        if (ev.action === 'delete') for (const k of [...this.history.keys()]) if (k.startsWith(`${ev.object.id}/`)) this.history.delete(k);
        return;
    }
  }

  protected override onStop(): void {
    for (const d of this.delays.values()) this.timers.clearTimeout(d.timer);
    for (const t of this.downTimers.values()) this.timers.clearTimeout(t);
    this.delays.clear();
    this.waiting.clear();
    this.downTimers.clear();
  }

  protected async flush(): Promise<void> {
    const work = this.candidates;
    const starts = this.toStart;
    this.candidates = new Set();
    this.toStart = new Set();
    const after: (() => void)[] = [];
    try {
      await this.store.update((tx) => {
        after.length = 0;
        for (const id of starts) this.startNow(tx, id, work);
        for (const id of work) this.consider(tx, id, after);
      });
    } catch (err) {
      for (const id of work) this.candidates.add(id);
      for (const id of starts) this.toStart.add(id);
      throw err;
    }
    // Timers only once the replacements exist.
    for (const f of after) f();
  }

  /** The restart decision for one instance, inside the transaction. */
  private consider(tx: WriteTx, id: string, after: (() => void)[]): void {
    const i = tx.get('instance', id);
    if (i === undefined || !wantedRunning(i)) return;
    const w = tx.get('workload', i.workloadId);
    if (w === undefined) return; // the task reaper removes what a deleted workload leaves
    const node = i.nodeId === undefined ? undefined : tx.get('node', i.nodeId);
    const kind = w.spec.mode.kind;
    // Still going: only a lost node (removed, drained, down past the grace) moves a replicated
    // instance, so past this check a still-going instance is one leaving a lost node.
    const lostNode = !isDone(i);
    if (lostNode) {
      if (!isReplicatedKind(kind) || i.nodeId === undefined) return;
      if (!(node === undefined || node.spec.availability === 'drain' || this.downExpired.has(i.nodeId))) return;
    }
    if (this.delays.has(i.id)) {
      // It failed during its own delayed start: restart once that delay is over (no tight loops).
      const d = this.delays.get(i.id)!;
      d.restartWhenDue = true;
      return;
    }
    if (isJobKind(kind) && (i.jobIteration ?? 0) !== currentJobIteration(w)) {
      setDesired(tx, i, 'shutdown'); // an older run: the jobs orchestrator does not want it back
      return;
    }
    if (!isReplicatedKind(kind) && (node === undefined || nodeSheds(node) || node.spec.availability === 'pause' || !globalNodeMatches(node, w.spec.template))) {
      setDesired(tx, i, 'shutdown'); // global: the node no longer takes this workload
      return;
    }
    const key = historyKey(w, i);
    if (!shouldRestart(i, kind, this.history.get(key))) {
      setDesired(tx, i, 'complete');
      return;
    }
    setDesired(tx, i, 'shutdown');
    const now = this.clock.now();
    // The restart delay keeps a crashing task from looping; an instance moved off a lost node did
    // not crash, and a down node has already waited out the grace. (Swarm adds the delay there too
    // and skips it only for drained nodes.)
    const delay = lostNode || node?.spec.availability === 'drain' ? 0 : i.template.restartPolicy.delayMs;
    // Wait for the old one to stop, unless it has already or its node will never say.
    const waitStop = !isDone(i) && node !== undefined && node.status.state !== 'down' && !this.downExpired.has(node.id);
    const replacement = tx.create(
      'instance',
      newInstance(this.ids, w, now, {
        ...(isReplicatedKind(kind) ? { slot: i.slot ?? 0 } : { nodeId: i.nodeId ?? '' }),
        desiredState: delay === 0 && !waitStop ? 'running' : 'ready',
        ...(isJobKind(kind) ? { jobIteration: currentJobIteration(w) } : {}),
      }),
    );
    if (i.template.restartPolicy.maxAttempts > 0) this.history.set(key, recordRestart(this.history.get(key), replacement.specVersion, now, i.template.restartPolicy.windowMs));
    this.log.debug({ workload: w.id, old: i.id, replacement: replacement.id, delay }, 'restarting instance');
    if (replacement.desiredState === 'ready') after.push(() => this.delayStart(replacement.id, delay, waitStop ? i.id : undefined));
  }

  /** Moves a waiting replacement to `running` (swarmkit's StartNow), or restarts it if it failed meanwhile. */
  private startNow(tx: WriteTx, id: string, work: Set<string>): void {
    const d = this.delays.get(id);
    this.cancelDelay(id);
    const i = tx.get('instance', id);
    if (i === undefined || stateRank(i.desiredState) >= runningRank) return;
    if (isDone(i) || d?.restartWhenDue === true) {
      work.add(id);
      return;
    }
    tx.update('instance', { ...i, desiredState: 'running' });
  }

  private delayStart(id: string, delayMs: number, waitFor: string | undefined): void {
    this.cancelDelay(id);
    const d: DelayedStart = { phase: 'delay', timer: undefined };
    this.delays.set(id, d);
    const afterDelay = (): void => {
      if (this.delays.get(id) !== d) return;
      if (waitFor === undefined || this.isStoppedOrGone(waitFor)) return this.due(id);
      d.phase = 'wait-stop';
      d.waitFor = waitFor;
      this.waiting.set(waitFor, id);
      d.timer = this.timers.setTimeout(() => this.due(id), this.oldTimeoutMs);
    };
    d.timer = this.timers.setTimeout(afterDelay, delayMs);
  }

  private isStoppedOrGone(id: string): boolean {
    return this.store.view((tx) => {
      const i = tx.get('instance', id);
      if (i === undefined || isDone(i)) return true;
      const n = i.nodeId === undefined ? undefined : tx.get('node', i.nodeId);
      return n === undefined || n.status.state === 'down';
    });
  }

  private due(id: string): void {
    if (!this.delays.has(id)) return;
    this.toStart.add(id);
    this.kick();
  }

  /** The old instance an update or restart waits on has stopped. */
  private oldStopped(oldId: string): void {
    const id = this.waiting.get(oldId);
    if (id === undefined) return;
    const d = this.delays.get(id);
    if (d?.phase === 'wait-stop') this.due(id);
  }

  /** A node went down or away: replacements waiting on its instances need not wait. */
  private nodeGone(nodeId: string): void {
    const ids = this.store.view((tx) => tx.list('instance', (i) => i.nodeId === nodeId && this.waiting.has(i.id)).map((i) => i.id));
    for (const oldId of ids) this.oldStopped(oldId);
  }

  private cancelDelay(id: string): void {
    const d = this.delays.get(id);
    if (d === undefined) return;
    this.timers.clearTimeout(d.timer);
    if (d.waitFor !== undefined) this.waiting.delete(d.waitFor);
    this.delays.delete(id);
  }

  private addNodeInstances(tx: ReadTx, nodeId: string): void {
    for (const i of tx.list('instance', (x) => x.nodeId === nodeId && wantedRunning(x))) this.candidates.add(i.id);
  }

  private startDownGrace(node: Node): void {
    const nodeId = node.id;
    if (this.downTimers.has(nodeId) || this.downExpired.has(nodeId)) return;
    const grace = node.status.message === NodeRestartingMessage ? this.restartGraceMs : this.graceMs;
    this.downTimers.set(
      nodeId,
      this.timers.setTimeout(() => {
        this.downTimers.delete(nodeId);
        this.downExpired.add(nodeId);
        this.store.view((tx) => this.addNodeInstances(tx, nodeId));
        this.kick();
      }, grace),
    );
  }

  private clearDownGrace(nodeId: string): void {
    const t = this.downTimers.get(nodeId);
    if (t !== undefined) this.timers.clearTimeout(t);
    this.downTimers.delete(nodeId);
  }
}

function historyKey(w: Workload, i: Instance): string {
  return `${w.id}/${slotKey(w.spec.mode.kind, i)}`;
}

