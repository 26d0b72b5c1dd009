import { isDeepStrictEqual } from 'node:util';
import { advance, isTerminal, stateRank, type EndpointState, type Instance, type Network, type NetworkAttachment, type Node, type PortConfig, type Workload } from '../model/index.js';
import { DEFAULT_ADDR_POOL, DEFAULT_SUBNET_SIZE } from '../manager/defaults.js';
import { Component, changes, type WatchEventOf } from '../orchestrator/component.js';
import type { Timers } from '../orchestrator/timers.js';
import type { ReadTx, Store, WriteTx } from '../store/index.js';
import type { Clock } from '../util/clock.js';
import { invalidParameter } from '../util/errors.js';
import type { IdGenerator } from '../util/ids.js';
import type { Logger } from '../util/log.js';
import { SubnetPool } from './ipam.js';
import { formatIPv4, formatPrefix, parseCidr, parseIPv4, parsePrefix } from './ipv4.js';
import { awaitingNetworkAllocation, ingressNeeded } from './needs.js';
import { AllocState, type Held, type NetState } from './state.js';
import { requestedVni } from './vni.js';

/** Swarm's words once a task has its addresses and waits for a node. */
export const AllocatedMessage = 'pending task scheduling';

export interface NetworkAllocatorOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly log: Logger;
  /** Only for the retry after a failed write; tests pass ManualTimers. */
  readonly timers?: Timers;
}

/** The allocator creates no objects; the Component base asks for an id generator all the same. */
const noIds: IdGenerator = {
  objectId: () => {
    throw new Error('the network allocator creates no objects');
  },
  hexId: () => {
    throw new Error('the network allocator creates no objects');
  },
};

const runningRank = stateRank('running');
const completeRank = stateRank('complete');

/** Not an error: something this object needs (a network, its workload) is not allocated yet. */
class NotYet extends Error {
  constructor(readonly reason?: string) {
    super(reason ?? 'waiting for another allocation');
  }
}

const instanceOwner = (id: string): string => `i:${id}`;
const workloadOwner = (id: string): string => `w:${id}`;
/** A node's own address on the ingress network (the routing mesh's return path). */
const nodeOwner = (id: string): string => `n:${id}`;

/** An address as the model writes it: "10.0.1.5/24". */
const cidrOf = (net: NetState, addr: number): string => {
  const pool = net.pools.find((p) => addr >= p.subnet.base && addr < p.subnet.base + 2 ** (32 - p.subnet.bits));
  return `${formatIPv4(addr)}/${pool?.subnet.bits ?? 32}`;
};

const watched = ['cluster', 'network', 'workload', 'instance', 'node'] as const;
type Watched = (typeof watched)[number];

/**
 * The network allocator (swarmkit's manager/allocator): a leader component
 * that reacts to the store's watch stream and writes what it allocates —
 *
 * - each network's subnet(s), gateway(s) and VXLAN id (`Network.allocation`);
 * - each workload's endpoint: a VIP per attached network in vip mode (and on
 *   the ingress network when it publishes through the routing mesh), and its
 *   published ports, 0 replaced by one of 30000–32767 (`Workload.endpoint`);
 * - each instance's address on every network it attaches to
 *   (`Instance.networks`), after which it moves the instance from `new` to
 *   `pending` ("pending task scheduling") for the scheduler — see
 *   `awaitingNetworkAllocation` for the hand-off.
 *
 * An instance's addresses are given back once it has stopped (observed state
 * past running) or is deleted; a workload's VIPs and ports when it is
 * deleted; a network's subnets and VNI when it is deleted. Nobody calls it:
 * objects are noted as dirty from watch events and each flush re-reads them
 * inside one store transaction, so it always acts on the latest state.
 * At start it rebuilds everything from the store, so a restarted manager
 * never hands out an address twice.
 */
