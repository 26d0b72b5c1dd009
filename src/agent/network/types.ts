/**
 * The overlay data plane's vocabulary: what the agent wants on this host
 * (desired), what the host has (observed), and the steps between them
 * (operations). Plain readonly data; the planner turns the first two into the
 * third without I/O.
 */

/** How frames cross hosts. `auto` picks `routed` when every peer is on the underlay's own segment. */
export const OverlayModes = ['auto', 'vxlan', 'routed'] as const;
export type OverlayMode = (typeof OverlayModes)[number];
/** The mode a network actually runs in on a host (recorded on its Docker network). */
export type DataPlaneMode = Exclude<OverlayMode, 'auto'>;

/** This host's side of the underlay, fixed for the driver's life. */
export interface HostUnderlay {
  /** The address peers reach this host at, with its prefix: "10.211.0.11/24". */
  readonly address: string;
  /** The underlay's MTU (default 1500): overlays are this minus their encapsulation. */
  readonly mtu?: number;
}

/** WireGuard settings of this host, needed only for encrypted networks. */
export interface HostWireguard {
  /** The wg interface (one per host, shared by every encrypted network). Max 15 characters. */
  readonly interface: string;
  /** This host's address inside the tunnel, with its prefix: "10.249.0.11/24". */
  readonly address: string;
  readonly listenPort: number;
}

/** One instance (or attachable container) of the network living on a peer host. */
export interface PeerEndpoint {
  /** Its overlay address, bare or in CIDR form ("10.250.0.7" or "10.250.0.7/24"). */
  readonly address: string;
  /** Its MAC; Docker 20.10's own choice (02:42 + the IPv4 address) when absent. */
  readonly mac?: string;
}

/** Another host that has instances on the network. */
export interface OverlayPeer {
  readonly nodeId: string;
  /** The peer's underlay address (bare). */
  readonly underlay: string;
  readonly endpoints: readonly PeerEndpoint[];
  /** Encrypted networks: the peer's WireGuard public key and tunnel address (bare). */
  readonly wireguard?: { readonly publicKey: string; readonly address: string };
}

/** One overlay network as this host should have it. */
export interface OverlayNetworkDesired {
  readonly networkId: string;
  /** The Docker network's name on the host's engine (the cluster network's name). */
  readonly name: string;
  readonly vni: number;
  readonly subnet: string; // "10.250.0.0/24"
  readonly gateway: string; // "10.250.0.1" (every host carries it: an anycast gateway)
  readonly mode: OverlayMode;
  readonly encrypted: boolean;
  readonly internal: boolean;
  readonly peers: readonly OverlayPeer[];
  /** Extra labels for the Docker network. */
  readonly labels?: Readonly<Record<string, string>>;
}

// ------------------------------------------------------------------ observed

export interface ObservedDockerNetwork {
  readonly id: string;
  readonly name: string;
  /** Docker's driver ("macvlan" for ours). */
  readonly driver: string;
  /** The macvlan driver's `parent` option. */
  readonly parent: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly labels: Readonly<Record<string, string>>;
  /** How many containers are attached (teardown refuses while any are). */
  readonly containers: number;
}

export interface ObservedLink {
  readonly name: string;
  readonly kind: string; // "bridge", "vxlan", "macvlan", "wireguard", "tun", ""
  readonly mtu: number;
  readonly up: boolean;
  readonly master?: string;
  /** The lower device of a macvlan (`ip link` prints `name@link`). */
  readonly link?: string;
  /** VXLAN only. */
  readonly vxlan?: { readonly vni: number; readonly local: string; readonly port: number; readonly learning: boolean; readonly proxy: boolean };
}

export interface IptablesChainState {
  readonly exists: boolean;
  /** Whether every parent chain jumps to ours. */
  readonly jump: boolean;
  /** Our chain's rules in `iptables -S` form ("-A STVOV-FWD -s … -j ACCEPT"). */
  readonly rules: readonly string[];
}

