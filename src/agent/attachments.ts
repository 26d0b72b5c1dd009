import type { AttachNetworkResponse } from '../dispatcher/protocol.js';
import type { Engine } from '../engine/index.js';
import type { Instance } from '../model/index.js';
import type { Clock } from '../util/clock.js';
import { invalidParameter, StevedoreError, unavailable } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { ATTACHMENT_LABEL, attachmentTarget, connectAliases, rewriteConnect, rewriteCreate, type AttachmentTarget } from './attachment-plan.js';
import type { TaskDiscovery } from './discovery.js';
import type { ContainerState } from './exec/adapter.js';
import { FatalStepError, type Controller } from './exec/controller.js';
import { LABEL_NETWORK_ID } from './network/addressing.js';
import type { OverlayAttachments } from './overlay.js';
import { sleep, type Timers } from './timers.js';

/**
 * Standalone containers on attachable overlays (`docker run --network ov`
 * through this host's Docker endpoint, or the gateway's), as Swarm does it:
 *
 * 1. the container names a network the engine does not own → ask the manager
 *    for an attachment (`/attach`); a 404 means "not a cluster network" and the
 *    engine answers as usual;
 * 2. the attachment instance comes back in this node's assignment set with its
 *    address and the network (so the overlay is ensured here and the other
 *    hosts learn this host as a peer); we wait for it and for the overlay;
 * 3. the container is created on the overlay's Docker network at that address,
 *    with our DNS responder and a label naming the attachment;
 * 4. the attachment's controller (in the worker, like a task's) watches the
 *    container: its PID gets the VIP rules; when the container is gone
 *    (removed through us, by `--rm`, or straight on the engine) the
 *    attachment is given back (`/detach`), and the overlay goes with the last
 *    user on this host.
 */
export interface AttachmentsDeps {
  readonly engine: Engine;
  /** A call to the manager over the session (throws `unavailable` without one). */
  readonly call: <T>(path: string, body: unknown) => Promise<T>;
  /** Whether this host is in a swarm at all (not: every request passes through). */
  readonly joined: () => boolean;
  /** An instance of this node's assignment set. */
  readonly instance: (id: string) => Instance | undefined;
  /** All of them (to find a container's attachments). */
  readonly instances: () => readonly Instance[];
  readonly overlays: OverlayAttachments;
  readonly discovery?: TaskDiscovery;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly log: Logger;
  /** How long the attachment may take to arrive with its overlay (default 60 s). */
  readonly waitMs?: number;
  /** Between looks at an attached container (default 1 s). */
  readonly pollMs?: number;
  /** An attachment whose container never appears is given back after this (default 120 s). */
  readonly orphanMs?: number;
}

export interface PreparedAttachment {
  readonly attachmentId: string;
  readonly networkId: string;
  /** The rewritten request body. */
  readonly body: Record<string, unknown>;
  /** The Docker network on this host (for a connect's path). */
  readonly dockerNetwork: string;
}

interface EngineNetwork {
  readonly Id: string;
  readonly Name: string;
  readonly Labels?: Record<string, string> | null;
}

export class ContainerAttachments {
  constructor(private readonly deps: AttachmentsDeps) {}

  /** A container-create body: rewritten for an attachable overlay, or undefined (pass it through as it is). */
  async prepareCreate(body: unknown, name: string | undefined): Promise<PreparedAttachment | undefined> {
    const target = attachmentTarget(body);
    if (target === undefined) return undefined;
    const got = await this.attach(target, name);
    if (got === undefined) return undefined;
    try {
      const a = await this.addressFor(got.attachmentId);
      const nameservers = this.deps.discovery?.nameserversFor(a.instance);
      return {
        attachmentId: got.attachmentId,
        networkId: got.networkId,
        dockerNetwork: a.dockerNetwork,
        body: rewriteCreate(body, target, {
          attachmentId: got.attachmentId,
          networkId: got.networkId,
          dockerNetwork: a.dockerNetwork,
          address: a.address,
          ...(nameservers === undefined ? {} : { nameservers }),
        }),
      };
    } catch (err) {
      await this.release(got.attachmentId);
      throw err;
    }
  }

  /** A network-connect body for `network`: rewritten with the address, or undefined (not ours). */
  async prepareConnect(network: string, body: unknown, aliases: readonly string[]): Promise<PreparedAttachment | undefined> {
    const got = await this.attach({ network, aliases }, undefined);
    if (got === undefined) return undefined;
    try {
      const a = await this.addressFor(got.attachmentId);
      return { attachmentId: got.attachmentId, networkId: got.networkId, dockerNetwork: a.dockerNetwork, body: rewriteConnect(body, a.address) };
    } catch (err) {
      await this.release(got.attachmentId);
      throw err;
    }
  }

  // ---- The four calls as flows, shared by the agent's Docker endpoint and the gateway's API:
  // `send` hands the request (rewritten or not) to the engine and says how it went.

