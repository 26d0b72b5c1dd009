import type { Instance } from '../../model/index.js';
import { Labels } from '../labels.js';
import type { Sandboxes } from '../sandboxes.js';
import type { HostFiles } from '../secrets.js';
import type { ContainerAdapter } from './adapter.js';
import { engineMessage, statusCodeOf, type ContainerState, type ImageInfo } from './adapter.js';
import { explainHostFilesError, noHostFiles, type ContainerCreateRequest, type HostFilePaths } from './container-config.js';

/**
 * Swarm's exec.Controller: the lifecycle of one instance's container, one
 * call per step. Every call is idempotent (a step retried after an agent
 * restart finds its work done and says so), and none decides what comes next:
 * that is `step` in ./do.ts.
 */
export interface Controller {
  /** Write the instance's secrets and configs, pull the image if it is missing, create the container. */
  prepare(signal?: AbortSignal): Promise<void>;
  /** Start; with a healthcheck, return only once the container is healthy (Swarm keeps the task `starting`). */
  start(signal?: AbortSignal): Promise<void>;
  /** Until the container stops (its exit code), or turns unhealthy (throws). Aborting gives up waiting, not the container. */
  wait(signal: AbortSignal): Promise<number>;
  /** Stop with the instance's grace period (SIGTERM, then SIGKILL). */
  shutdown(): Promise<void>;
  terminate(): Promise<void>;
  remove(): Promise<void>;
  /** The container as the engine sees it now, if there is one. */
  inspect(): Promise<ContainerState | undefined>;
  /**
   * The container's id once `prepare` made or found it, when the controller
   * knows it without asking the engine (create answers with it). Spares the
   * engine an inspect per task between prepare and start.
   */
  preparedId?(): string | undefined;
}

/** The step failed for a reason retrying cannot fix: the instance is rejected or failed. */
export class FatalStepError extends Error {
  override readonly name = 'FatalStepError';
}

/** Swarm's words (daemon/cluster/executor/container: ErrContainerUnhealthy). */
export const ContainerUnhealthyMessage = 'container unhealthy';

export interface ContainerControllerOptions {
  readonly adapter: ContainerAdapter;
  readonly instance: Instance;
  /** The create request, once the instance's files are on the host. */
  readonly request: (files: HostFilePaths) => ContainerCreateRequest;
  /** The container's name, known before anything is written (to find a container made before a crash). */
  readonly name: string;
  readonly files?: HostFiles;
  /** A container found on the engine at start (live-restore) or made earlier. */
  readonly containerId?: string;
  /** Instance sandboxes (src/agent/sandboxes.ts): the request moves onto one when it can. */
  readonly sandboxes?: Sandboxes;
}

export class ContainerController implements Controller {
  private containerId: string | undefined;
  private readonly adapter: ContainerAdapter;
  /**
   * Whether the container has a healthcheck, once prepare knows (its config
   * or its image's). False spares the engine an inspect after start and
   * before wait; undefined (a container found, not made here) asks it.
   */
  private healthcheck: boolean | undefined;

  constructor(private readonly opts: ContainerControllerOptions) {
    this.adapter = opts.adapter;
    this.containerId = opts.containerId;
  }

  get id(): string | undefined {
    return this.containerId;
  }

  preparedId(): string | undefined {
    return this.containerId;
  }

  private get graceSeconds(): number {
    const ms = this.opts.instance.template.containers[0]?.stopGracePeriodMs ?? 10_000;
    return Math.max(0, Math.ceil(ms / 1000));
  }

  async inspect(): Promise<ContainerState | undefined> {
    // Prefer the id; fall back to the name so a container created just before a crash is found.
    return this.adapter.inspect(this.containerId ?? this.opts.name);
  }

  async prepare(signal?: AbortSignal): Promise<void> {
    // A container we know of (live-restore, an earlier agent) is looked up; otherwise create
    // straight away, and a name conflict tells us one was made before a crash.
    if (this.containerId !== undefined && (await this.adoptExisting())) return;
    let files: HostFilePaths = noHostFiles;
    if (this.opts.files !== undefined) {
      try {
        files = await this.opts.files.materialise(this.opts.instance);
      } catch (err) {
        throw new FatalStepError(`setting up secrets and configs failed: ${(err as Error).message}`);
      }
    }
    let request: ContainerCreateRequest;
    try {
      request = this.opts.request(files);
    } catch (err) {
      throw new FatalStepError((err as Error).message);
    }
    if (this.opts.sandboxes !== undefined) request = await this.opts.sandboxes.prepare(this.opts.instance.id, request);
    const image = String(request.body['Image'] ?? '');
    let info = await this.adapter.imageInfo(image);
    if (info === undefined) info = await this.pull(image, signal);
    this.healthcheck = hasHealthcheck(request.body, info);
    try {
      try {
        this.containerId = await this.adapter.create(request.name, request.body);
      } catch (err) {
        if (statusCodeOf(err) === 409) {
          if (await this.adoptExisting()) return;
          // The container that held the name was removed between our create and our look: the name is free now.
          this.containerId = await this.adapter.create(request.name, request.body);
        } else {
          if (statusCodeOf(err) !== 404 || !/no such image/i.test(engineMessage(err))) throw err;
          // Removed since we last saw it.
          this.adapter.forgetImage(image);
          this.healthcheck = hasHealthcheck(request.body, await this.pull(image, signal));
          this.containerId = await this.adapter.create(request.name, request.body);
        }
      }
      for (const n of request.connect ?? []) {
        const ip = n.addresses[0]?.split('/')[0];
        await this.adapter.connect(this.containerId, n.name, { Aliases: [...n.aliases], ...(ip ? { IPAMConfig: { IPv4Address: ip } } : {}) });
      }
    } catch (err) {
      throw new FatalStepError(explainHostFilesError(engineMessage(err), files));
    }
  }