export class NetworkAllocator extends Component<Watched> {
  protected readonly kinds = watched;
  private state = new AllocState(DEFAULT_ADDR_POOL, DEFAULT_SUBNET_SIZE);
  private readonly dirty = { network: new Set<string>(), workload: new Set<string>(), instance: new Set<string>(), node: new Set<string>() };
  /** Waiting for a network, a workload or free addresses: retried whenever something was allocated or freed. */
  private readonly blocked = { workload: new Set<string>(), instance: new Set<string>(), node: new Set<string>() };
  /** Why a workload could not be allocated (a port conflict, …): shown on its waiting instances. */
  private readonly workloadErrors = new Map<string, string>();
  private progress = false;

  constructor(opts: NetworkAllocatorOptions) {
    super({ store: opts.store, clock: opts.clock, log: opts.log, ids: noIds, ...(opts.timers ? { timers: opts.timers } : {}) });
  }

  // ---------------------------------------------------------------- reading the store

  protected init(tx: ReadTx): void {
    const state = new AllocState(DEFAULT_ADDR_POOL, DEFAULT_SUBNET_SIZE);
    this.state = state;
    const cluster = tx.list('cluster')[0];
    if (cluster) state.space.configure(cluster.defaultAddrPool, cluster.subnetSize);
    // What the store records is taken first, so nothing new can collide with it.
    const networks = tx.list('network');
    for (const n of networks) {
      if (n.allocation) this.restoreNetwork(n);
      else this.dirty.network.add(n.id);
    }
    for (const n of tx.list('node')) {
      this.restoreNode(n);
      this.dirty.node.add(n.id);
    }
    for (const w of tx.list('workload')) {
      this.restoreWorkload(w);
      this.dirty.workload.add(w.id);
    }
    for (const i of tx.list('instance')) {
      if (isTerminal(i.status.state)) continue;
      if (i.networks.length > 0) this.restoreInstance(i);
      if (i.status.state === 'new') this.dirty.instance.add(i.id);
    }
  }

  protected onEvent(ev: WatchEventOf<Watched>): void {
    switch (ev.kind) {
      case 'cluster':
        if (ev.action !== 'delete') this.state.space.configure(ev.object.defaultAddrPool, ev.object.subnetSize);
        return;
      case 'network':
        this.dirty.network.add(ev.object.id);
        return;
      case 'workload':
        this.dirty.workload.add(ev.object.id);
        return;
      case 'instance':
        if (changes(ev, instanceChangeMatters)) this.dirty.instance.add(ev.object.id);
        return;
      case 'node':
        // Nodes are written often (status, heartbeats); only arrivals, departures and a lost address matter.
        if (ev.action !== 'update' || ev.old.ingressAddress !== ev.object.ingressAddress) this.dirty.node.add(ev.object.id);
        return;
    }
  }

  // ---------------------------------------------------------------- one pass

  protected async flush(): Promise<void> {
    const work = {
      network: [...this.dirty.network],
      workload: [...this.dirty.workload],
      instance: [...this.dirty.instance],
      node: [...this.dirty.node],
    };
    if (work.network.length + work.workload.length + work.instance.length + work.node.length === 0) return;
    this.dirty.network.clear();
    this.dirty.workload.clear();
    this.dirty.instance.clear();
    this.dirty.node.clear();
    this.progress = false;
    try {
      await this.store.update((tx) => {
        // The ingress network first: at `swarm init` it gets the first subnet of the pool.
        const networks = work.network
          .map((id) => ({ id, ingress: tx.get('network', id)?.spec.ingress === true }))
          .sort((a, b) => Number(b.ingress) - Number(a.ingress));
        for (const { id } of networks) this.flushNetwork(tx, id);
        const nodes = new Set(work.node);
        if (this.progress) for (const id of this.blocked.node) nodes.add(id);
        for (const id of nodes) this.flushNode(tx, id);
        const workloads = new Set(work.workload);
        if (this.progress) for (const id of this.blocked.workload) workloads.add(id);
        for (const id of workloads) this.flushWorkload(tx, id);
        const instances = new Set(work.instance);
        if (this.progress) for (const id of this.blocked.instance) instances.add(id);
        for (const id of instances) this.flushInstance(tx, id);
      });
    } catch (err) {
      // The transaction rolled back, so memory may be ahead of the store: rebuild from it.
      this.store.view((tx) => this.init(tx));
      throw err;
    }
    if (this.progress && (this.blocked.workload.size > 0 || this.blocked.instance.size > 0 || this.blocked.node.size > 0)) {
      for (const id of this.blocked.node) this.dirty.node.add(id);
      for (const id of this.blocked.workload) this.dirty.workload.add(id);
      for (const id of this.blocked.instance) this.dirty.instance.add(id);
      this.kick();
    }
  }

