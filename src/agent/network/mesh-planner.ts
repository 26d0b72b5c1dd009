import type { IngressService } from '../../dispatcher/protocol.js';
import { macForAddress, parseIpv4 } from './addressing.js';

/**
 * The routing mesh without IPVS and without SNAT (pure; the agent applies
 * the results, src/agent/mesh.ts). Design: README.md, "Routing mesh".
 *
 * - On every host (`planHostMesh`): an nftables table whose NAT chains DNAT a
 *   new connection to a published port on any of the host's own addresses to
 *   one of the service's tasks on the ingress overlay (`numgen random`), from
 *   outside (prerouting) and from the host itself (output). No SNAT: the task
 *   sees the client's address. A port whose service has no task is reset.
 * - In each task container on the ingress network (`planTaskMesh`,
 *   `planTaskRoutes`): a new connection arriving from a host's ingress bridge
 *   is marked with that host's number (conntrack mark, keyed by the bridge's
 *   source MAC, which is `02:42` + the host's ingress address); replies carry
 *   the mark and a routing rule per host sends them to that host's ingress
 *   address, so they return through the host whose conntrack un-DNATs them.
 */

export const MESH_TABLE = 'stevedore_mesh';
/** Marks and routing tables of the return paths: this prefix plus the host's ingress address's low 24 bits. */
export const MESH_MARK_BASE = 0x10000000;
const MESH_MARK_MASK = 0xff000000;
/** Priority of the return-path rules in a task's namespace (before `main` at 32766). */
export const MESH_RULE_PREF = 10000;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The mark (and routing table) of the return path through the host whose ingress address is `address`. */
export function meshMark(address: string): number {
  return (MESH_MARK_BASE | (parseIpv4(address) & 0xffffff)) >>> 0;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const comment = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 120);

/** The `nft -f` script for the host: DNAT of every published port to its service's tasks (no services: no table). */
export function planHostMesh(services: readonly IngressService[]): string {
  const lines = [`table ip ${MESH_TABLE}`, `delete table ip ${MESH_TABLE}`];
  const dnat: string[] = [];
  const reset: string[] = [];
  for (const s of [...services].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))) {
    const tasks = s.tasks.filter((t) => IPV4.test(t));
    for (const p of [...s.ports].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.publishedPort - b.publishedPort)) {
      const match = `fib daddr type local ${p.protocol} dport ${p.publishedPort}`;
      if (tasks.length === 0) {
        if (p.protocol === 'tcp') reset.push(`\t\t${match} reject with tcp reset comment "${comment(s.name)}"`);
        continue;
      }
      const target =
        tasks.length === 1
          ? `dnat to ${tasks[0] ?? ''}:${p.targetPort}`
          : `dnat ip to numgen random mod ${tasks.length} map { ${tasks.map((t, i) => `${i} : ${t} . ${p.targetPort}`).join(', ')} }`;
      dnat.push(`\t\t${match} ${target} comment "${comment(s.name)}"`);
    }
  }
  if (dnat.length === 0 && reset.length === 0) return `${lines.join('\n')}\n`;
  lines.push(`table ip ${MESH_TABLE} {`);
  if (dnat.length > 0) {
    // Before Docker's own NAT (priority -100), so a published port is ours.
    lines.push('\tchain ingress_dnat {', '\t\ttype nat hook prerouting priority -101; policy accept;', ...dnat, '\t}');
    lines.push('\tchain local_dnat {', '\t\ttype nat hook output priority -101; policy accept;', ...dnat, '\t}');
  }
  if (reset.length > 0) lines.push('\tchain no_task {', '\t\ttype filter hook input priority 0; policy accept;', ...reset, '\t}');
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/**
 * The `nft -f` script for one task's namespace: connections to its ingress
 * address from a host's bridge get that host's mark; packets of marked
 * connections carry it, and the route chain re-routes them by it.
 */
