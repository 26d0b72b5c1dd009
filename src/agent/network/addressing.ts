import type { IptablesTable } from './types.js';
import { invalidParameter } from '../../util/errors.js';

/**
 * IPv4 arithmetic, names and numbers of the overlay data plane. Pure.
 */

/**
 * The host's own leg on the overlay: a macvlan on the network's parent device
 * carrying the anycast gateway (DNS, the way out, the routing mesh's address).
 */
export const legName = (vni: number): string => `stv-${vni}`;
/**
 * The network's parent device, under the containers' macvlan interfaces and
 * the host's leg: the VXLAN device in VXLAN mode, an empty bridge in routed
 * mode (macvlan needs a parent, and this kernel has no dummy device).
 */
export const parentName = (vni: number): string => `stvx-${vni}`;

/** IANA's VXLAN port; Swarm and Linux agree on it. */
export const VXLAN_PORT = 4789;
/** Bytes VXLAN adds over IPv4: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;
/** Bytes WireGuard adds over IPv4: outer IP 20 + UDP 8 + header 16 + tag 16. */
export const WIREGUARD_OVERHEAD = 60;
export const DEFAULT_UNDERLAY_MTU = 1500;
/**
 * The routing-protocol number on our routes (`ip route … proto 211`): it marks
 * them as ours so reading back and teardown never touch anybody else's routes.
 */
export const OVERLAY_ROUTE_PROTO = 211;

/** iptables chains we own; each network's rules carry the comment `stvov:<vni>`. */
export const FILTER_CHAIN = 'STVOV-FWD';
export const NAT_CHAIN = 'STVOV-NAT';
export const RAW_CHAIN = 'STVOV-RAW';
/** Where each of our chains hangs: its table's built-in chains that jump to it. */
export const CHAINS: Readonly<Record<IptablesTable, { readonly chain: string; readonly parents: readonly string[] }>> = {
  filter: { chain: FILTER_CHAIN, parents: ['FORWARD'] },
  nat: { chain: NAT_CHAIN, parents: ['POSTROUTING'] },
  raw: { chain: RAW_CHAIN, parents: ['PREROUTING', 'OUTPUT'] },
};

export const ruleComment = (vni: number): string => `stvov:${vni}`;

export const LABEL_NETWORK_ID = 'io.stevedore.network.id';
export const LABEL_VNI = 'io.stevedore.overlay.vni';
export const LABEL_MODE = 'io.stevedore.overlay.mode';
export const LABEL_ENCRYPTED = 'io.stevedore.overlay.encrypted';
export const LABEL_MANAGED = 'io.stevedore.managed';

export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw invalidParameter(`invalid IPv4 address ${JSON.stringify(text)}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw invalidParameter(`invalid IPv4 address ${JSON.stringify(text)}`);
    n = n * 256 + Number(p);
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export interface Cidr {
  readonly address: number;
  readonly prefix: number;
}

/** "10.0.0.5/24" → address and prefix; a bare address is a /32. */
export function parseCidr(text: string): Cidr {
  const [addr, prefixText, extra] = text.split('/');
  if (addr === undefined || extra !== undefined) throw invalidParameter(`invalid CIDR ${JSON.stringify(text)}`);
  const prefix = prefixText === undefined ? 32 : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32 || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
    throw invalidParameter(`invalid CIDR ${JSON.stringify(text)}`);
  }
  return { address: parseIpv4(addr), prefix };
}

/** The address without its prefix: "10.0.0.5/24" → "10.0.0.5". */
export const bareAddress = (text: string): string => formatIpv4(parseCidr(text).address);

function networkOf(c: Cidr): number {
  const size = 2 ** (32 - c.prefix);
  return c.address - (c.address % size);
}

/** The network in canonical form ("10.250.0.7/24" → "10.250.0.0/24"), as iptables prints it. */
export function canonicalSubnet(text: string): string {
  const c = parseCidr(text);
  return `${formatIpv4(networkOf(c))}/${c.prefix}`;
}

/** Whether `address` (bare or CIDR) lies inside `subnet`. */
export function contains(subnet: string, address: string): boolean {
  const s = parseCidr(subnet);
  const a = parseCidr(address).address;
  return networkOf({ address: a, prefix: s.prefix }) === networkOf(s);
}

/**
 * Docker 20.10's MAC for a bridge endpoint without one given: 02:42 and the
 * four bytes of its IPv4 address. Because every host's engine derives the same
 * MAC from the cluster-chosen address, peers can program it without asking.
 */
export function macForAddress(address: string): string {
  const n = parseCidr(address).address;
  const bytes = [2, 0x42, ...[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function normalizeMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m)) throw invalidParameter(`invalid MAC address ${JSON.stringify(mac)}`);
  return m;
}

export const ZERO_MAC = '00:00:00:00:00:00';