  /** `POST /containers/create`: with an attachment when the body names a cluster overlay. */
  async create(body: unknown, name: string | undefined, send: (body: unknown) => Promise<{ readonly id?: string }>): Promise<void> {
    const prepared = await this.prepareCreate(body, name);
    if (prepared === undefined) {
      await send(body);
      return;
    }
    let id: string | undefined;
    try {
      id = (await send(prepared.body)).id;
    } finally {
      if (id === undefined) await this.release(prepared.attachmentId);
      else await this.created(prepared.attachmentId, id);
    }
  }

  /** `DELETE /containers/{id}`: its attachments are given back once the engine removed it. */
  async remove(container: string, send: () => Promise<number>): Promise<void> {
    const held = await this.attachmentsOf(container);
    const status = await send();
    if (status < 300) for (const a of held) await this.release(a);
  }

  /** `POST /networks/{network}/connect`: `send` gets the engine's network to connect to when it is one of ours. */
  async connect(network: string, body: unknown, send: (body: unknown, dockerNetwork?: string) => Promise<number>): Promise<void> {
    const prepared = await this.prepareConnect(network, body, connectAliases(body));
    if (prepared === undefined) {
      await send(body);
      return;
    }
    const container = String((body as { Container?: unknown }).Container ?? '');
    let status = 500;
    try {
      status = await send(prepared.body, prepared.dockerNetwork);
    } finally {
      if (status < 300) await this.created(prepared.attachmentId, container);
      else await this.release(prepared.attachmentId);
    }
  }

  /** `POST /networks/{network}/disconnect`: the container's attachment on it is given back once the engine let go. */
  async disconnect(network: string, body: unknown, send: () => Promise<number>): Promise<void> {
    const networkId = await this.clusterNetworkOf(network);
    const container = String((body as { Container?: unknown } | undefined)?.Container ?? '');
    const held = networkId === undefined || container === '' ? [] : await this.attachmentsOf(container, networkId);
    const status = await send();
    if (status < 300) for (const a of held) await this.release(a);
  }

