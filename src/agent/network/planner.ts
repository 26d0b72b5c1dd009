import { conflict, invalidParameter, unavailable } from '../../util/errors.js';
import {
  DEFAULT_UNDERLAY_MTU,
  LABEL_ENCRYPTED,
  LABEL_MANAGED,
  LABEL_MODE,
  LABEL_NETWORK_ID,
  LABEL_VNI,
  CHAINS,
  FILTER_CHAIN,
  NAT_CHAIN,
  RAW_CHAIN,
  VXLAN_OVERHEAD,
  VXLAN_PORT,
  WIREGUARD_OVERHEAD,
  ZERO_MAC,
  bareAddress,
  canonicalSubnet,
  contains,
  macForAddress,
  normalizeMac,
  parseCidr,
  ruleComment,
  legName,
  parentName,
} from './addressing.js';
import type {
  DataPlaneMode,
  HostUnderlay,
  HostWireguard,
  IptablesChainState,
  IptablesTable,
  ObservedNetwork,
  ObservedWireguard,
  Operation,
  OverlayNetworkDesired,
  OverlayPeer,
} from './types.js';

/**
 * The planner: desired overlay state + what the host has → the operations that
 * close the gap. Pure (no I/O, no clock), deterministic (same inputs, same
 * list), and empty when nothing differs, which is what makes `ensure` idempotent.
 */

export interface NetworkPlan {
  readonly mode: DataPlaneMode;
  readonly mtu: number;
  readonly operations: readonly Operation[];
}

export const underlayMtu = (host: HostUnderlay): number => host.mtu ?? DEFAULT_UNDERLAY_MTU;

/** The MTU of the overlay's interfaces (bridge, VXLAN device, containers' eth). */
export function overlayMtu(mode: DataPlaneMode, encrypted: boolean, host: HostUnderlay): number {
  const base = underlayMtu(host) - (encrypted ? WIREGUARD_OVERHEAD : 0);
  return mode === 'routed' ? base : base - VXLAN_OVERHEAD;
}

/** Peers that are not on the underlay's own segment (so routed mode cannot reach them at L2). */
export function offLinkPeers(peers: readonly OverlayPeer[], host: HostUnderlay): readonly OverlayPeer[] {
  return peers.filter((p) => !contains(host.address, p.underlay));
}

/**
 * Routed or VXLAN. The mode is chosen once, when the network first comes up on
 * this host, and recorded on its Docker network (the containers' MTU cannot
 * change under them); afterwards the recorded mode stands. `auto` is routed
 * when every peer shares the underlay's subnet (same L2 segment, so a plain
 * next hop reaches it) and the network is not encrypted. Hosts on one segment
 * see the same peer set and so choose alike.
 */
export function chooseMode(desired: OverlayNetworkDesired, host: HostUnderlay, observed?: ObservedNetwork): DataPlaneMode {
  const recorded = observed?.docker?.labels[LABEL_MODE];
  let mode: DataPlaneMode;
  if (recorded === 'vxlan' || recorded === 'routed') {
    if (desired.mode !== 'auto' && desired.mode !== recorded) {
      throw conflict(`network ${desired.name} already runs in ${recorded} mode on this host; it cannot switch to ${desired.mode} under its containers`);
    }
    mode = recorded;
  } else if (desired.mode === 'auto') mode = !desired.encrypted && offLinkPeers(desired.peers, host).length === 0 ? 'routed' : 'vxlan';
  else mode = desired.mode;
  if (mode === 'routed' && desired.encrypted) {
    throw invalidParameter(`network ${desired.name}: an encrypted overlay runs VXLAN over WireGuard; routed mode cannot encrypt`);
  }
  if (mode === 'routed') {
    const off = offLinkPeers(desired.peers, host);
    if (off.length > 0) {
      throw unavailable(
        `network ${desired.name} runs in routed mode on this host but peer ${off.map((p) => `${p.nodeId} (${p.underlay})`).join(', ')} ` +
          `is not on the underlay segment ${canonicalSubnet(host.address)}; recreate the network in vxlan mode`,
      );
    }
  }
  return mode;
}

interface Endpoint {
  readonly address: string;
  readonly mac: string;
  readonly peer: OverlayPeer;
}

