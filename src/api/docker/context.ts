import type { EngineDirectory } from '../../engine/index.js';
import type { Logger } from '../../util/log.js';
import type { SwarmManager } from '../../manager/manager.js';

/** The API version Stevedore serves, and the oldest a client may ask for. */
export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';

/** Who this gateway is in /info, /version and the `Server` header. */
export interface GatewayIdentity {
  /** Stable across restarts (kept in the state dir). */
  readonly id: string;
  readonly name: string;
}

/**
 * Adds to (or overrides parts of) the SystemInfo answer of GET /info. The
 * cluster work contributes the `Swarm` block; see system-info.ts.
 */
export type InfoContributor = (info: Record<string, unknown>) => void | Promise<void>;

/** What every route module gets. Route modules never reach past it. */
export interface ApiContext {
  readonly engines: EngineDirectory;
  readonly log: Logger;
  /** Defaults to this host's name and a per-process id. */
  readonly identity?: GatewayIdentity;
  /** Applied in order after the engines' answers are merged. */
  readonly infoContributors?: readonly InfoContributor[];
  /** The `Swarm` header of /_ping (`inactive`, `active/manager`, …); `inactive` by default. */
  readonly swarmStatus?: () => string;
  /** Swarm mode (src/manager); without it the cluster endpoints answer Docker's "not a swarm manager". */
  readonly swarm?: SwarmManager;
  /**
   * Standalone containers of the local node on attachable overlays: the
   * gateway's own agent's (src/agent/attachments.ts), while it builds
   * overlays. Absent, those calls go to the local engine as they are.
   */
  readonly localAttachments?: () => LocalAttachments | undefined;
}

/**
 * The four calls that touch an attachable overlay, as flows: each asks the
 * manager for (or gives back) the container's address around `send`, which
 * hands the request, perhaps rewritten, to the engine.
 */
export interface LocalAttachments {
  create(body: unknown, name: string | undefined, send: (body: unknown) => Promise<{ readonly id?: string }>): Promise<void>;
  remove(container: string, send: () => Promise<number>): Promise<void>;
  connect(network: string, body: unknown, send: (body: unknown, dockerNetwork?: string) => Promise<number>): Promise<void>;
  disconnect(network: string, body: unknown, send: () => Promise<number>): Promise<void>;
}