  /** The engine made (or connected) the container: the manager records it, so its name resolves. */
  async created(attachmentId: string, container: string): Promise<void> {
    try {
      const c = (await this.deps.engine.docker.getContainer(container).inspect()) as { Id: string; Name: string };
      await this.deps.call('/attach/container', { attachmentId, containerId: c.Id, containerName: c.Name.replace(/^\//, '') });
    } catch (err) {
      this.deps.log.warn({ err, attachmentId }, 'recording the attachment\'s container failed');
    }
  }

  /** Give an attachment back (the container is gone, or was never made). */
  async release(attachmentId: string): Promise<void> {
    try {
      await this.deps.call('/detach', { attachmentId });
    } catch (err) {
      // The controller's watch gives it back later if this did not reach the manager.
      this.deps.log.warn({ err, attachmentId }, 'giving back a network attachment failed');
    }
  }

  /** The attachments a container holds (all, or those on one cluster network), from its label and the assignment set. */
  async attachmentsOf(container: string, networkId?: string): Promise<string[]> {
    let id = container;
    const out = new Set<string>();
    try {
      const c = (await this.deps.engine.docker.getContainer(container).inspect()) as { Id: string; Config?: { Labels?: Record<string, string> | null } };
      id = c.Id;
      const labelled = c.Config?.Labels?.[ATTACHMENT_LABEL];
      if (labelled !== undefined && labelled !== '') out.add(labelled);
    } catch {
      return [];
    }
    for (const i of this.deps.instances()) if (i.attachment?.containerId === id) out.add(i.id);
    if (networkId === undefined) return [...out];
    return [...out].filter((a) => {
      const i = this.deps.instance(a);
      return i === undefined || i.networks.some((n) => n.networkId === networkId) || i.template.networks.some((n) => n.target === networkId);
    });
  }

  /** A cluster network's id, when `ref` names one of our overlays on this engine. */
  async clusterNetworkOf(ref: string): Promise<string | undefined> {
    const n = await this.localNetwork(ref);
    return n?.Labels?.[LABEL_NETWORK_ID];
  }

  /** The controller of an attachment instance in the worker. */
  controller(instance: Instance): Controller {
    return new AttachmentController(instance.id, this.deps, (id) => this.release(id));
  }

  // ------------------------------------------------------------------ internals

  private async localNetwork(ref: string): Promise<EngineNetwork | undefined> {
    const listed = (await this.deps.engine.docker.listNetworks()) as EngineNetwork[];
    return listed.find((n) => n.Name === ref) ?? listed.find((n) => n.Id === ref) ?? (ref.length >= 3 ? listed.find((n) => n.Id.startsWith(ref)) : undefined);
  }

  /** Ask the manager; undefined when the network is not a cluster network (the engine answers). */
  private async attach(target: AttachmentTarget, name: string | undefined): Promise<AttachNetworkResponse | undefined> {
    if (!this.deps.joined()) return undefined;
    const local = await this.localNetwork(target.network);
    if (local !== undefined && local.Labels?.[LABEL_NETWORK_ID] === undefined) return undefined; // the engine's own network
    try {
      return await this.deps.call<AttachNetworkResponse>('/attach', {
        network: target.network,
        ...(name === undefined || name === '' ? {} : { containerName: name }),
        ...(target.aliases.length === 0 ? {} : { aliases: target.aliases }),
      });
    } catch (err) {
      if (err instanceof StevedoreError && err.kind === 'notFound') return undefined;
      throw err;
    }
  }

  /** Waits for the attachment in the assignment set, then for its overlay on this host. */
  private async addressFor(attachmentId: string): Promise<{ instance: Instance; dockerNetwork: string; address: string }> {
    const deadline = this.deps.clock.now() + (this.deps.waitMs ?? 60_000);
    let instance = this.deps.instance(attachmentId);
    while (instance === undefined || instance.networks.length === 0) {
      if (this.deps.clock.now() > deadline) throw unavailable(`timed out waiting for the network attachment ${attachmentId} from the manager`);
      await sleep(this.deps.timers, 50);
      instance = this.deps.instance(attachmentId);
    }
    if (instance.status.state === 'rejected' || instance.status.state === 'failed') throw invalidParameter(instance.status.err ?? 'the network attachment failed');
    try {
      await this.deps.overlays.prepare(instance);
    } catch (err) {
      if (err instanceof FatalStepError) throw invalidParameter(err.message);
      throw err;
    }
    const a = this.deps.overlays.attached(instance)[0];
    const address = a?.addresses[0]?.split('/')[0];
    if (a === undefined || address === undefined) throw unavailable(`the overlay of attachment ${attachmentId} is not on this host`);
    return { instance, dockerNetwork: a.name, address };
  }
}

/**
 * An attachment in the worker (Swarm's network attacher controller): nothing
 * to create or start; while it runs, it watches the container — VIP rules in
 * its namespace for each new PID, and the attachment given back once the
 * container is gone. Stopping or removing it never touches the container.
 */
const FIRST_START_POLL_MS = 25;

class AttachmentController implements Controller {
  private readonly born: number;
  constructor(
    private readonly id: string,
    private readonly deps: AttachmentsDeps,
    private readonly detach: (id: string) => Promise<void>,
  ) {
    this.born = deps.clock.now();
  }

  async prepare(): Promise<void> {}
  async start(): Promise<void> {}

  async inspect(): Promise<ContainerState | undefined> {
    const containerId = this.deps.instance(this.id)?.attachment?.containerId ?? '';
    return { id: containerId, name: '', status: 'running', running: true, pid: 0, exitCode: 0, startedAt: '', error: '', labels: {} };
  }

  async wait(signal: AbortSignal): Promise<number> {
    let seen = false;
    let running = false;
    let released = false;
    while (!signal.aborted) {
      const instance = this.deps.instance(this.id);
      if (instance !== undefined) {
        const c = await this.find(instance).catch(() => 'unknown' as const);
        if (c === 'unknown') {
          // The engine did not answer: look again later.
        } else if (c !== undefined) {
          seen = true;
          running = c.running && c.pid > 0;
          if (running) this.deps.discovery?.running(instance, c.pid);
          else this.deps.discovery?.gone(this.id);
        } else if (!released && (seen || instance.attachment?.containerId !== undefined || this.deps.clock.now() - this.born > (this.deps.orphanMs ?? 120_000))) {
          // Gone: seen running before, or created (the manager has its id) and no longer on the
          // engine — a short-lived `--rm` container can come and go between two looks.
          // Otherwise only after orphanMs: a create may still be in flight.
          this.deps.discovery?.gone(this.id);
          this.deps.log.info({ attachment: this.id }, 'the attached container is gone: giving its network attachment back');
          await this.detach(this.id);
          released = true;
        }
      }
      // Until the container is first seen running, look often: its VIP rules go into its namespace
      // only then, and a `docker run … sh -c 'nc web 80'` connects within milliseconds of its start.
      const poll = this.deps.pollMs ?? 1_000;
      await sleep(this.deps.timers, running ? poll : Math.min(poll, FIRST_START_POLL_MS), signal);
    }
    throw new Error('no longer watching the attached container');
  }

  async shutdown(): Promise<void> {
    this.deps.discovery?.gone(this.id);
  }
  async terminate(): Promise<void> {
    this.deps.discovery?.gone(this.id);
  }
  async remove(): Promise<void> {
    this.deps.discovery?.gone(this.id);
  }

  /** The container, by the id the manager recorded, else by our label (a create still in flight). */
  private async find(instance: Instance): Promise<{ running: boolean; pid: number } | undefined> {
    let ref = instance.attachment?.containerId;
    if (ref === undefined) {
      const listed = (await this.deps.engine.docker.listContainers({ all: true, filters: { label: [`${ATTACHMENT_LABEL}=${this.id}`] } })) as { Id: string }[];
      ref = listed[0]?.Id;
      if (ref === undefined) return undefined;
    }
    try {
      const c = (await this.deps.engine.docker.getContainer(ref).inspect()) as { State?: { Running?: boolean; Pid?: number } };
      return { running: c.State?.Running === true, pid: c.State?.Pid ?? 0 };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }
}
