import { SchedulingLoop } from '../manager/scheduling.js';
import type { Component, ComponentDeps } from './component.js';
import { GlobalOrchestrator } from './global.js';
import { JobsOrchestrator } from './jobs.js';
import { ReplicatedOrchestrator } from './replicated.js';
import { RestartSupervisor } from './restart.js';
import { TaskReaper } from './reaper.js';
import { Updater } from './update.js';

export { Component, type ComponentDeps } from './component.js';
export { ReplicatedOrchestrator, reconcileReplicated, scaleDownOrder } from './replicated.js';
export { GlobalOrchestrator, reconcileGlobal } from './global.js';
export { JobsOrchestrator } from './jobs.js';
export { RestartSupervisor, DefaultNodeDownGraceMs, DefaultNodeRestartGraceMs, type RestartSupervisorOptions } from './restart.js';
export { Updater, UpdateMessages, type UpdaterOptions } from './update.js';
export { TaskReaper, historyLimit } from './reaper.js';
export { shouldRestart, type RestartHistory } from './restart-policy.js';
export { systemTimers, sleep, type Timers } from './timers.js';

export interface OrchestrationOptions extends ComponentDeps {
  /** Replicated instances of a node down this long are rescheduled (default 2 s). */
  readonly nodeDownGraceMs?: number;
  /** The same for a node whose agent said it was restarting (default 30 s). */
  readonly nodeRestartGraceMs?: number;
  /** The scheduling loop's batching tick (default 50 ms). */
  readonly schedulingTickMs?: number;
  /** Leave the scheduling loop out (tests that place instances themselves). */
  readonly scheduling?: boolean;
}

export interface Orchestration {
  /** Stops every component; they write nothing more. */
  stop(): void;
  /** True when no component has work queued (tests wait for this). */
  idle(): boolean;
  readonly components: readonly Component[];
  /** Resolves when every component's loop has ended. */
  readonly done: Promise<void>;
}

/**
 * For the gateway: every Swarm-mode manager component over one store —
 * the replicated, global and job reconcilers, the restart supervisor, the
 * updater, the task reaper and the scheduling loop. They share nothing but
 * the store; stopping and starting them again on the same store converges
 * to the same state (nothing is duplicated, nothing is lost).
 */
export function startOrchestration(opts: OrchestrationOptions): Orchestration {
  const child = (component: string): ComponentDeps => ({ ...opts, log: opts.log.child({ component }) });
  const components: Component[] = [
    new ReplicatedOrchestrator(child('orchestrator/replicated')),
    new GlobalOrchestrator(child('orchestrator/global')),
    new JobsOrchestrator(child('orchestrator/jobs')),
    new RestartSupervisor({
      ...child('orchestrator/restart'),
      ...(opts.nodeDownGraceMs === undefined ? {} : { nodeDownGraceMs: opts.nodeDownGraceMs }),
      ...(opts.nodeRestartGraceMs === undefined ? {} : { nodeRestartGraceMs: opts.nodeRestartGraceMs }),
    }),
    new Updater(child('orchestrator/update')),
    new TaskReaper(child('orchestrator/taskreaper')),
  ];
  if (opts.scheduling !== false) {
    components.push(new SchedulingLoop({ ...child('scheduler'), ...(opts.schedulingTickMs === undefined ? {} : { tickMs: opts.schedulingTickMs }) }));
  }
  const abort = new AbortController();
  const done = Promise.all(components.map((c) => c.run(abort.signal))).then(() => undefined);
  return {
    components,
    done,
    stop: () => {
      abort.abort();
      for (const c of components) c.stop();
    },
    idle: () => components.every((c) => c.idle),
  };
}