  /** The container of this name, if it is this instance's (made before a crash): adopted. Another's is fatal. */
  private async adoptExisting(): Promise<boolean> {
    const existing = await this.inspect();
    if (existing === undefined) return false;
    if (existing.labels[Labels.taskId] !== this.opts.instance.id) {
      throw new FatalStepError(`container name ${this.opts.name} is already used by container ${existing.id}`);
    }
    this.containerId = existing.id;
    return true;
  }

  private async pull(image: string, signal?: AbortSignal): Promise<ImageInfo | undefined> {
    try {
      await this.adapter.pull(image, signal);
      return await this.adapter.imageInfo(image);
    } catch (err) {
      if (err instanceof FatalStepError) throw err;
      throw new FatalStepError(`No such image: ${image}: ${engineMessage(err)}`);
    }
  }

  private requireId(): string {
    if (this.containerId === undefined) throw new FatalStepError(`instance ${this.opts.instance.id} has no container`);
    return this.containerId;
  }

  async start(signal?: AbortSignal): Promise<void> {
    const id = this.requireId();
    try {
      await this.adapter.start(id);
    } catch (err) {
      throw new FatalStepError(engineMessage(err));
    }
    if (this.healthcheck === false) return;
    // Swarm: a task with a healthcheck is running once healthy; unhealthy first fails it.
    for (;;) {
      const c = await this.adapter.inspect(id);
      if (c === undefined || !c.running || c.health === undefined || c.health === 'healthy') return;
      if (c.health === 'unhealthy') throw new FatalStepError(ContainerUnhealthyMessage);
      await pause(healthPollMs(c), signal);
    }
  }

  async wait(signal: AbortSignal): Promise<number> {
    const id = this.requireId();
    if (this.healthcheck === false) return this.adapter.wait(id, signal);
    const first = await this.adapter.inspect(id);
    if (first?.health === undefined) return this.adapter.wait(id, signal);
    // With a healthcheck: whichever comes first, the exit or an unhealthy verdict.
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    try {
      return await Promise.race([this.adapter.wait(id, both), this.watchHealth(id, healthPollMs(first), both)]);
    } finally {
      stop.abort();
    }
  }

  /** Never resolves: throws once the container is unhealthy (or the wait is given up). */
  private async watchHealth(id: string, everyMs: number, signal: AbortSignal): Promise<never> {
    for (;;) {
      await pause(everyMs, signal);
      const c = await this.adapter.inspect(id);
      if (c?.health === 'unhealthy') throw new FatalStepError(ContainerUnhealthyMessage);
      if (c === undefined || !c.running) await new Promise<never>((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    }
  }

  async shutdown(): Promise<void> {
    if (this.containerId === undefined && (await this.inspect()) === undefined) return;
    if (this.containerId === undefined) this.containerId = (await this.inspect())?.id;
    await this.adapter.stop(this.requireId(), this.graceSeconds);
  }

  async terminate(): Promise<void> {
    if (this.containerId === undefined) return;
    await this.adapter.kill(this.containerId);
  }

  async remove(): Promise<void> {
    const found = this.containerId ?? (await this.inspect())?.id;
    if (found !== undefined) await this.adapter.remove(found);
    await this.opts.files?.release(this.opts.instance.id);
    await this.opts.sandboxes?.release(this.opts.instance.id);
  }
}

/** The create body's healthcheck wins (NONE switches the image's off); without one, the image's. Unknown image: unknown. */
function hasHealthcheck(body: Readonly<Record<string, unknown>>, image: ImageInfo | undefined): boolean | undefined {
  const test = (body['Healthcheck'] as { Test?: readonly string[] } | undefined)?.Test;
  if (test !== undefined && test.length > 0) return test[0] !== 'NONE';
  return image?.healthcheck;
}

/** Probe results change at the healthcheck's interval; look twice as often, between 250 ms and 2 s. */
function healthPollMs(c: ContainerState): number {
  return Math.min(2_000, Math.max(250, Math.round((c.healthIntervalMs ?? 1_000) / 2)));
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
