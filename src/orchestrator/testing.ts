/**
 * A whole Swarm-mode manager in one process for tests (swarmkit's fake
 * executor idea): a MemoryStore, a ManualClock with ManualTimers, the
 * orchestration components, and a fake agent that plays every node's part.
 * Time only moves when a test says so; `settle()` runs the components until
 * nothing changes any more. Not imported by production code.
 */
import { advance, isTerminal, stateRank, type Instance, type InstanceStatus, type Node, type TaskState, type Workload, type WorkloadMode, type UpdatePolicy } from '../model/index.js';
import { mockNode, mockTemplate, type MockNodeOptions, type MockTemplateOptions } from '../scheduler/fixtures.js';
import { MemoryStore, type NewObject } from '../store/index.js';
import { ManualClock } from '../util/clock.js';
import { sequentialIds } from '../util/ids.js';
import { silentLogger } from '../util/log.js';
import { Component, type ComponentDeps } from './component.js';
import { startOrchestration, type Orchestration, type OrchestrationOptions } from './index.js';
import type { Timers } from './timers.js';

export const T0 = Date.UTC(2026, 0, 1);

interface ManualTimer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** Timers on a ManualClock: they fire only when `fireDue` is called at or after their time. */
export class ManualTimers implements Timers {
  private readonly pending = new Map<number, ManualTimer>();
  private seq = 0;

  constructor(readonly clock: ManualClock) {}

  setTimeout(fn: () => void, ms: number): unknown {
    const t = { due: this.clock.now() + Math.max(0, ms), seq: ++this.seq, fn };
    this.pending.set(t.seq, t);
    return t.seq;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.pending.delete(handle);
  }

  /** The earliest timer, if any is due by `until`. */
  next(until: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.pending.values()) if (t.due <= until && (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq))) best = t;
    return best;
  }

  fire(t: ManualTimer): void {
    this.pending.delete(t.seq);
    t.fn();
  }

  /** Fires every timer due now; returns how many fired. */
  fireDue(): number {
    let n = 0;
    for (let t = this.next(this.clock.now()); t !== undefined; t = this.next(this.clock.now())) {
      this.fire(t);
      n++;
    }
    return n;
  }

  get size(): number {
    return this.pending.size;
  }
}

/** What the fake agent makes of an instance it is told to run. */
export type Outcome = 'run' | 'fail' | 'complete' | 'reject' | 'hang';

/**
 * Plays every node's agent: an assigned instance goes to `running` (or to
 * what `outcome` says), one desired past running goes to `shutdown`, one
 * desired `ready` stops at `ready`. Nodes in `down` report nothing. Status
 * only moves forward (`advance`).
 */
export class FakeAgent extends Component {
  protected readonly kinds = ['instance', 'node'] as const;
  outcome: (i: Instance) => Outcome = () => 'run';
  readonly down = new Set<string>();

  /** Stops (true) or resumes (false) the agent of `nodeId`; a resumed agent reports at once. */
  silence(nodeId: string, silent: boolean): void {
    if (silent) this.down.add(nodeId);
    else this.down.delete(nodeId);
    this.kick();
  }

  constructor(deps: ComponentDeps) {
    super(deps, deps.timers!);
  }

  protected init(): void {}

  protected onEvent(): void {}

  /** Makes an instance fail (exit 1) or complete now, as if its container exited. */
  async exit(instanceId: string, code: number): Promise<void> {
    await this.store.update((tx) => {
      const i = tx.get('instance', instanceId);
      if (i === undefined || isTerminal(i.status.state)) return;
      tx.update('instance', { ...i, status: this.status(i, code === 0 ? 'complete' : 'failed', code === 0 ? 'finished' : 'started', code === 0 ? undefined : `task: non-zero exit (${code})`) });
    });
  }

  /** At most this many reports per transaction (a slow agent); the rest follow after `paceMs`. */
  pace: { readonly batch: number; readonly paceMs: number } | undefined;