  // ---------------------------------------------------------------- networks

  private restoreNetwork(n: Network): void {
    const a = n.allocation;
    if (!a || this.state.nets.has(n.id)) return;
    const subnets = [];
    const pools = [];
    for (const [k, s] of a.subnets.entries()) {
      const prefix = parsePrefix(s.subnet);
      if (!prefix) continue;
      try {
        this.state.space.reserve(prefix);
      } catch {
        this.log.error({ network: n.spec.name, subnet: s.subnet }, 'stored subnet overlaps another network; keeping both as recorded');
      }
      subnets.push(prefix);
      const rangeText = n.spec.ipam.configs[k]?.ipRange;
      const range = rangeText ? parsePrefix(rangeText) : undefined;
      const pool = new SubnetPool(prefix, range);
      const gw = parseIPv4(s.gateway);
      if (gw !== undefined) {
        try {
          pool.reserve(gw);
        } catch {
          // a gateway outside its subnet cannot be in the way of anything
        }
      }
      pools.push(pool);
    }
    try {
      this.state.vnis.reserve(a.vni);
    } catch {
      this.log.error({ network: n.spec.name, vni: a.vni }, 'stored VXLAN id is used twice');
    }
    this.state.nets.set(n.id, { id: n.id, name: n.spec.name, subnets, pools, vni: a.vni, ingress: n.spec.ingress });
  }

  private flushNetwork(tx: WriteTx, id: string): void {
    const n = tx.get('network', id);
    if (!n) {
      if (this.state.dropNetwork(id)) this.progress = true;
      return;
    }
    if (this.state.nets.has(id)) return; // allocations never change
    if (n.allocation) {
      this.restoreNetwork(n);
      this.progress = true;
      return;
    }
    try {
      const allocation = this.state.atomically(() => this.allocateNetwork(n));
      tx.update('network', { ...n, allocation });
      this.progress = true;
      this.log.info({ network: n.spec.name, subnets: allocation.subnets, vni: allocation.vni }, 'network allocated');
    } catch (err) {
      this.log.error({ err, network: n.spec.name }, 'network allocation failed');
    }
  }

  private allocateNetwork(n: Network): NonNullable<Network['allocation']> {
    const configs = n.spec.ipam.configs.length > 0 ? n.spec.ipam.configs : [{}];
    const subnets: { subnet: string; gateway: string }[] = [];
    const prefixes = [];
    const pools = [];
    for (const c of configs) {
      const given = c.subnet ? parsePrefix(c.subnet) : undefined;
      if (c.subnet && !given) throw invalidParameter(`invalid subnet ${c.subnet}`);
      const subnet = this.state.takeSubnet(given);
      const range = c.ipRange ? parsePrefix(c.ipRange) : undefined;
      const pool = new SubnetPool(subnet, range);
      let gateway: number;
      if (c.gateway) {
        const gw = parseIPv4(c.gateway);
        if (gw === undefined) throw invalidParameter(`invalid gateway ${c.gateway}`);
        gateway = this.state.takeAddress(pool, gw);
      } else {
        gateway = this.state.allocateIn(pool);
      }
      prefixes.push(subnet);
      pools.push(pool);
      subnets.push({ subnet: formatPrefix(subnet), gateway: formatIPv4(gateway) });
    }
    const vni = this.state.takeVni(requestedVni(n.spec.options));
    this.state.addNetwork({ id: n.id, name: n.spec.name, subnets: prefixes, pools, vni, ingress: n.spec.ingress });
    return { subnets, vni };
  }

  // ---------------------------------------------------------------- workloads

