import dnsPacket, { type DecodedPacket } from 'dns-packet';
import type { NetworkAssignment, NetworkServices } from '../dispatcher/protocol.js';
import type { Instance } from '../model/index.js';
import type { Logger } from '../util/log.js';
import { answerQuery, emptyResponse, RCODE_FORMERR, RCODE_SERVFAIL, shuffleWith, visibleNetworksFor } from './network/dns-names.js';
import { DnsResponder, fitUdp, UDP_LIMIT, type DnsQueryContext } from './network/dns-server.js';
import { HostResolvers } from './network/dns-upstream.js';
import { planLoadBalancer, vipPools } from './network/lb-planner.js';
import type { NamespaceFirewall } from './network/netns-nft.js';
import { sleep, type Timers } from './timers.js';
import type { TranslateInstance } from './exec/container-config.js';

/**
 * Service discovery and VIP load balancing on this host's overlays, from the
 * manager's `services` assignments (one per overlay network):
 *
 * - a DNS responder on each overlay's gateway address (port 53, UDP and TCP):
 *   task containers get that address as their DNS server, so Docker's
 *   embedded resolver (127.0.0.11) answers container names it knows and
 *   forwards the rest here; we answer service names, `tasks.<service>`,
 *   aliases and task names, and forward the others to the host's resolvers
 *   (or the task's own `--dns` servers);
 * - in each running task container's network namespace, an nftables table
 *   that DNATs new connections to the VIPs of its networks' services across
 *   their tasks (network/lb-planner.ts), re-planned whenever the records
 *   change and applied only where the result differs;
 * - before a task's container is stopped, a short pause (`drainMs`): the
 *   manager took the task out of every pool when it asked for the stop, and
 *   the other hosts need a moment to apply that (Swarm waits 2 s for its
 *   gossip to converge; we push, so less is enough).
 *
 * Restart-safe: nothing is kept on disk. The responder binds again when the
 * full assignment set arrives; each re-adopted running container is
 * registered by the worker and its table is replaced in one nft transaction,
 * so nothing is duplicated.
 */
export interface TaskDiscovery {
  /** A `services` assignment for one overlay network is new or changed. */
  update(networkId: string, services: NetworkServices): void;
  /** The network's services left the set (its last local task is gone). */
  remove(networkId: string): void;
  /** A full set: forget the networks it does not name. */
  retain(networkIds: ReadonlySet<string>): void;
  /** The DNS servers an instance's container gets (our responder on its first overlay), if any. */
  nameserversFor(instance: Instance): string[] | undefined;
  /** The instance's container runs (started, or re-adopted) with this PID: program its VIPs. */
  running(instance: Instance, pid: number): void;
  /** Its container stopped or is gone. */
  gone(instanceId: string): void;
  /** Before stopping the container of a task that was taking connections: let the other hosts drop it. */
  beforeStop(instance: Instance): Promise<void>;
}

/** What `stevedore agent` (and tests) may tune. */
export interface AgentDiscoveryOptions {
  /** Pause before stopping a task that was in a pool (default 1 s). */
  readonly drainMs?: number;
  /** Tests: the responder's port (default 53). */
  readonly dnsPort?: number;
  readonly upstream?: HostResolvers;
}

export interface AgentDiscoveryDeps extends AgentDiscoveryOptions {
  readonly log: Logger;
  readonly timers: Timers;
  /** The network assignment of an overlay (its gateway is where the responder listens). */
  readonly network: (networkId: string) => NetworkAssignment | undefined;
  /** The instances assigned to this node (whose container sent a query, and its `--dns`). */
  readonly localInstances: () => readonly Instance[];
  readonly firewall: NamespaceFirewall;
  readonly random?: () => number;
  /** Between attempts to listen on a gateway the bridge does not carry yet. */
  readonly listenRetryMs?: number;
}

interface LocalContainer {
  instance: Instance;
  pid: number;
  /** The script last applied in its namespace. */
  applied?: string;
  /** Applications in order, one at a time. */
  chain: Promise<void>;
}

/** The longest a local container's lookup waits for its VIP table. */
const VIP_TABLE_WAIT_MS = 1_000;