  protected async flush(): Promise<void> {
    let more = false;
    await this.store.update((tx) => {
      let n = 0;
      for (const i of tx.list('instance', (x) => x.nodeId !== undefined && stateRank(x.status.state) >= stateRank('assigned') && !isTerminal(x.status.state))) {
        if (this.down.has(i.nodeId!)) continue;
        const next = this.next(i);
        if (next === undefined) continue;
        if (this.pace !== undefined && n >= this.pace.batch) {
          more = true;
          break;
        }
        tx.update('instance', { ...i, status: next });
        n++;
      }
    });
    if (more && this.pace !== undefined) this.timers.setTimeout(() => this.kick(), this.pace.paceMs);
  }

  private next(i: Instance): InstanceStatus | undefined {
    if (stateRank(i.desiredState) > stateRank('running')) return this.status(i, 'shutdown', 'shutdown');
    if (i.desiredState === 'ready') return stateRank(i.status.state) < stateRank('ready') ? this.status(i, 'ready', 'prepared') : undefined;
    if (i.status.state === 'running') return undefined;
    switch (this.outcome(i)) {
      case 'run':
        return this.status(i, 'running', 'started');
      case 'fail':
        return this.status(i, 'failed', 'started', 'task: non-zero exit (1)');
      case 'complete':
        return this.status(i, 'complete', 'finished');
      case 'reject':
        return this.status(i, 'rejected', 'rejected', 'No such image: nope:latest');
      case 'hang':
        return i.status.state === 'starting' ? undefined : this.status(i, 'starting', 'starting');
    }
  }

  private status(i: Instance, state: TaskState, message: string, err?: string): InstanceStatus {
    advance(i.status.state, state);
    return { state, message, timestamp: this.clock.now(), ...(err === undefined ? {} : { err }) };
  }
}

const update: UpdatePolicy = { parallelism: 1, delayMs: 0, failureAction: 'pause', monitorMs: 5_000, maxFailureRatio: 0, order: 'stop-first' };

export interface WorkloadOptions {
  readonly mode?: WorkloadMode;
  readonly template?: MockTemplateOptions;
  readonly restart?: Partial<Workload['spec']['template']['restartPolicy']>;
  readonly update?: Partial<UpdatePolicy>;
  readonly rollback?: Partial<UpdatePolicy>;
  readonly image?: string;
}

export function workload(id: string, o: WorkloadOptions = {}): NewObject<'workload'> {
  const t = mockTemplate(o.template);
  const template = {
    ...t,
    containers: t.containers.map((c) => ({ ...c, image: o.image ?? c.image })),
    restartPolicy: { ...t.restartPolicy, ...o.restart },
  };
  return {
    id,
    spec: {
      name: id,
      labels: {},
      mode: o.mode ?? { kind: 'replicated', replicas: 1 },
      template,
      update: { ...update, ...o.update },
      rollback: { ...update, ...o.rollback },
      endpoint: { mode: 'vip', ports: [] },
    },
    specVersion: 1,
  };
}

export interface HarnessOptions extends Partial<OrchestrationOptions> {
  readonly nodes?: number;
  /** Start the fake agent (default true). */
  readonly agent?: boolean;
}

/** One manager, one store, N fake nodes; time moves by hand. */
export class Harness {
  readonly clock = new ManualClock(T0);
  readonly timers = new ManualTimers(this.clock);
  readonly ids = sequentialIds('t');
  readonly store = new MemoryStore({ clock: this.clock });
  readonly log = silentLogger;
  orchestration: Orchestration | undefined;
  readonly agent: FakeAgent;
  private agentAbort = new AbortController();

  constructor(private readonly opts: HarnessOptions = {}) {
    this.agent = new FakeAgent(this.deps());
  }

  deps(): ComponentDeps {
    return { store: this.store, clock: this.clock, ids: this.ids, log: this.log, timers: this.timers };
  }

  async start(): Promise<this> {
    for (let n = 1; n <= (this.opts.nodes ?? 0); n++) await this.addNode({ id: `node-${n}` });
    if (this.opts.agent !== false) void this.agent.run(this.agentAbort.signal);
    this.startOrchestration();
    await this.settle();
    return this;
  }