  private restoreWorkload(w: Workload): void {
    const e = w.endpoint;
    if (!e) return;
    const owner = { workloadId: w.id, name: w.spec.name };
    for (const p of e.ports) {
      if (p.publishMode !== 'ingress' || p.publishedPort === 0) continue;
      try {
        this.state.ports.reserve(p.protocol, p.publishedPort, owner);
      } catch (err) {
        this.log.error({ err, service: w.spec.name }, 'stored published port is held twice');
      }
    }
    this.state.syncHeld(workloadOwner(w.id), this.vipsHeld(e));
  }

  private vipsHeld(e: EndpointState): Held[] {
    const out: Held[] = [];
    for (const v of e.virtualIps) {
      const c = parseCidr(v.addr);
      if (c) out.push({ networkId: v.networkId, addr: c.addr });
    }
    return out;
  }

  private flushWorkload(tx: WriteTx, id: string): void {
    const w = tx.get('workload', id);
    if (!w) {
      const freed = this.state.releaseOwner(workloadOwner(id));
      if (this.state.releasePorts(id) || freed) this.progress = true;
      this.blocked.workload.delete(id);
      this.workloadErrors.delete(id);
      return;
    }
    try {
      const endpoint = this.state.atomically(() => this.allocateEndpoint(tx, w));
      this.blocked.workload.delete(id);
      this.workloadErrors.delete(id);
      if (!isDeepStrictEqual(w.endpoint, endpoint)) {
        tx.update('workload', { ...w, endpoint });
        this.progress = true;
      }
    } catch (err) {
      this.blocked.workload.add(id);
      if (err instanceof NotYet) {
        if (err.reason) this.workloadErrors.set(id, err.reason);
        return;
      }
      const message = (err as Error).message;
      if (this.workloadErrors.get(id) !== message) this.log.error({ err, service: w.spec.name }, 'service allocation failed');
      this.workloadErrors.set(id, message);
    }
  }

  /** swarmkit's allocateService: ports first, then a VIP per network (vip mode). */
  private allocateEndpoint(tx: ReadTx, w: Workload): EndpointState {
    const spec = w.spec.endpoint;
    const recorded = w.endpoint;
    const owner = { workloadId: w.id, name: w.spec.name };
    const ports: PortConfig[] = [];
    const keep = new Set<string>();
    const reusable = (recorded?.ports ?? []).filter((p) => p.publishMode === 'ingress' && p.publishedPort !== 0);
    for (const p of spec.ports) {
      if (p.publishMode !== 'ingress') {
        ports.push(p);
        continue;
      }
      let port: number;
      if (p.publishedPort !== 0) port = this.state.takePort(p.protocol, p.publishedPort, owner);
      else {
        // A port the manager picked before stays the service's across updates (swarmkit's reconcilePortConfigs).
        const k = reusable.findIndex((q) => q.name === p.name && q.protocol === p.protocol && q.targetPort === p.targetPort && !keep.has(`${q.protocol}/${q.publishedPort}`));
        const prior = k >= 0 ? reusable.splice(k, 1)[0] : undefined;
        const priorOwner = prior ? this.state.ports.ownerOf(prior.protocol, prior.publishedPort) : undefined;
        port =
          prior && (priorOwner === undefined || priorOwner.workloadId === w.id)
            ? this.state.takePort(prior.protocol, prior.publishedPort, owner)
            : this.state.allocatePort(p.protocol, owner);
      }
      keep.add(`${p.protocol}/${port}`);
      ports.push({ ...p, publishedPort: port });
    }
    this.state.releasePorts(w.id, keep);

    const virtualIps: { networkId: string; addr: string }[] = [];
    if (spec.mode === 'vip') {
      const targets: string[] = [];
      if (ingressNeeded(spec)) {
        const ingress = this.state.ingress;
        if (!ingress) throw new NotYet('ingress network is missing');
        targets.push(ingress.id);
      }
      for (const n of w.spec.template.networks) {
        if (tx.get('network', n.target) && !targets.includes(n.target)) targets.push(n.target);
      }
      const held = this.state.held.get(workloadOwner(w.id)) ?? [];
      const recordedVips = recorded ? this.vipsHeld(recorded) : [];
      const want: Held[] = [];
      const fresh: Held[] = [];
      for (const networkId of targets) {
        const net = this.state.nets.get(networkId);
        if (!net) throw new NotYet();
        const mine = held.find((h) => h.networkId === networkId) ?? recordedVips.find((h) => h.networkId === networkId);
        if (mine) want.push(mine);
        else fresh.push({ networkId, addr: this.state.allocateAddress(net).addr });
      }
      const refused = this.state.syncHeld(workloadOwner(w.id), want);
      for (const r of refused) {
        const net = this.state.nets.get(r.networkId);
        if (net) fresh.push({ networkId: r.networkId, addr: this.state.allocateAddress(net).addr });
      }
      this.state.addHeld(workloadOwner(w.id), fresh);
      const all = this.state.held.get(workloadOwner(w.id)) ?? [];
      for (const networkId of targets) {
        const h = all.find((x) => x.networkId === networkId);
        const net = this.state.nets.get(networkId);
        if (h && net) virtualIps.push({ networkId, addr: cidrOf(net, h.addr) });
      }
    } else {
      this.state.releaseOwner(workloadOwner(w.id)); // dnsrr: no VIPs (swarmkit frees those of a former vip mode)
    }
    return { spec, ports, virtualIps };
  }