/** Every remote endpoint once, validated: inside the subnet, not claimed by two peers. */
function remoteEndpoints(desired: OverlayNetworkDesired): readonly Endpoint[] {
  const seen = new Map<string, Endpoint>();
  for (const peer of desired.peers) {
    for (const e of peer.endpoints) {
      const address = bareAddress(e.address);
      if (!contains(desired.subnet, address)) {
        throw invalidParameter(`network ${desired.name}: address ${address} of node ${peer.nodeId} is outside ${desired.subnet}`);
      }
      const prior = seen.get(address);
      if (prior && prior.peer.nodeId !== peer.nodeId) {
        throw conflict(`network ${desired.name}: address ${address} is claimed by nodes ${prior.peer.nodeId} and ${peer.nodeId}`);
      }
      seen.set(address, { address, mac: e.mac !== undefined ? normalizeMac(e.mac) : macForAddress(address), peer });
    }
  }
  return [...seen.values()].sort((a, b) => parseCidr(a.address).address - parseCidr(b.address).address);
}

/** Where VXLAN frames for a peer go: its underlay address, or its tunnel address when encrypted. */
function vxlanDestination(peer: OverlayPeer, desired: OverlayNetworkDesired): string {
  if (!desired.encrypted) return peer.underlay;
  if (!peer.wireguard) throw invalidParameter(`network ${desired.name} is encrypted but node ${peer.nodeId} has no WireGuard key`);
  return bareAddress(peer.wireguard.address);
}

/**
 * Our FORWARD rules for one network (filter table), in order. Traffic between
 * the network's own addresses (routed mode crosses the host's IP stack; the
 * mesh's return paths too); then either replies into the leg and the way out
 * through it to anywhere but another overlay (as Docker's bridge driver
 * isolates its networks from each other), or, for an internal network,
 * nothing else in or out, whatever the host's FORWARD policy.
 */
export function filterRules(vni: number, subnet: string, internal: boolean): string[] {
  const s = canonicalSubnet(subnet);
  const leg = legName(vni);
  const c = `-m comment --comment ${ruleComment(vni)}`;
  return [
    `-A ${FILTER_CHAIN} -s ${s} -d ${s} ${c} -j ACCEPT`,
    ...(internal
      ? [`-A ${FILTER_CHAIN} -i ${leg} ${c} -j DROP`, `-A ${FILTER_CHAIN} -o ${leg} ${c} -j DROP`]
      : [`-A ${FILTER_CHAIN} -o ${leg} -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j ACCEPT`, `-A ${FILTER_CHAIN} -i ${leg} ! -o stv-+ ${c} -j ACCEPT`]),
  ];
}

/** Our POSTROUTING rule (nat table): the network's way out is masqueraded, as Docker does for a bridge; nothing for internal ones. */
export function natRules(vni: number, subnet: string, internal: boolean): string[] {
  const s = canonicalSubnet(subnet);
  return internal ? [] : [`-A ${NAT_CHAIN} -s ${s} ! -d ${s} -m comment --comment ${ruleComment(vni)} -j MASQUERADE`];
}

/**
 * VXLAN mode (raw table): the encapsulated packets skip connection tracking,
 * going out and coming in. They are stateless UDP between fixed peers; tracking
 * each one in the host's conntrack table cost about a tenth of the overlay's
 * throughput here (scripts/bench/overlay.ts), as Cilium and Calico found too.
 */
export function rawRules(vni: number): string[] {
  return [`-A ${RAW_CHAIN} -p udp -m udp --dport ${VXLAN_PORT} -m comment --comment ${ruleComment(vni)} -j NOTRACK`];
}

const ownsRule = (vni: number) => (rule: string) => rule.includes(`--comment ${ruleComment(vni)} `) || rule.endsWith(`--comment ${ruleComment(vni)}`);

/** Our rules for this network in one table: exactly `wants`; the chain goes when it empties. */
function planChain(table: IptablesTable, vni: number, wants: readonly string[], state: IptablesChainState): Operation[] {
  const ops: Operation[] = [];
  const { chain, parents } = CHAINS[table];
  const mine = state.rules.filter(ownsRule(vni));
  const others = state.rules.filter((r) => !ownsRule(vni)(r));
  for (const r of mine) if (!wants.includes(r)) ops.push({ op: 'iptables.delete', table, rule: r });
  if (wants.length > 0) {
    if (!state.exists || !state.jump) for (const parent of parents) ops.push({ op: 'iptables.chain.ensure', table, chain, parent });
    for (const w of wants) if (!mine.includes(w)) ops.push({ op: 'iptables.append', table, rule: w });
  } else if (state.exists && others.length === 0) {
    for (const parent of parents) ops.push({ op: 'iptables.chain.remove', table, chain, parent });
  }
  return ops;
}