  startOrchestration(): void {
    this.orchestration = startOrchestration({ schedulingTickMs: 0, ...this.opts, ...this.deps() });
  }

  /** Drops every component (a manager that died); the store stays. */
  stopOrchestration(): void {
    this.orchestration?.stop();
    this.orchestration = undefined;
  }

  async restartOrchestration(): Promise<void> {
    this.stopOrchestration();
    this.startOrchestration();
    await this.settle();
  }

  stop(): void {
    this.stopOrchestration();
    this.agentAbort.abort();
    this.agent.stop();
  }

  /** Runs components, the agent and due timers until nothing changes for a few turns. */
  async settle(maxTurns = 200_000): Promise<void> {
    let last = -1;
    let quiet = 0;
    for (let turn = 0; turn < maxTurns; turn++) {
      await new Promise<void>((r) => setImmediate(r));
      const fired = this.timers.fireDue();
      const idle = (this.orchestration?.idle() ?? true) && this.agent.idle;
      if (fired === 0 && idle && this.store.version === last) {
        if (++quiet >= 4) return;
      } else {
        quiet = 0;
        last = this.store.version;
      }
    }
    throw new Error('the orchestration did not settle');
  }

  /** Moves time by `ms`, firing timers in order and settling after each. */
  async advance(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    await this.settle();
    for (let t = this.timers.next(target); t !== undefined; t = this.timers.next(target)) {
      if (t.due > this.clock.now()) this.clock.advance(t.due - this.clock.now());
      this.timers.fire(t);
      await this.settle();
    }
    if (target > this.clock.now()) this.clock.advance(target - this.clock.now());
    await this.settle();
  }

  async addNode(o: MockNodeOptions & { readonly id: string }): Promise<Node> {
    const n = mockNode({ hostname: o.id, ...o });
    return this.store.update((tx) => tx.create('node', n));
  }

  async updateNode(id: string, f: (n: Node) => Node): Promise<void> {
    await this.store.update((tx) => {
      const n = tx.get('node', id);
      if (n === undefined) throw new Error(`no node ${id}`);
      tx.update('node', f(n));
    });
  }

  async setNodeState(id: string, state: Node['status']['state'], message?: string): Promise<void> {
    await this.updateNode(id, (n) => ({ ...n, status: { ...n.status, state, ...(message === undefined ? {} : { message }) } }));
  }

  async setAvailability(id: string, availability: Node['spec']['availability']): Promise<void> {
    await this.updateNode(id, (n) => ({ ...n, spec: { ...n.spec, availability } }));
  }

  async createWorkload(w: NewObject<'workload'>): Promise<Workload> {
    return this.store.update((tx) => tx.create('workload', w));
  }

  /** What the API does on `docker service update`: new spec, old one kept, version bumped, update status cleared. */
  async updateSpec(id: string, f: (s: Workload['spec']) => Workload['spec']): Promise<Workload> {
    return this.store.update((tx) => {
      const w = tx.get('workload', id);
      if (w === undefined) throw new Error(`no workload ${id}`);
      const { updateStatus: _cleared, ...rest } = w;
      return tx.update('workload', { ...rest, spec: f(w.spec), previousSpec: w.spec, specVersion: w.specVersion + 1 });
    });
  }

  async scale(id: string, replicas: number): Promise<Workload> {
    return this.updateSpec(id, (s) => ({ ...s, mode: { kind: 'replicated', replicas } }));
  }

  async deleteWorkload(id: string): Promise<void> {
    await this.store.update((tx) => tx.delete('workload', id));
  }

  workload(id: string): Workload | undefined {
    return this.store.view((tx) => tx.get('workload', id));
  }

  instances(workloadId: string): Instance[] {
    return this.store.view((tx) => tx.list('instance', (i) => i.workloadId === workloadId)).slice().sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0) || a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  /** Desired to run (or about to). */
  live(workloadId: string): Instance[] {
    return this.instances(workloadId).filter((i) => stateRank(i.desiredState) <= stateRank('running'));
  }

  /** Observed running and desired running. */
  running(workloadId: string): Instance[] {
    return this.live(workloadId).filter((i) => i.status.state === 'running');
  }
}
