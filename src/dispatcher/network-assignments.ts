import { stateRank, type Instance, type Network } from '../model/index.js';
import type { ReadTx } from '../store/index.js';
import type { NetworkAssignment, NetworkPeer } from './protocol.js';

/**
 * The overlay networks a node's instances need, with their peers (swarmkit
 * sends networks beside tasks in the assignment set). Pure over a store
 * snapshot. A peer is every other node with a live instance on the network;
 * "live" is the span in which the allocator holds the instance's address
 * (assigned … running): past running the address goes back to the pool, so a
 * peer must stop forwarding to it.
 */

/** Network option choosing the data plane (`docker network create --opt io.stevedore.overlay.mode=routed`). */
export const OVERLAY_MODE_OPTION = 'io.stevedore.overlay.mode';
/** Docker's option for encrypted overlays (`--opt encrypted`); its presence is what counts. */
export const ENCRYPTED_OPTION = 'encrypted';
export const MTU_OPTION = 'com.docker.network.driver.mtu';

/** The WireGuard tunnel prefix every host's tunnel address lives in (RFC 6598 shared space, unlikely to meet a pool). */
export const TUNNEL_PREFIX = '100.64.0.0/10';
export const TUNNEL_PREFIX_LENGTH = 10;

/**
 * A node's WireGuard tunnel address, derived from its underlay address so
 * manager and agent agree without another round trip: 100.64.0.0/10 plus the
 * underlay's low 22 bits. Two nodes collide only if their underlay addresses
 * agree in those bits (different /10s); bare result.
 */
export function tunnelAddressFor(underlay: string): string {
  const parts = underlay.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${underlay}`);
  const n = (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
  const t = ((0x64400000 | (n & 0x3fffff)) >>> 0);
  return [24, 16, 8, 0].map((s) => (t >>> s) & 255).join('.');
}

/** Only overlay networks with an allocation get a data plane; the ingress network waits for the routing mesh. */
export function isOverlayDataPlane(n: Network): boolean {
  return n.spec.driver === 'overlay' && !n.spec.ingress && n.allocation !== undefined && n.allocation.subnets.length > 0;
}

const assignedRank = stateRank('assigned');
const runningRank = stateRank('running');

/** An instance whose address is held and whose container may be (about to be) on its node. */
export function holdsAddress(i: Instance): boolean {
  const r = stateRank(i.status.state);
  return i.nodeId !== undefined && r >= assignedRank && r <= runningRank;
}

function modeOf(options: Readonly<Record<string, string>>): NetworkAssignment['mode'] {
  const m = options[OVERLAY_MODE_OPTION];
  return m === 'routed' || m === 'auto' ? m : 'vxlan';
}

function mtuOf(options: Readonly<Record<string, string>>): number | undefined {
  const raw = options[MTU_OPTION];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * The network assignments of `nodeId`, given the instances it is assigned
 * (`local`). `wireguardKey` looks up a node's reported public key.
 */
export function networkAssignmentsFor(
  tx: ReadTx,
  nodeId: string,
  local: readonly Instance[],
  wireguardKey: (nodeId: string) => string | undefined = () => undefined,
): Map<string, NetworkAssignment> {
  const wanted = new Set<string>();
  for (const i of local) for (const a of i.networks) wanted.add(a.networkId);
  const out = new Map<string, NetworkAssignment>();
  if (wanted.size === 0) return out;
  const networks = [...wanted].map((id) => tx.get('network', id)).filter((n): n is Network => n !== undefined && isOverlayDataPlane(n));
  if (networks.length === 0) return out;
  // One pass over the cluster's instances: endpoints per network per other node.
  const byNetwork = new Map<string, Map<string, string[]>>(networks.map((n) => [n.id, new Map()]));
  for (const i of tx.list('instance', (x) => x.nodeId !== nodeId && holdsAddress(x))) {
    for (const a of i.networks) {
      const perNode = byNetwork.get(a.networkId);
      if (perNode === undefined || i.nodeId === undefined) continue;
      const list = perNode.get(i.nodeId) ?? [];
      list.push(...a.addresses);
      perNode.set(i.nodeId, list);
    }
  }
  for (const n of networks) {
    const alloc = n.allocation;
    const first = alloc?.subnets[0];
    if (alloc === undefined || first === undefined) continue;
    const encrypted = Object.prototype.hasOwnProperty.call(n.spec.options, ENCRYPTED_OPTION);
    const peers: NetworkPeer[] = [];
    for (const [peerId, endpoints] of [...(byNetwork.get(n.id) ?? new Map<string, string[]>())].sort(([a], [b]) => a.localeCompare(b))) {
      const node = tx.get('node', peerId);
      const underlay = node?.status.addr ?? '';
      if (underlay === '') continue; // a node that never told us where it is cannot be reached
      const key = encrypted ? wireguardKey(peerId) : undefined;
      peers.push({
        nodeId: peerId,
        underlay,
        endpoints: [...new Set(endpoints)].sort(compareCidr),
        ...(key === undefined ? {} : { wireguard: { publicKey: key, address: tunnelAddressFor(underlay) } }),
      });
    }
    const mtu = mtuOf(n.spec.options);
    out.set(n.id, {
      name: n.spec.name,
      driver: 'overlay',
      vni: alloc.vni,
      subnet: first.subnet,
      gateway: first.gateway.split('/')[0] ?? first.gateway,
      ...(mtu === undefined ? {} : { mtu }),
      encrypted,
      internal: n.spec.internal,
      attachable: n.spec.attachable,
      mode: modeOf(n.spec.options),
      peers,
    });
  }
  return out;
}

function compareCidr(a: string, b: string): number {
  const num = (s: string): number => (s.split('/')[0] ?? '').split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
  return num(a) - num(b) || a.localeCompare(b);
}