/** The labels our Docker network carries: how a restarted agent (and teardown) knows it. */
export function dockerLabels(desired: OverlayNetworkDesired, mode: DataPlaneMode): Record<string, string> {
  return {
    ...(desired.labels ?? {}),
    [LABEL_MANAGED]: 'true',
    [LABEL_NETWORK_ID]: desired.networkId,
    [LABEL_VNI]: String(desired.vni),
    [LABEL_MODE]: mode,
    [LABEL_ENCRYPTED]: String(desired.encrypted),
  };
}

function checkDesired(desired: OverlayNetworkDesired): void {
  if (!Number.isInteger(desired.vni) || desired.vni < 1 || desired.vni > 0xffffff) {
    throw invalidParameter(`network ${desired.name}: VNI ${desired.vni} is outside 1…16777215`);
  }
  if (!contains(desired.subnet, desired.gateway)) throw invalidParameter(`network ${desired.name}: gateway ${desired.gateway} is outside ${desired.subnet}`);
}

/** An existing Docker network that is not the one we want is never changed behind its containers' backs. */
function checkDockerNetwork(desired: OverlayNetworkDesired, observed: ObservedNetwork): void {
  const d = observed.docker;
  if (!d) return;
  const problems: string[] = [];
  if (d.labels[LABEL_NETWORK_ID] !== desired.networkId) problems.push(`it belongs to network ${d.labels[LABEL_NETWORK_ID] ?? '(not ours)'}`);
  if (d.driver !== 'macvlan' || d.parent !== parentName(desired.vni)) problems.push(`its driver is ${d.driver}${d.parent ? ` on ${d.parent}` : ''}, want macvlan on ${parentName(desired.vni)}`);
  if (canonicalSubnet(d.subnet) !== canonicalSubnet(desired.subnet)) problems.push(`its subnet is ${d.subnet}`);
  if (bareAddress(d.gateway) !== bareAddress(desired.gateway)) problems.push(`its gateway is ${d.gateway}`);
  if (problems.length > 0) {
    throw conflict(`Docker network ${d.name} on this host does not match overlay ${desired.name}: ${problems.join('; ')}; remove it first`);
  }
}

/**
 * The operations that bring one network's data plane on this host to `desired`.
 * `wireguard` is this host's tunnel (required for encrypted networks).
 */
