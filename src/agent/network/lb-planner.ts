import type { NetworkServices } from '../../dispatcher/protocol.js';

/**
 * Service VIPs without IPVS: inside each task container's network namespace,
 * an nftables table whose NAT output chain DNATs a new connection to a VIP
 * to one of the service's tasks, `numgen random mod N` (conntrack keeps the
 * rest of the connection on it; replies are un-NATed back to the VIP).
 * Swarm balances in the same place (IPVS in each container's namespace) and
 * for the same reason: nothing answers ARP for a VIP on the overlay's L2
 * segment, so the address must be rewritten before the packet leaves.
 *
 * A VIP whose service has no task in the pool gets a reject in a filter
 * output chain (run after NAT): the client sees "connection refused" at
 * once instead of ARP timing out. Every protocol to the VIP is balanced, as
 * Swarm's firewall mark does for all ports.
 *
 * Pure: records in, the whole table as an `nft -f` script out. The script
 * replaces the table in one transaction (declare, delete, define), so
 * applying it twice, or after an agent restart, leaves exactly one copy.
 */

export const LB_TABLE = 'stevedore_lb';

export interface VipPool {
  readonly vip: string;
  readonly service: string;
  /** Task addresses, sorted; empty: the VIP is refused. */
  readonly backends: readonly string[];
}

function ipNumber(a: string): number {
  return a.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The VIP pools a container on `networkIds` sees (vip-mode services with a VIP on one of them), sorted by VIP. */
export function vipPools(records: ReadonlyMap<string, NetworkServices>, networkIds: readonly string[]): VipPool[] {
  const byVip = new Map<string, VipPool>();
  for (const id of networkIds) {
    for (const s of records.get(id)?.services ?? []) {
      if (s.mode !== 'vip' || s.vip === undefined || !IPV4.test(s.vip) || byVip.has(s.vip)) continue;
      const backends = [...new Set(s.tasks.map((t) => t.address).filter((a) => IPV4.test(a)))].sort((a, b) => ipNumber(a) - ipNumber(b));
      byVip.set(s.vip, { vip: s.vip, service: s.name, backends });
    }
  }
  return [...byVip.values()].sort((a, b) => ipNumber(a.vip) - ipNumber(b.vip));
}

/** nft comments are quoted strings: keep service names to their own alphabet. */
const comment = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 120);

/** The `nft -f` script that makes the table exactly `pools` (no pools: the table is removed). */
export function planLoadBalancer(pools: readonly VipPool[]): string {
  const lines = [`table ip ${LB_TABLE}`, `delete table ip ${LB_TABLE}`];
  if (pools.length === 0) return `${lines.join('\n')}\n`;
  lines.push(`table ip ${LB_TABLE} {`);
  lines.push('\tchain vip_dnat {');
  lines.push('\t\ttype nat hook output priority -100; policy accept;');
  for (const p of pools) {
    if (p.backends.length === 0) continue;
    const target = p.backends.length === 1 ? (p.backends[0] ?? '') : `numgen random mod ${p.backends.length} map { ${p.backends.map((b, i) => `${i} : ${b}`).join(', ')} }`;
    lines.push(`\t\tip daddr ${p.vip} dnat to ${target} comment "${comment(p.service)}"`);
  }
  lines.push('\t}');
  const empty = pools.filter((p) => p.backends.length === 0);
  if (empty.length > 0) {
    lines.push('\tchain vip_empty {');
    lines.push('\t\ttype filter hook output priority 0; policy accept;');
    for (const p of empty) lines.push(`\t\tip daddr ${p.vip} meta l4proto tcp reject with tcp reset comment "${comment(p.service)}"`, `\t\tip daddr ${p.vip} reject comment "${comment(p.service)}"`);
    lines.push('\t}');
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