export class AgentDiscovery implements TaskDiscovery {
  private readonly records = new Map<string, NetworkServices>();
  private readonly containers = new Map<string, LocalContainer>();
  /** Gateway address → network id, for the addresses we listen on. */
  private readonly listening = new Map<string, string>();
  private readonly retries = new Map<string, unknown>();
  private readonly responder: DnsResponder;
  private readonly upstream: HostResolvers;
  private readonly shuffle;
  private closed = false;

  constructor(private readonly deps: AgentDiscoveryDeps) {
    this.responder = new DnsResponder((raw, ctx) => this.handle(raw, ctx), deps.log, deps.dnsPort ?? 53);
    this.upstream = deps.upstream ?? new HostResolvers();
    this.shuffle = shuffleWith(deps.random ?? Math.random);
  }

  /** The records as the agent has them (tests, diagnostics). */
  recordsOf(networkId: string): NetworkServices | undefined {
    return this.records.get(networkId);
  }

  update(networkId: string, services: NetworkServices): void {
    this.records.set(networkId, services);
    this.listenOn(networkId);
    this.reconcileAll();
  }

  remove(networkId: string): void {
    this.records.delete(networkId);
    this.cancelRetry(networkId);
    for (const [address, id] of this.listening) {
      if (id !== networkId) continue;
      this.listening.delete(address);
      void this.responder.close(address);
    }
    this.reconcileAll();
  }

  retain(networkIds: ReadonlySet<string>): void {
    for (const id of [...this.records.keys()]) if (!networkIds.has(id)) this.remove(id);
  }

  nameserversFor(instance: Instance): string[] | undefined {
    for (const a of instance.networks) {
      const n = this.deps.network(a.networkId);
      if (n !== undefined) return [n.gateway];
    }
    return undefined;
  }

  running(instance: Instance, pid: number): void {
    if (this.closed) return;
    const known = this.containers.get(instance.id);
    if (known !== undefined && known.pid === pid) {
      known.instance = instance;
      return;
    }
    const c: LocalContainer = { instance, pid, chain: Promise.resolve() };
    this.containers.set(instance.id, c);
    // The bridge surely exists now: make sure we listen on it.
    for (const a of instance.networks) if (this.records.has(a.networkId)) this.listenOn(a.networkId);
    this.reconcile(c);
  }

  gone(instanceId: string): void {
    this.containers.delete(instanceId);
  }

  async beforeStop(instance: Instance): Promise<void> {
    if (!this.containers.has(instance.id)) return; // never ran here (or already stopped): in no pool
    if (!instance.networks.some((a) => this.records.has(a.networkId))) return;
    const ms = this.deps.drainMs ?? 1_000;
    if (ms <= 0) return;
    await new Promise<void>((resolve) => this.deps.timers.setTimeout(resolve, ms));
  }