export function planNetwork(desired: OverlayNetworkDesired, host: HostUnderlay, observed: ObservedNetwork, wireguard?: HostWireguard): NetworkPlan {
  checkDesired(desired);
  const mode = chooseMode(desired, host, observed);
  const mtu = overlayMtu(mode, desired.encrypted, host);
  if (desired.encrypted && !wireguard) throw invalidParameter(`network ${desired.name} is encrypted but this host has no WireGuard settings`);
  checkDockerNetwork(desired, observed);
  const parent = parentName(desired.vni);
  const leg = legName(desired.vni);
  const endpoints = remoteEndpoints(desired);
  const attached = observed.docker?.containers ?? 0;
  const ops: Operation[] = [];

  // 1. The parent device. Replacing it would take every container's interface
  //    with it (macvlans die with their parent), so a wrong one is replaced only
  //    while nothing is attached.
  const local = desired.encrypted && wireguard ? bareAddress(wireguard.address) : bareAddress(host.address);
  const cur = observed.parent;
  const right =
    cur !== undefined &&
    (mode === 'vxlan'
      ? cur.vxlan !== undefined && cur.vxlan.vni === desired.vni && cur.vxlan.local === local && cur.vxlan.port === VXLAN_PORT && !cur.vxlan.learning && cur.vxlan.proxy
      : cur.kind === 'bridge');
  let fresh = false;
  if (cur && !right) {
    if (attached > 0) {
      throw conflict(`network ${desired.name}: its device ${parent} on this host is not the ${mode} device it needs, and ${attached} container(s) are attached; remove them first`);
    }
    ops.push({ op: 'link.del', name: parent });
  }
  if (!cur || !right) {
    fresh = true;
    ops.push(mode === 'vxlan' ? { op: 'link.vxlan.add', name: parent, vni: desired.vni, local, port: VXLAN_PORT, mtu } : { op: 'link.stub.add', name: parent, mtu });
  } else if (cur.mtu !== mtu || !cur.up) {
    ops.push({ op: 'link.set', name: parent, mtu, up: true });
  }

  // 2. The Docker network: the engine's macvlan driver on that parent, so its
  //    containers attach the ordinary way with the cluster's addresses, switched
  //    among themselves by the macvlan and sent to other hosts by the parent
  //    without passing through a Linux bridge (and so br_netfilter) at all.
  if (!observed.docker) {
    ops.push({ op: 'docker.network.create', name: desired.name, parent, subnet: canonicalSubnet(desired.subnet), gateway: bareAddress(desired.gateway), labels: dockerLabels(desired, mode) });
  }

  // 3. The host's leg with the anycast gateway (DNS answers there; the way out).
  const legFresh = fresh || !observed.leg || observed.leg.link !== parent;
  if (legFresh) {
    if (observed.leg && !fresh) ops.push({ op: 'link.del', name: leg });
    ops.push({ op: 'link.leg.add', name: leg, parent });
  } else if (!observed.leg?.up) {
    ops.push({ op: 'link.set', name: leg, up: true });
  }
  const gatewayCidr = `${bareAddress(desired.gateway)}/${parseCidr(desired.subnet).prefix}`;
  if (legFresh || !observed.legAddresses.includes(gatewayCidr)) ops.push({ op: 'addr.replace', dev: leg, address: gatewayCidr });

  // 4. VXLAN mode: static FDB and ARP-proxy entries on the device.
  if (mode === 'vxlan') {
    const fdbNow = fresh ? [] : observed.fdb;
    const neighNow = fresh ? [] : observed.neigh;
    const wantFdb = new Map<string, { mac: string; dst: string }>();
    for (const peer of desired.peers) {
      const dst = vxlanDestination(peer, desired);
      wantFdb.set(`${ZERO_MAC}>${dst}`, { mac: ZERO_MAC, dst }); // flooding (BUM) to every peer
    }
    for (const e of endpoints) {
      const dst = vxlanDestination(e.peer, desired);
      wantFdb.set(`${e.mac}>${dst}`, { mac: e.mac, dst });
    }
    const haveFdb = new Set(fdbNow.map((f) => `${f.mac}>${f.dst}`));
    for (const f of fdbNow) if (!wantFdb.has(`${f.mac}>${f.dst}`)) ops.push({ op: 'fdb.del', dev: parent, mac: f.mac, dst: f.dst });
    for (const [key, f] of wantFdb) if (!haveFdb.has(key)) ops.push({ op: 'fdb.add', dev: parent, mac: f.mac, dst: f.dst });
    const wantNeigh = new Map(endpoints.map((e) => [e.address, e.mac]));
    for (const n of neighNow) if (!wantNeigh.has(n.address)) ops.push({ op: 'neigh.del', dev: parent, address: n.address });
    const haveNeigh = new Map(neighNow.map((n) => [n.address, n.mac]));
    for (const [address, mac] of wantNeigh) if (haveNeigh.get(address) !== mac) ops.push({ op: 'neigh.replace', dev: parent, address, mac });
  }

  // 5. Routed mode: a /32 route per remote endpoint via its host, and the leg
  //    answers ARP for it (proxy entries, no delay) so containers on one subnet
  //    reach it without knowing it lives elsewhere.
  const wantRoutes = new Map(mode === 'routed' ? endpoints.map((e) => [`${e.address}/32`, e.peer.underlay]) : []);
  for (const r of observed.routes) if (wantRoutes.get(r.destination) !== r.via) ops.push({ op: 'route.del', destination: r.destination, via: r.via });
  const haveRoutes = new Map(observed.routes.map((r) => [r.destination, r.via]));
  for (const [destination, via] of wantRoutes) if (haveRoutes.get(destination) !== via) ops.push({ op: 'route.replace', destination, via });
  const proxyNow = legFresh ? [] : observed.proxyNeigh;
  const wantProxy = new Set(mode === 'routed' ? endpoints.map((e) => e.address) : []);
  for (const a of proxyNow) if (!wantProxy.has(a)) ops.push({ op: 'neigh.proxy.del', dev: leg, address: a });
  for (const a of wantProxy) if (!proxyNow.includes(a)) ops.push({ op: 'neigh.proxy.add', dev: leg, address: a });
  if (mode === 'routed' && (legFresh || observed.proxyDelayMs !== 0)) ops.push({ op: 'ntable.proxy-delay', dev: leg, ms: 0 });

  // 6. Firewall: FORWARD DROP (Docker's policy) sees what crosses the host's IP
  //    stack: the way out, replies, and routed traffic; Docker's NAT does not
  //    know a macvlan network, so its way out is masqueraded here.
  ops.push(...planChain('filter', desired.vni, filterRules(desired.vni, desired.subnet, desired.internal), observed.filter));
  ops.push(...planChain('nat', desired.vni, natRules(desired.vni, desired.subnet, desired.internal), observed.nat));
  ops.push(...planChain('raw', desired.vni, mode === 'vxlan' ? rawRules(desired.vni) : [], observed.raw));

  return { mode, mtu, operations: ops };
}

