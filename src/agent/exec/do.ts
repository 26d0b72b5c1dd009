import { canAdvance, isTerminal, stateRank, type Instance, type InstanceStatus, type TaskState } from '../../model/index.js';
import type { Clock } from '../../util/clock.js';
import { isTemporary } from './adapter.js';
import { FatalStepError, type Controller } from './controller.js';

/**
 * Advance an instance by exactly one step (Swarm's exec.Do): given what the
 * manager wants (`instance.desiredState`) and where the instance is
 * (`status`), make the one controller call that moves it forward and return the
 * new status. The state never moves backwards; a step that fails for good ends
 * the instance (rejected before it started, failed after); an engine that cannot
 * be reached leaves the state as it was so the caller retries.
 */
export interface StepResult {
  readonly status: InstanceStatus;
  /** Nothing more to do until the desired state changes. */
  readonly idle: boolean;
}

export class TemporaryStepError extends Error {
  override readonly name = 'TemporaryStepError';
}

export async function step(
  instance: Instance,
  status: InstanceStatus,
  ctlr: Controller,
  clock: Clock,
  signal: AbortSignal,
): Promise<StepResult> {
  const to = (state: TaskState, message: string, extra: Partial<InstanceStatus> = {}): StepResult => {
    if (!canAdvance(status.state, state)) return { status, idle: true };
    const { err: _dropped, ...rest } = status;
    return { status: { ...rest, ...extra, state, message, timestamp: clock.now() }, idle: false };
  };
  const fail = (state: TaskState, err: unknown): StepResult => to(state, state === 'rejected' ? 'rejected' : 'failed', { err: errText(err) });

  const current = status.state;
  if (isTerminal(current)) return { status, idle: true };

  // The manager asked for a stop (shutdown, complete, remove, …): stop whatever runs.
  if (stateRank(instance.desiredState) > stateRank('running')) {
    try {
      await ctlr.shutdown();
    } catch (err) {
      if (isTemporary(err)) throw new TemporaryStepError(errText(err));
      return fail('failed', err);
    }
    const c = await inspectQuietly(ctlr);
    return to('shutdown', 'shutdown', c?.exitCode !== undefined && status.container ? { container: { ...status.container, exitCode: c.exitCode } } : {});
  }
  // Not beyond what the manager asked for (desired "ready" prepares without starting);
  // a running instance is watched until it exits.
  if (current !== 'running' && stateRank(current) >= stateRank(instance.desiredState)) return { status, idle: true };

  try {
    switch (current) {
      case 'new':
      case 'pending':
      case 'assigned':
        return to('accepted', 'accepted');
      case 'accepted':
        return to('preparing', 'preparing');
      case 'preparing': {
        try {
          await ctlr.prepare(signal);
        } catch (err) {
          if (err instanceof FatalStepError) return fail('rejected', err);
          throw err;
        }
        const id = ctlr.preparedId?.() ?? (await ctlr.inspect())?.id;
        return to('ready', 'prepared', id !== undefined ? { container: { containerId: id, pid: 0 } } : {});
      }
      case 'ready':
        return to('starting', 'starting');
      case 'starting': {
        // With a healthcheck this returns once healthy: until then the instance stays `starting` (Swarm).
        await ctlr.start(signal);
        const c = await ctlr.inspect();
        if (c === undefined) return fail('failed', new Error('container disappeared while starting'));
        if (!c.running) return exited(c.exitCode, c.id, c.pid, c.error);
        return to('running', 'started', { container: { containerId: c.id, pid: c.pid } });
      }
      case 'running': {
        const code = await ctlr.wait(signal);
        const c = await inspectQuietly(ctlr);
        return exited(code, c?.id ?? status.container?.containerId ?? '', 0, c?.error ?? ''); // an exited container has no pid
      }
      default:
        return { status, idle: true };
    }
  } catch (err) {
    if (signal.aborted) throw err;
    if (isTemporary(err)) throw new TemporaryStepError(errText(err));
    return fail(stateRank(current) < stateRank('starting') ? 'rejected' : 'failed', err);
  }

  function exited(code: number, containerId: string, pid: number, error: string): StepResult {
    const container = { containerId, pid, exitCode: code };
    if (code === 0) return to('complete', 'finished', { container });
    return to('failed', 'started', { container, err: error !== '' ? error : `task: non-zero exit (${code})` });
  }
}

async function inspectQuietly(ctlr: Controller) {
  try {
    return await ctlr.inspect();
  } catch {
    return undefined;
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What a re-adopted instance reports (live-restore): the engine's status when
 * it is further on than the manager knows (the container died meanwhile), the
 * manager's own when both agree on the state and container. Reporting the
 * same state again is no news and would only reset the task's timestamp
 * (`docker service ps` showing "Running 2 seconds ago" after a mere agent or
 * gateway restart). Returns `known` itself when there is nothing to report.
 */
export function readoptedStatus(known: InstanceStatus, fromEngine: InstanceStatus): InstanceStatus {
  if (stateRank(fromEngine.state) > stateRank(known.state)) return fromEngine;
  if (fromEngine.state === known.state && fromEngine.container?.containerId !== known.container?.containerId) return fromEngine;
  return known;
}

/** The status a re-adopted container stands at (live-restore): never earlier than what the engine shows. */
export function statusFromContainer(c: { readonly id: string; readonly status: string; readonly running: boolean; readonly pid: number; readonly exitCode: number; readonly error: string }, now: number): InstanceStatus {
  if (c.running || c.status === 'paused' || c.status === 'restarting') {
    return { state: 'running', timestamp: now, message: 'started', container: { containerId: c.id, pid: c.pid } };
  }
  if (c.status === 'created') return { state: 'ready', timestamp: now, message: 'prepared', container: { containerId: c.id, pid: 0 } };
  const container = { containerId: c.id, pid: 0, exitCode: c.exitCode };
  return c.exitCode === 0
    ? { state: 'complete', timestamp: now, message: 'finished', container }
    : { state: 'failed', timestamp: now, message: 'started', container, err: c.error !== '' ? c.error : `task: non-zero exit (${c.exitCode})` };
}