  /** The agent stops: sockets close (the containers keep their tables: live-restore). */
  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.retries.keys()]) this.cancelRetry(id);
    this.listening.clear();
    await this.responder.closeAll();
  }

  // ------------------------------------------------------------- load balancing

  private reconcileAll(): void {
    for (const c of this.containers.values()) this.reconcile(c);
  }

  private reconcile(c: LocalContainer): void {
    c.chain = c.chain.then(async () => {
      if (this.containers.get(c.instance.id) !== c) return; // replaced or gone meanwhile
      const script = planLoadBalancer(vipPools(this.records, c.instance.networks.map((a) => a.networkId)));
      if (script === c.applied) return;
      try {
        await this.deps.firewall.apply(c.pid, script);
        c.applied = script;
      } catch (err) {
        // Most often the container exited under us; the next change or restart tries again.
        this.deps.log.warn({ err, instance: c.instance.id }, 'programming the service VIPs in the container failed');
      }
    });
  }

  /** Resolves once the instance's container has its VIP table (at most VIP_TABLE_WAIT_MS: a container we never saw run answers anyway). */
  private async vipTableIn(instanceId: string): Promise<void> {
    for (let waited = 0; waited < VIP_TABLE_WAIT_MS && this.containers.get(instanceId)?.applied === undefined && !this.closed; waited += 10) {
      await sleep(this.deps.timers, 10);
    }
  }

  // ------------------------------------------------------------- DNS

  private listenOn(networkId: string): void {
    if (this.closed) return;
    const gateway = this.deps.network(networkId)?.gateway;
    if (gateway === undefined || this.listening.has(gateway)) return;
    this.listening.set(gateway, networkId);
    this.responder.listen(gateway).then(
      () => {
        // Closed, or the network removed, while the bind was in flight: nobody will close it later.
        if (this.closed || this.listening.get(gateway) !== networkId) {
          void this.responder.close(gateway);
          return;
        }
        this.deps.log.debug({ networkId, address: gateway }, 'DNS responder listening');
      },
      (err: unknown) => {
        this.listening.delete(gateway);
        if (!this.records.has(networkId) || this.closed) return;
        // The overlay's bridge is not up yet (EADDRNOTAVAIL): try again shortly.
        this.deps.log.debug({ err, networkId, address: gateway }, 'DNS responder cannot listen yet; retrying');
        this.cancelRetry(networkId);
        this.retries.set(
          networkId,
          this.deps.timers.setTimeout(() => {
            this.retries.delete(networkId);
            this.listenOn(networkId);
          }, this.deps.listenRetryMs ?? 1_000),
        );
      },
    );
  }

  private cancelRetry(networkId: string): void {
    const t = this.retries.get(networkId);
    if (t !== undefined) this.deps.timers.clearTimeout(t);
    this.retries.delete(networkId);
  }

  /** One query: ours from the records, the rest forwarded. */
  async handle(raw: Buffer, ctx: DnsQueryContext): Promise<Buffer | undefined> {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      return raw.length >= 12 ? formErr(raw) : undefined;
    }
    if (query.type !== 'query') return undefined;
    const receivedOn = this.listening.get(ctx.local) ?? '';
    const locals = this.deps.localInstances();
    const visible = visibleNetworksFor(ctx.source, receivedOn, locals).filter((id) => this.records.has(id));
    const ours = answerQuery(query, this.records, visible, this.shuffle);
    const sender = locals.find((i) => i.networks.some((n) => n.networkId === receivedOn && n.addresses.some((a) => a.split('/')[0] === ctx.source)));
    if (ours !== undefined) {
      // A container's first lookup can come before its VIP table is in its namespace (it is
      // programmed once the container runs); a connection to the VIP made then would never be
      // balanced. Its answer waits for the table, as Docker's sandbox has its rules before the process starts.
      if (sender !== undefined) await this.vipTableIn(sender.id);
      return ctx.transport === 'udp' ? fitUdp(ours, udpLimit(query)) : dnsPacket.encode(ours);
    }
    const own = sender?.template.containers[0]?.dns.nameservers ?? [];
    const answer = await this.upstream.resolve(raw, query, ctx.transport, own);
    return answer ?? dnsPacket.encode(emptyResponse(query, RCODE_SERVFAIL));
  }
}

/**
 * The translation with the container's DNS servers set to our responder
 * (Docker's embedded resolver keeps answering its own names and forwards the
 * rest to them). The task's own `--dns` servers are not lost: the responder
 * forwards that task's other names to them.
 */
export function withNameservers(inner: TranslateInstance, nameservers: (i: Instance) => string[] | undefined): TranslateInstance {
  return (instance, ctx) => {
    const out = inner(instance, ctx);
    const servers = nameservers(instance);
    if (servers === undefined) return out;
    const host = (out.body['HostConfig'] ?? {}) as Record<string, unknown>;
    return { ...out, body: { ...out.body, HostConfig: { ...host, Dns: servers } } };
  };
}

/** The client's EDNS buffer size, if it sent one, else 512. */
function udpLimit(query: DecodedPacket): number {
  const opt = (query.additionals ?? []).find((a) => a.type === 'OPT');
  const size = opt !== undefined && 'udpPayloadSize' in opt ? Number(opt.udpPayloadSize) : 0;
  return size > UDP_LIMIT ? Math.min(size, 4096) : UDP_LIMIT;
}

/** FORMERR with the query's id and no sections: what a server says to bytes it cannot parse. */
function formErr(raw: Buffer): Buffer {
  const out = Buffer.alloc(12);
  raw.copy(out, 0, 0, 2);
  out.writeUInt16BE(0x8000 | 0x80 | RCODE_FORMERR, 2);
  return out;
}