/**
 * Everything one network put on this host, removed: its Docker network, the
 * host's leg, the parent device (and with it its FDB and neighbours), routes
 * and firewall rules.
 */
export function planTeardown(vni: number, observed: ObservedNetwork): readonly Operation[] {
  const ops: Operation[] = [];
  if (observed.docker) ops.push({ op: 'docker.network.remove', id: observed.docker.id, name: observed.docker.name });
  if (observed.leg) ops.push({ op: 'link.del', name: legName(vni) });
  if (observed.parent) ops.push({ op: 'link.del', name: parentName(vni) });
  for (const r of observed.routes) ops.push({ op: 'route.del', destination: r.destination, via: r.via });
  ops.push(...planChain('filter', vni, [], observed.filter));
  ops.push(...planChain('nat', vni, [], observed.nat));
  ops.push(...planChain('raw', vni, [], observed.raw));
  return ops;
}

export const wireguardMtu = (host: HostUnderlay): number => underlayMtu(host) - WIREGUARD_OVERHEAD;

/**
 * The host's WireGuard interface: present with exactly `peers` (the union of
 * every encrypted network's peers, one per host), or — with no peers wanted and
 * `keep` false — gone.
 */
export function planWireguard(
  wg: HostWireguard,
  host: HostUnderlay,
  peers: readonly OverlayPeer[],
  observed: ObservedWireguard,
  keep: boolean,
): readonly Operation[] {
  if (!keep) return observed.link ? [{ op: 'wg.link.del', name: wg.interface }] : [];
  const ops: Operation[] = [];
  const fresh = !observed.link;
  if (fresh) ops.push({ op: 'wg.link.add', name: wg.interface });
  if (fresh || observed.listenPort !== wg.listenPort) ops.push({ op: 'wg.configure', name: wg.interface, listenPort: wg.listenPort });
  const address = `${bareAddress(wg.address)}/${parseCidr(wg.address).prefix}`;
  if (fresh || !observed.addresses.includes(address)) ops.push({ op: 'addr.replace', dev: wg.interface, address });
  const mtu = wireguardMtu(host);
  if (fresh || observed.link?.mtu !== mtu || !observed.link.up) ops.push({ op: 'link.set', name: wg.interface, mtu, up: true });

  const want = new Map<string, { endpoint: string; allowedIps: string[] }>();
  for (const p of peers) {
    if (!p.wireguard) continue;
    want.set(p.wireguard.publicKey, { endpoint: `${p.underlay}:${wg.listenPort}`, allowedIps: [`${bareAddress(p.wireguard.address)}/32`] });
  }
  const have = new Map((fresh ? [] : observed.peers).map((p) => [p.publicKey, p]));
  for (const key of have.keys()) if (!want.has(key)) ops.push({ op: 'wg.peer.remove', name: wg.interface, publicKey: key });
  for (const [publicKey, w] of [...want].sort(([a], [b]) => a.localeCompare(b))) {
    const h = have.get(publicKey);
    if (!h || h.endpoint !== w.endpoint || [...h.allowedIps].sort().join(',') !== w.allowedIps.join(',')) {
      ops.push({ op: 'wg.peer.set', name: wg.interface, publicKey, endpoint: w.endpoint, allowedIps: w.allowedIps });
    }
  }
  return ops;
}