  /** The workload's endpoint matches its spec: its instances may be allocated. */
  private workloadAllocated(tx: ReadTx, w: Workload): boolean {
    const e = w.endpoint;
    if (!e || !isDeepStrictEqual(e.spec, w.spec.endpoint) || this.blocked.workload.has(w.id)) return false;
    if (w.spec.endpoint.mode !== 'vip') return true;
    return w.spec.template.networks.every((n) => !tx.get('network', n.target) || e.virtualIps.some((v) => v.networkId === n.target));
  }

  // ---------------------------------------------------------------- nodes

  private restoreNode(n: Node): void {
    const a = n.ingressAddress;
    const c = a === undefined ? undefined : parseCidr(a.address);
    if (a === undefined || c === undefined) return;
    const refused = this.state.syncHeld(nodeOwner(n.id), [{ networkId: a.networkId, addr: c.addr }]);
    if (refused.length) this.log.error({ node: n.id, address: a.address }, 'stored node ingress address is held twice');
  }

  /**
   * Every node gets an address of its own on the ingress network (swarmkit's
   * node network attachment): the routing mesh sends a task's replies back
   * to the node that received the connection through it.
   */
  private flushNode(tx: WriteTx, id: string): void {
    const n = tx.get('node', id);
    if (!n) {
      if (this.state.releaseOwner(nodeOwner(id))) this.progress = true;
      this.blocked.node.delete(id);
      return;
    }
    const ingress = this.state.ingress;
    if (!ingress) {
      this.blocked.node.add(id);
      return;
    }
    if (n.ingressAddress?.networkId === ingress.id) {
      this.restoreNode(n);
      this.blocked.node.delete(id);
      return;
    }
    try {
      const address = this.state.atomically(() => {
        const { addr } = this.state.allocateAddress(ingress);
        this.state.syncHeld(nodeOwner(id), []);
        this.state.addHeld(nodeOwner(id), [{ networkId: ingress.id, addr }]);
        return cidrOf(ingress, addr);
      });
      tx.update('node', { ...n, ingressAddress: { networkId: ingress.id, address } });
      this.blocked.node.delete(id);
      this.progress = true;
    } catch (err) {
      this.blocked.node.add(id);
      this.log.warn({ err, node: id }, 'no ingress address for the node yet');
    }
  }

  // ---------------------------------------------------------------- instances

  private restoreInstance(i: Instance): void {
    const want: Held[] = [];
    for (const a of i.networks) {
      for (const addr of a.addresses) {
        const c = parseCidr(addr);
        if (c) want.push({ networkId: a.networkId, addr: c.addr });
      }
    }
    const refused = this.state.syncHeld(instanceOwner(i.id), want);
    if (refused.length) this.log.error({ task: i.id, addresses: refused.map((r) => formatIPv4(r.addr)) }, 'stored task address is held twice');
  }