/** What one network's data plane looks like on the host now. */
export interface ObservedNetwork {
  readonly docker?: ObservedDockerNetwork;
  /** The network's parent device (VXLAN, or the routed mode's empty bridge). */
  readonly parent?: ObservedLink;
  /** The host's leg (a macvlan on the parent) and its IPv4 addresses (CIDR). */
  readonly leg?: ObservedLink;
  readonly legAddresses: readonly string[];
  /** Static remote entries on the VXLAN device (`bridge fdb … self dst`). */
  readonly fdb: readonly { readonly mac: string; readonly dst: string }[];
  /** Static neighbours on the VXLAN device (answered by its ARP proxy). */
  readonly neigh: readonly { readonly address: string; readonly mac: string }[];
  /** Proxy-ARP entries on the leg (routed mode). */
  readonly proxyNeigh: readonly string[];
  /** The leg's ARP proxy_delay in ms (routed mode wants 0), if the leg exists. */
  readonly proxyDelayMs?: number;
  /** Our /32 routes (protocol OVERLAY_ROUTE_PROTO) inside this network's subnet. */
  readonly routes: readonly { readonly destination: string; readonly via: string }[];
  readonly filter: IptablesChainState;
  readonly nat: IptablesChainState;
  readonly raw: IptablesChainState;
}

export interface ObservedWireguard {
  readonly link?: ObservedLink;
  readonly addresses: readonly string[]; // CIDR
  readonly listenPort?: number;
  readonly peers: readonly { readonly publicKey: string; readonly endpoint?: string; readonly allowedIps: readonly string[] }[];
}

// ------------------------------------------------------------------ operations

export type IptablesTable = 'filter' | 'nat' | 'raw';

export type Operation =
  | {
      readonly op: 'docker.network.create';
      readonly name: string;
      /** The macvlan driver's parent: the network's device (made before the network). */
      readonly parent: string;
      readonly subnet: string;
      readonly gateway: string;
      readonly labels: Readonly<Record<string, string>>;
    }
  | { readonly op: 'docker.network.remove'; readonly id: string; readonly name: string }
  | { readonly op: 'link.vxlan.add'; readonly name: string; readonly vni: number; readonly local: string; readonly port: number; readonly mtu: number }
  /** Routed mode's parent: an empty Linux bridge that only carries the macvlans. */
  | { readonly op: 'link.stub.add'; readonly name: string; readonly mtu: number }
  /** The host's leg: a macvlan (mode bridge) on the parent. */
  | { readonly op: 'link.leg.add'; readonly name: string; readonly parent: string }
  | { readonly op: 'link.set'; readonly name: string; readonly mtu?: number; readonly up: true }
  | { readonly op: 'link.del'; readonly name: string }
  | { readonly op: 'fdb.add'; readonly dev: string; readonly mac: string; readonly dst: string }
  | { readonly op: 'fdb.del'; readonly dev: string; readonly mac: string; readonly dst: string }
  | { readonly op: 'neigh.replace'; readonly dev: string; readonly address: string; readonly mac: string }
  | { readonly op: 'neigh.del'; readonly dev: string; readonly address: string }
  | { readonly op: 'neigh.proxy.add'; readonly dev: string; readonly address: string }
  | { readonly op: 'neigh.proxy.del'; readonly dev: string; readonly address: string }
  | { readonly op: 'ntable.proxy-delay'; readonly dev: string; readonly ms: number }
  | { readonly op: 'route.replace'; readonly destination: string; readonly via: string }
  | { readonly op: 'route.del'; readonly destination: string; readonly via: string }
  | { readonly op: 'iptables.chain.ensure'; readonly table: IptablesTable; readonly chain: string; readonly parent: string }
  | { readonly op: 'iptables.chain.remove'; readonly table: IptablesTable; readonly chain: string; readonly parent: string }
  /** `rule` is the `iptables -S` line; the adapter turns "-A" into "-A"/"-D". */
  | { readonly op: 'iptables.append'; readonly table: IptablesTable; readonly rule: string }
  | { readonly op: 'iptables.delete'; readonly table: IptablesTable; readonly rule: string }
  | { readonly op: 'wg.link.add'; readonly name: string }
  | { readonly op: 'wg.configure'; readonly name: string; readonly listenPort: number }
  | { readonly op: 'addr.replace'; readonly dev: string; readonly address: string }
  | { readonly op: 'wg.peer.set'; readonly name: string; readonly publicKey: string; readonly endpoint: string; readonly allowedIps: readonly string[] }
  | { readonly op: 'wg.peer.remove'; readonly name: string; readonly publicKey: string }
  | { readonly op: 'wg.link.del'; readonly name: string };

export type OperationKind = Operation['op'];
