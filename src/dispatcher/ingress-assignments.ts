import type { Network } from '../model/index.js';
import type { ReadTx } from '../store/index.js';
import { holdsAddress } from './network-assignments.js';
import type { IngressAssignment, IngressService, NetworkPeer } from './protocol.js';
import { inServicePool } from './service-records.js';

/**
 * The routing mesh's item for one node (pure over a store snapshot). Every
 * node with an ingress address gets it, tasks or not: a published port
 * answers on every node. The ingress overlay's peers are all other nodes
 * (not only those with tasks, as for other overlays), each with its own
 * ingress address among its endpoints, so every host can reach every
 * node's address over the overlay (a task's replies go back that way).
 */

const bare = (cidr: string): string => cidr.split('/')[0] ?? cidr;

function ipNumber(a: string): number {
  return bare(a).split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function ingressNetworkOf(tx: ReadTx): Network | undefined {
  return tx.list('network', (n) => n.spec.ingress && n.allocation !== undefined && n.allocation.subnets.length > 0)[0];
}

export function ingressAssignmentFor(tx: ReadTx, nodeId: string): { id: string; ingress: IngressAssignment } | undefined {
  const self = tx.get('node', nodeId);
  const network = ingressNetworkOf(tx);
  if (self === undefined || network === undefined || self.ingressAddress?.networkId !== network.id) return undefined;
  const first = network.allocation?.subnets[0];
  if (network.allocation === undefined || first === undefined) return undefined;
  const taskAddresses = new Map<string, string[]>();
  for (const i of tx.list('instance', (x) => x.nodeId !== undefined && x.nodeId !== nodeId && holdsAddress(x))) {
    for (const a of i.networks) if (a.networkId === network.id && i.nodeId !== undefined) taskAddresses.set(i.nodeId, [...(taskAddresses.get(i.nodeId) ?? []), ...a.addresses]);
  }
  const nodes: { nodeId: string; address: string }[] = [];
  const peers: NetworkPeer[] = [];
  for (const n of [...tx.list('node')].sort((a, b) => a.id.localeCompare(b.id))) {
    if (n.ingressAddress?.networkId !== network.id) continue;
    nodes.push({ nodeId: n.id, address: bare(n.ingressAddress.address) });
    if (n.id === nodeId || n.status.addr === '' || n.status.state === 'down') continue;
    const endpoints = [...new Set([n.ingressAddress.address, ...(taskAddresses.get(n.id) ?? [])])].sort((a, b) => ipNumber(a) - ipNumber(b) || a.localeCompare(b));
    peers.push({ nodeId: n.id, underlay: n.status.addr, endpoints });
  }
  const byWorkload = new Map<string, string[]>();
  for (const i of tx.list('instance', inServicePool)) {
    const a = i.networks.find((x) => x.networkId === network.id)?.addresses[0];
    if (a !== undefined) byWorkload.set(i.workloadId, [...(byWorkload.get(i.workloadId) ?? []), bare(a)]);
  }
  const services: IngressService[] = [];
  for (const w of tx.list('workload')) {
    const ports = (w.endpoint?.ports ?? []).filter((p) => p.publishMode === 'ingress' && p.publishedPort > 0);
    if (ports.length === 0) continue;
    services.push({
      id: w.id,
      name: w.spec.name,
      ports: ports.map((p) => ({ protocol: p.protocol, publishedPort: p.publishedPort, targetPort: p.targetPort })),
      tasks: [...(byWorkload.get(w.id) ?? [])].sort((a, b) => ipNumber(a) - ipNumber(b)),
    });
  }
  services.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return { id: network.id, ingress: {
      network: {
        name: network.spec.name,
        driver: 'overlay',
        vni: network.allocation.vni,
        subnet: first.subnet,
        gateway: bare(first.gateway),
        // Never encrypted, always VXLAN (as Swarm's ingress): nodes need not share a segment.
        encrypted: false,
        internal: false,
        attachable: false,
        mode: 'vxlan',
        peers,
      }, address: self.ingressAddress.address, nodes, services } };
}