  private flushInstance(tx: WriteTx, id: string): void {
    const i = tx.get('instance', id);
    if (!i || isTerminal(i.status.state)) {
      // A task that stopped gives its addresses back at once (as swarmkit's allocator does); the record keeps them for `docker inspect`.
      if (this.state.releaseOwner(instanceOwner(id))) this.progress = true;
      this.blocked.instance.delete(id);
      return;
    }
    if (i.status.state !== 'new' || i.networks.length > 0) {
      this.restoreInstance(i);
      this.blocked.instance.delete(id);
      if (i.status.state === 'new') this.toPending(tx, i, i.networks);
      return;
    }
    const w = tx.get('workload', i.workloadId);
    if (!awaitingNetworkAllocation(i, w) || stateRank(i.desiredState) > completeRank) {
      this.blocked.instance.delete(id);
      return;
    }
    try {
      if (w && !this.workloadAllocated(tx, w)) throw new NotYet(this.workloadErrors.get(w.id));
      const networks = this.state.atomically(() => this.allocateAttachments(tx, i, w));
      this.blocked.instance.delete(id);
      this.toPending(tx, i, networks);
      this.progress = true;
    } catch (err) {
      this.blocked.instance.add(id);
      const reason = err instanceof NotYet ? err.reason : `could not allocate the task's network addresses: ${(err as Error).message}`;
      if (reason !== undefined && i.status.err !== reason) tx.update('instance', { ...i, status: { ...i.status, err: reason } });
    }
  }

  /** swarmkit's taskCreateNetworkAttachments + AllocateTask: ingress first, then the template's networks. */
  private allocateAttachments(tx: ReadTx, i: Instance, w: Workload | undefined): NetworkAttachment[] {
    const wanted: { networkId: string; aliases: readonly string[] }[] = [];
    if (w && ingressNeeded(w.spec.endpoint)) {
      const ingress = this.state.ingress;
      if (!ingress) throw new NotYet('ingress network is missing');
      wanted.push({ networkId: ingress.id, aliases: [] });
    }
    for (const n of i.template.networks) {
      if (!tx.get('network', n.target)) continue; // a network removed since: swarmkit leaves it out
      wanted.push({ networkId: n.target, aliases: n.aliases });
    }
    const out: NetworkAttachment[] = [];
    const held: Held[] = [];
    for (const a of wanted) {
      const net = this.state.nets.get(a.networkId);
      if (!net) throw new NotYet();
      const { addr } = this.state.allocateAddress(net);
      held.push({ networkId: net.id, addr });
      out.push({ networkId: net.id, addresses: [cidrOf(net, addr)], aliases: [...a.aliases] });
    }
    this.state.addHeld(instanceOwner(i.id), held);
    return out;
  }

  private toPending(tx: WriteTx, i: Instance, networks: readonly NetworkAttachment[]): void {
    const { err: _dropped, ...status } = i.status;
    tx.update('instance', {
      ...i,
      networks,
      status: { ...status, state: advance(i.status.state, 'pending'), message: AllocatedMessage, timestamp: this.clock.now() },
    });
  }
}

/** Updates worth a look: a new observed or desired state, or other addresses. */
function instanceChangeMatters(old: Instance, next: Instance): boolean {
  if (old.networks !== next.networks || old.desiredState !== next.desiredState) return true;
  if (old.status.state === next.status.state) return false;
  // Past running the addresses go back; before that only `new` needs work.
  return next.status.state === 'new' || stateRank(next.status.state) > runningRank || stateRank(old.status.state) > runningRank;
}

export interface StartedAllocator {
  readonly allocator: NetworkAllocator;
  /** Resolves when its loop has ended. */
  readonly done: Promise<void>;
  stop(): void;
}

/** For the manager's composition root (startSwarmManager). */
export function startAllocator(opts: NetworkAllocatorOptions): StartedAllocator {
  const allocator = new NetworkAllocator(opts);
  const done = allocator.run();
  return { allocator, done, stop: () => allocator.stop() };
}
