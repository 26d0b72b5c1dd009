import type { Engine } from '../../engine/index.js';
import { managedFilter, type ListedContainer } from '../labels.js';

/**
 * The naked engine calls the controller needs, and nothing else: no decisions
 * here (Swarm's container adapter). Everything goes through src/engine's
 * dockerode handle; results are narrowed to the few fields we read.
 */
export interface ContainerState {
  readonly id: string;
  readonly name: string;
  readonly status: string; // created, running, paused, restarting, removing, exited, dead
  readonly running: boolean;
  readonly pid: number;
  readonly exitCode: number;
  readonly startedAt: string;
  readonly error: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The healthcheck's verdict (starting, healthy, unhealthy); absent without a healthcheck. */
  readonly health?: string;
  /** Milliseconds between health probes, when the container has a healthcheck (for whoever polls it). */
  readonly healthIntervalMs?: number;
}

export interface EngineError extends Error {
  readonly statusCode?: number;
  readonly code?: string;
  readonly json?: { readonly message?: string } | null;
}

export function statusCodeOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && typeof (err as EngineError).statusCode === 'number' ? (err as EngineError).statusCode : undefined;
}

/** The engine's own message, without dockerode's "(HTTP code 404) no such container -" decoration. */
export function engineMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as EngineError;
    if (e.json && typeof e.json.message === 'string') return e.json.message;
    if (typeof e.message === 'string') return e.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
  }
  return String(err);
}

/** The engine could not be reached at all: the step is retried, the instance does not fail. */
export function isTemporary(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as EngineError).code : undefined;
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT' || code === 'EAI_AGAIN';
}

interface InspectBody {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean; Pid: number; ExitCode: number; StartedAt: string; Error: string; Health?: { Status?: string } | null };
  Config: { Labels: Record<string, string> | null; Healthcheck?: { Test?: string[] | null; Interval?: number } | null };
}

/** What a container's create and start need to know of its image. */
export interface ImageInfo {
  /** The image defines a healthcheck (a container of it has one unless its config says NONE). */
  readonly healthcheck: boolean;
}

export class ContainerAdapter {
  /**
   * Images seen on the engine, by the reference tasks use (pinned by digest
   * as the manager resolves them): a 60-replica service asks once, not 60
   * times. Only presence is cached; an image removed meanwhile makes create
   * answer "No such image", and the controller forgets it and pulls.
   */
  private readonly images = new Map<string, ImageInfo>();

  constructor(private readonly engine: Engine) {}

  /** The image's info, or undefined when the engine does not have it. */
  async imageInfo(image: string): Promise<ImageInfo | undefined> {
    const known = this.images.get(image);
    if (known !== undefined) return known;
    try {
      const b = (await this.engine.docker.getImage(image).inspect()) as { Config?: { Healthcheck?: { Test?: string[] | null } | null } | null };
      const test = b.Config?.Healthcheck?.Test ?? [];
      const info: ImageInfo = { healthcheck: test.length > 0 && test[0] !== 'NONE' };
      this.images.set(image, info);
      return info;
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  forgetImage(image: string): void {
    this.images.delete(image);
  }

  /** Pulls and waits for the end of the progress stream; an error inside the stream fails the pull. */
  async pull(image: string, signal?: AbortSignal): Promise<void> {
    const stream = (await this.engine.docker.pull(image, signal ? { abortSignal: signal } : {})) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) => {
      this.engine.docker.modem.followProgress(stream, (err: Error | null, events: { error?: string }[]) => {
        if (err) return reject(err);
        const failed = (events ?? []).find((e) => typeof e.error === 'string');
        if (failed?.error) return reject(Object.assign(new Error(failed.error), { statusCode: 404 }));
        resolve();
      });
    });
  }

  async create(name: string, body: Readonly<Record<string, unknown>>): Promise<string> {
    // `_query`/`_body` split what docker-modem would otherwise send twice: given plain options it also
    // copies every field into the query string, so the whole config (Env included, secrets and all)
    // would sit in the request's URL, where an engine in debug mode logs it.
    const c = await this.engine.docker.createContainer({ _query: { name }, _body: body } as never);
    return c.id;
  }

  async inspect(idOrName: string): Promise<ContainerState | undefined> {
    try {
      const b = (await this.engine.docker.getContainer(idOrName).inspect()) as unknown as InspectBody;
      return {
        id: b.Id,
        name: b.Name.replace(/^\//, ''),
        status: b.State.Status,
        running: b.State.Running,
        pid: b.State.Pid,
        exitCode: b.State.ExitCode,
        startedAt: b.State.StartedAt,
        error: b.State.Error,
        labels: b.Config.Labels ?? {},
        ...(b.State.Health?.Status ? { health: b.State.Health.Status } : {}),
        ...(b.State.Health?.Status ? { healthIntervalMs: Math.max(1, Math.round((b.Config.Healthcheck?.Interval ?? 30e9) / 1e6)) } : {}),
      };
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Joins a network after create (the v1.41 create joins only the first). */
  async connect(id: string, network: string, endpoint: Readonly<Record<string, unknown>>): Promise<void> {
    try {
      await this.engine.docker.getNetwork(network).connect({ Container: id, EndpointConfig: endpoint });
    } catch (err) {
      if (statusCodeOf(err) === 403 && /already exists/.test(engineMessage(err))) return; // connected before a restart
      throw err;
    }
  }

  async start(id: string): Promise<void> {
    try {
      await this.engine.docker.getContainer(id).start();
    } catch (err) {
      if (statusCodeOf(err) === 304) return; // already started
      throw err;
    }
  }

  /** Blocks until the container is not running; resolves with its exit code. */
  async wait(id: string, signal: AbortSignal): Promise<number> {
    const r = (await this.engine.docker.getContainer(id).wait({ condition: 'not-running', abortSignal: signal })) as { StatusCode: number };
    return r.StatusCode;
  }

  /** Without `graceSeconds` the engine uses the container's own StopTimeout. */
  async stop(id: string, graceSeconds?: number): Promise<void> {
    try {
      await this.engine.docker.getContainer(id).stop(graceSeconds === undefined ? {} : { t: graceSeconds });
    } catch (err) {
      const s = statusCodeOf(err);
      if (s === 304 || s === 404) return; // already stopped, or gone
      throw err;
    }
  }

  async kill(id: string): Promise<void> {
    try {
      await this.engine.docker.getContainer(id).kill();
    } catch (err) {
      const s = statusCodeOf(err);
      if (s === 409 || s === 404) return; // not running, or gone
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.engine.docker.getContainer(id).remove({ force: true, v: false });
    } catch (err) {
      if (statusCodeOf(err) === 404) return;
      throw err;
    }
  }

  /** Every container the agent made (any node id), running or not. */
  async listManaged(): Promise<ListedContainer[]> {
    const list = (await this.engine.docker.listContainers({ all: true, filters: JSON.stringify(managedFilter) })) as unknown as ListedContainer[];
    return list;
  }
}
