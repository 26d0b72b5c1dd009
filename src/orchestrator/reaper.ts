import { stateRank, type Instance, type Workload } from '../model/index.js';
import type { ReadTx } from '../store/index.js';
import { DEFAULT_TASK_HISTORY_RETENTION_LIMIT } from '../manager/defaults.js';
import { Component, type WatchEventOf } from './component.js';
import { byAge, isDone, setDesired, slotKey, wantedRunning, willNeverRun } from './instances.js';

const watched = ['instance', 'workload', 'cluster', 'node'] as const;
type Watched = (typeof watched)[number];

/**
 * The task reaper (swarmkit's orchestrator/taskreaper): bounds history and
 * deletes what nobody will look at again.
 *
 * - History: a slot (a node, for global kinds) keeps at most
 *   `taskHistoryRetentionLimit` instances (the cluster's, Swarm default 5;
 *   maxAttempts + 1 when the restart policy limits attempts, as Swarm does, so
 *   the attempts stay countable). The oldest finished ones go first; nothing
 *   that may still run is deleted. A negative limit keeps everything.
 * - Desired `remove` (scale down, older job runs): deleted once stopped, or
 *   at once if it never reached a node.
 * - Deleted workloads: their instances are set to `remove` (the agents stop
 *   them), then deleted as above.
 * - Instances on nodes removed from the swarm that are not wanted any more
 *   are deleted: no agent will ever report them.
 */
export class TaskReaper extends Component<Watched> {
  protected readonly kinds = watched;
  private dirtySlots = new Set<string>(); // "workloadId\0slotKey"
  private cleanup = new Set<string>(); // instance ids
  private deletedWorkloads = new Set<string>();
  private deletedNodes = new Set<string>();

  protected init(tx: ReadTx): void {
    const workloads = new Map(tx.list('workload').map((w) => [w.id, w]));
    const nodes = new Set(tx.list('node').map((n) => n.id));
    for (const i of tx.list('instance')) {
      const w = workloads.get(i.workloadId);
      // A container's network attachment has no workload; it goes when its container does.
      if (w === undefined) {
        if (i.attachment === undefined) this.deletedWorkloads.add(i.workloadId);
      } else this.dirtySlots.add(`${w.id}\u0000${slotKey(w.spec.mode.kind, i)}`);
      if (i.desiredState === 'remove' || (i.nodeId !== undefined && !nodes.has(i.nodeId))) this.cleanup.add(i.id);
    }
  }

  protected onEvent(ev: WatchEventOf<Watched>): void {
    switch (ev.kind) {
      case 'instance': {
        if (ev.action === 'delete') return;
        const i = ev.object;
        if (ev.action === 'create') {
          const w = this.store.view((tx) => tx.get('workload', i.workloadId));
          if (w !== undefined) this.dirtySlots.add(`${w.id}\u0000${slotKey(w.spec.mode.kind, i)}`);
          else if (i.attachment === undefined) this.deletedWorkloads.add(i.workloadId);
        }
        if (i.desiredState === 'remove' || (!wantedRunning(i) && isDone(i))) this.cleanup.add(i.id);
        if (isDone(i)) {
          // A finished instance may now be trimmed from its slot's history.
          const w = this.store.view((tx) => tx.get('workload', i.workloadId));
          if (w !== undefined) this.dirtySlots.add(`${w.id}\u0000${slotKey(w.spec.mode.kind, i)}`);
        }
        return;
      }
      case 'workload':
        if (ev.action === 'delete') this.deletedWorkloads.add(ev.object.id);
        return;
      case 'cluster':
        if (ev.action === 'update' && ev.old.spec.orchestration.taskHistoryRetentionLimit !== ev.object.spec.orchestration.taskHistoryRetentionLimit) {
          this.store.view((tx) => this.init(tx));
        }
        return;
      case 'node':
        if (ev.action === 'delete') this.deletedNodes.add(ev.object.id);
        return;
    }
  }

  protected async flush(): Promise<void> {
    const slots = this.dirtySlots;
    const cleanup = this.cleanup;
    const gone = this.deletedWorkloads;
    const goneNodes = this.deletedNodes;
    this.dirtySlots = new Set();
    this.cleanup = new Set();
    this.deletedWorkloads = new Set();
    this.deletedNodes = new Set();
    try {
      await this.store.update((tx) => {
        const limit = tx.list('cluster')[0]?.spec.orchestration.taskHistoryRetentionLimit ?? DEFAULT_TASK_HISTORY_RETENTION_LIMIT;
        // Deleted workloads: stop everything, delete what has stopped.
        if (gone.size > 0) {
          for (const i of tx.list('instance', (x) => x.attachment === undefined && gone.has(x.workloadId) && tx.get('workload', x.workloadId) === undefined)) {
            const cur = setDesired(tx, i, 'remove');
            if (removable(cur)) tx.delete('instance', i.id);
          }
        }
        if (goneNodes.size > 0) for (const i of tx.list('instance', (x) => x.nodeId !== undefined && goneNodes.has(x.nodeId))) cleanup.add(i.id);
        for (const id of cleanup) {
          const i = tx.get('instance', id);
          if (i === undefined) continue;
          const nodeGone = i.nodeId !== undefined && tx.get('node', i.nodeId) === undefined;
          if ((i.desiredState === 'remove' && removable(i)) || (nodeGone && !wantedRunning(i))) tx.delete('instance', id);
        }
        for (const key of slots) {
          const [workloadId = '', slot = ''] = key.split('\u0000');
          const w = tx.get('workload', workloadId);
          if (w === undefined) continue;
          const keep = historyLimit(w, limit);
          if (keep < 0) continue;
          const inSlot = tx.list('instance', (i) => i.workloadId === workloadId && slotKey(w.spec.mode.kind, i) === slot).slice().sort(byAge);
          let excess = inSlot.length - keep;
          for (const i of inSlot) {
            if (excess <= 0) break;
            if (isDone(i) || willNeverRun(i)) {
              tx.delete('instance', i.id);
              excess--;
            }
          }
        }
      });
    } catch (err) {
      for (const s of slots) this.dirtySlots.add(s);
      for (const s of cleanup) this.cleanup.add(s);
      for (const s of gone) this.deletedWorkloads.add(s);
      for (const s of goneNodes) this.deletedNodes.add(s);
      throw err;
    }
  }
}

/** Stopped, or never reached a node. */
function removable(i: Instance): boolean {
  return isDone(i) || stateRank(i.status.state) < stateRank('assigned');
}

/** Swarm: a restart policy with max attempts keeps maxAttempts + 1, so the attempts stay countable. */
export function historyLimit(w: Workload, clusterLimit: number): number {
  const max = w.spec.template.restartPolicy.maxAttempts;
  return max > 0 ? max + 1 : clusterLimit;
}
