import type { IngressAssignment, NetworkAssignment } from '../dispatcher/protocol.js';
import type { Instance } from '../model/index.js';
import type { Logger } from '../util/log.js';
import { legName } from './network/addressing.js';
import type { EnsureResult } from './network/driver.js';
import { MESH_FORWARD_CHAIN, MESH_TABLE, meshForwardRule, planHostLeg, planHostMesh, planTaskMesh, planTaskRoutes, type ObservedRule } from './network/mesh-planner.js';
import { must, type CommandRunner } from './network/runner.js';
import type { TaskDiscovery } from './discovery.js';
import type { Timers } from './timers.js';

/**
 * The routing mesh on this host, from the manager's `ingress` item (sent to
 * every node): the ingress overlay is built like any other (AgentOverlays),
 * then the host's side is programmed — its bridge gets the node's ingress
 * address and the MAC peers derive from it, FORWARD admits DNATed
 * connections into the bridge, and an nftables table DNATs the published
 * ports to the tasks — and, in each local task container on the ingress
 * network, the return paths (network/mesh-planner.ts). Re-applied whenever
 * the item changes, and the host's part whenever an ensure of the ingress
 * overlay made its leg again; an unchanged plan is not applied again. Nothing is kept
 * on disk: after a restart the full set re-applies the same content (tables
 * replaced in one transaction, rules added only if missing).
 */
export interface RoutingMesh {
  update(networkId: string, ingress: IngressAssignment): void;
  remove(networkId: string): Promise<void>;
  running(instance: Instance, pid: number): void;
  gone(instanceId: string): void;
  /** A task taking mesh connections is about to stop: the other hosts drop it first. */
  beforeStop(instance: Instance): Promise<void>;
}

export interface MeshOverlays {
  update(networkId: string, network: NetworkAssignment): void;
  remove(networkId: string): Promise<void>;
  ensured(networkId: string): Promise<EnsureResult>;
  onEnsured(listener: (networkId: string, result: EnsureResult) => void): () => void;
}

export interface AgentMeshDeps {
  readonly overlays: MeshOverlays;
  /** Commands in the host's namespace (the agent's). */
  readonly host: CommandRunner;
  /** Commands in a container's namespace (`nsenter --net=/proc/<pid>/ns/net`). */
  readonly inContainer: (pid: number) => CommandRunner;
  readonly log: Logger;
  readonly timers: Timers;
  readonly drainMs?: number;
  readonly retryMs?: number;
}

interface TaskSide {
  instance: Instance;
  pid: number;
  applied?: string;
  chain: Promise<void>;
}

export class AgentMesh implements RoutingMesh {
  private current: { id: string; ingress: IngressAssignment } | undefined;
  private hostChain: Promise<void> = Promise.resolve();
  private hostApplied: string | undefined;
  private readonly tasks = new Map<string, TaskSide>();
  private retry: unknown;
  private closed = false;

  constructor(private readonly deps: AgentMeshDeps) {
    // An ensure the mesh did not ask for (an instance's prepare retrying a failed one) may have made the
    // leg again, without the mesh's MAC and address: program them again, as after an ingress update.
    deps.overlays.onEnsured((networkId, r) => {
      if (networkId === this.current?.id && r.applied.some((op) => op.op === 'link.leg.add')) this.applyHost();
    });
  }

  update(networkId: string, ingress: IngressAssignment): void {
    this.current = { id: networkId, ingress };
    this.deps.overlays.update(networkId, ingress.network);
    this.applyHost();
    for (const t of this.tasks.values()) this.applyTask(t);
  }

  async remove(networkId: string): Promise<void> {
    if (this.current?.id !== networkId) return;
    const vni = this.current.ingress.network.vni;
    this.current = undefined;
    this.hostChain = this.hostChain.then(async () => {
      this.hostApplied = undefined;
      await this.deps.host.run('nft', ['-f', '-'], { input: planHostMesh([]) });
      await this.deps.host.run('iptables', ['-D', MESH_FORWARD_CHAIN, ...meshForwardRule(legName(vni))]);
    });
    await this.hostChain;
    await this.deps.overlays.remove(networkId);
  }

  running(instance: Instance, pid: number): void {
    if (this.closed) return;
    const known = this.tasks.get(instance.id);
    if (known !== undefined && known.pid === pid) return;
    const t: TaskSide = { instance, pid, chain: Promise.resolve() };
    this.tasks.set(instance.id, t);
    this.applyTask(t);
  }

  gone(instanceId: string): void {
    this.tasks.delete(instanceId);
  }

  async beforeStop(instance: Instance): Promise<void> {
    const c = this.current;
    if (c === undefined || !this.tasks.has(instance.id) || !instance.networks.some((a) => a.networkId === c.id)) return;
    const ms = this.deps.drainMs ?? 1_000;
    if (ms > 0) await new Promise<void>((resolve) => this.deps.timers.setTimeout(resolve, ms));
  }