export function planTaskMesh(taskAddress: string, hostAddresses: readonly string[]): string {
  const lines = [`table ip ${MESH_TABLE}`, `delete table ip ${MESH_TABLE}`];
  const hosts = [...new Set(hostAddresses.filter((a) => IPV4.test(a)))].sort((a, b) => parseIpv4(a) - parseIpv4(b));
  if (hosts.length === 0 || !IPV4.test(taskAddress)) return `${lines.join('\n')}\n`;
  lines.push(`table ip ${MESH_TABLE} {`);
  lines.push('\tchain conn_mark {', '\t\ttype filter hook prerouting priority -150; policy accept;');
  lines.push(`\t\tct state new ip daddr ${taskAddress} ct mark set ether saddr map { ${hosts.map((h) => `${macForAddress(h)} : ${hex(meshMark(h))}`).join(', ')} }`);
  lines.push('\t}');
  lines.push('\tchain reply_route {', '\t\ttype route hook output priority -150; policy accept;');
  lines.push(`\t\tct mark and ${hex(MESH_MARK_MASK)} == ${hex(MESH_MARK_BASE)} meta mark set ct mark`);
  lines.push('\t}', '}');
  return `${lines.join('\n')}\n`;
}

/** One `ip rule` as `ip -json rule show` prints it (the fields we read). */
export interface ObservedRule {
  readonly priority?: number;
  readonly fwmark?: string;
  readonly table?: string;
}

/**
 * The `ip` commands (argv after `ip`) that make a task's return paths
 * exactly one per host: `fwmark M lookup M` and `default via <host's ingress
 * address>` in table M. Rules of ours (their table in our mark range) that
 * no host needs any more are deleted with their table.
 */
export function planTaskRoutes(hostAddresses: readonly string[], observed: readonly ObservedRule[]): string[][] {
  const wanted = new Map<number, string>();
  for (const h of hostAddresses) if (IPV4.test(h)) wanted.set(meshMark(h), h);
  const cmds: string[][] = [];
  const have = new Set<number>();
  for (const r of observed) {
    const table = Number(r.table);
    if (!Number.isInteger(table) || ((table & MESH_MARK_MASK) >>> 0) !== MESH_MARK_BASE) continue;
    const mark = r.fwmark === undefined ? NaN : Number(r.fwmark.split('/')[0]);
    if (wanted.has(table) && mark === table && !have.has(table)) {
      have.add(table);
      continue;
    }
    // Stale, or a duplicate: delete exactly this rule.
    cmds.push(['rule', 'del', ...(r.priority === undefined ? [] : ['pref', String(r.priority)]), ...(r.fwmark === undefined ? [] : ['fwmark', r.fwmark]), 'lookup', String(table)]);
    if (!wanted.has(table)) cmds.push(['route', 'flush', 'table', String(table)]);
  }
  for (const [mark, host] of [...wanted].sort(([a], [b]) => a - b)) {
    // `replace` is idempotent; run every time so a table emptied by hand is repaired.
    cmds.push(['route', 'replace', 'default', 'via', host, 'table', String(mark)]);
    if (!have.has(mark)) cmds.push(['rule', 'add', 'pref', String(MESH_RULE_PREF), 'fwmark', hex(mark), 'lookup', String(mark)]);
  }
  return cmds;
}

/** The host's own side of its ingress bridge: its MAC derived from its ingress address (peers program it so), and the address. */
export function planHostLeg(bridge: string, addressCidr: string): string[][] {
  const address = addressCidr.split('/')[0] ?? addressCidr;
  return [
    ['link', 'set', 'dev', bridge, 'address', macForAddress(address)],
    ['addr', 'replace', addressCidr, 'dev', bridge],
  ];
}

/** iptables (filter FORWARD, policy DROP under Docker): admit DNATed connections into the ingress bridge. */
export const MESH_FORWARD_CHAIN = 'STVMESH-FWD';
export function meshForwardRule(bridge: string): string[] {
  return ['-o', bridge, '-m', 'conntrack', '--ctstate', 'DNAT', '-m', 'comment', '--comment', `stvmesh:${bridge}`, '-j', 'ACCEPT'];
}