  /** The node leaves the swarm: the host's mesh rules go too (its tasks and overlays go with the worker). */
  async leave(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    const h = this.deps.host;
    this.hostChain = this.hostChain.then(async () => {
      this.hostApplied = undefined;
      await h.run('nft', ['-f', '-'], { input: planHostMesh([]) });
      if (c !== undefined) await h.run('iptables', ['-D', MESH_FORWARD_CHAIN, ...meshForwardRule(legName(c.ingress.network.vni))]);
      await h.run('iptables', ['-D', 'FORWARD', '-j', MESH_FORWARD_CHAIN]);
      await h.run('iptables', ['-F', MESH_FORWARD_CHAIN]);
      await h.run('iptables', ['-X', MESH_FORWARD_CHAIN]);
    });
    await this.hostChain;
  }

  close(): void {
    this.closed = true;
    if (this.retry !== undefined) this.deps.timers.clearTimeout(this.retry);
  }

  // ------------------------------------------------------------- host

  private applyHost(): void {
    this.hostChain = this.hostChain.then(async () => {
      const c = this.current;
      if (c === undefined || this.closed) return;
      const { ingress } = c;
      try {
        await this.deps.overlays.ensured(c.id);
        const leg = legName(ingress.network.vni);
        for (const cmd of planHostLeg(leg, ingress.address)) await must(this.deps.host, 'ip', cmd);
        await this.ensureForward(leg);
        const script = planHostMesh(ingress.services);
        if (script !== this.hostApplied) {
          await must(this.deps.host, 'nft', ['-f', '-'], { input: script });
          this.hostApplied = script;
          this.deps.log.debug({ services: ingress.services.map((s) => `${s.name}:${s.tasks.length}`) }, 'routing mesh applied');
        }
      } catch (err) {
        this.deps.log.warn({ err }, 'programming the routing mesh on the host failed; retrying');
        if (this.retry !== undefined) this.deps.timers.clearTimeout(this.retry);
        this.retry = this.deps.timers.setTimeout(() => {
          this.retry = undefined;
          this.hostApplied = undefined;
          this.applyHost();
        }, this.deps.retryMs ?? 2_000);
      }
    });
  }

  /** Our chain, jumped to first from FORWARD, with one rule for the bridge; only what is missing is added. */
  private async ensureForward(bridge: string): Promise<void> {
    const h = this.deps.host;
    await h.run('iptables', ['-N', MESH_FORWARD_CHAIN]); // exists already: fine
    if ((await h.run('iptables', ['-C', 'FORWARD', '-j', MESH_FORWARD_CHAIN])).code !== 0) await must(h, 'iptables', ['-I', 'FORWARD', '1', '-j', MESH_FORWARD_CHAIN]);
    const rule = meshForwardRule(bridge);
    if ((await h.run('iptables', ['-C', MESH_FORWARD_CHAIN, ...rule])).code !== 0) await must(h, 'iptables', ['-A', MESH_FORWARD_CHAIN, ...rule]);
  }

  // ------------------------------------------------------------- tasks

  private applyTask(t: TaskSide): void {
    t.chain = t.chain.then(async () => {
      const c = this.current;
      if (c === undefined || this.tasks.get(t.instance.id) !== t) return;
      const address = t.instance.networks.find((a) => a.networkId === c.id)?.addresses[0]?.split('/')[0];
      if (address === undefined) return; // not on the ingress network
      const hosts = c.ingress.nodes.map((n) => n.address);
      const script = planTaskMesh(address, hosts);
      const key = `${script}\n${hosts.join(',')}`;
      if (key === t.applied) return;
      const runner = this.deps.inContainer(t.pid);
      try {
        const observed = JSON.parse((await must(runner, 'ip', ['-json', 'rule', 'show'])) || '[]') as ObservedRule[];
        for (const cmd of planTaskRoutes(hosts, observed)) await must(runner, 'ip', cmd);
        await must(runner, 'nft', ['-f', '-'], { input: script });
        t.applied = key;
      } catch (err) {
        this.deps.log.warn({ err, instance: t.instance.id }, 'programming the routing mesh return paths in the container failed');
      }
    });
  }
}

/** The table name, for diagnostics and tests. */
export { MESH_TABLE };

/**
 * The worker's per-container hooks (running, gone, before stop) for both
 * service discovery (if on) and the routing mesh; the rest is discovery's.
 */
export function withMeshTasks(discovery: TaskDiscovery | undefined, mesh: RoutingMesh): TaskDiscovery {
  return {
    update: (id, s) => discovery?.update(id, s),
    remove: (id) => discovery?.remove(id),
    retain: (ids) => discovery?.retain(ids),
    nameserversFor: (i) => discovery?.nameserversFor(i),
    running: (i, pid) => {
      discovery?.running(i, pid);
      mesh.running(i, pid);
    },
    gone: (id) => {
      discovery?.gone(id);
      mesh.gone(id);
    },
    beforeStop: async (i) => {
      await Promise.all([discovery?.beforeStop(i), mesh.beforeStop(i)]);
    },
  };
}
