import { CHAINS } from './addressing.js';
import { MESH_FORWARD_CHAIN, MESH_TABLE } from './mesh-planner.js';
import { dropRawTableIfBare } from './iproute.js';
import type { CommandRunner } from './runner.js';

/**
 * Removing every piece of a host's overlay data plane at once: what `stevedore
 * agent clean-host` does once the host's engine is stopped for good (the
 * quickstart's `stop`), or once the agent's containers are removed (`node remove
 * --force` where the agent died). While an agent runs, each network's own teardown does
 * this piece by piece; live-restore means an agent that merely exits leaves it
 * all in place for the containers that keep running. With the engine gone,
 * nothing uses it.
 *
 * Only our names are touched: links `stvx-<vni>` (the overlay's device) and
 * `stv-<vni>` (the host's leg), the WireGuard interface of encrypted overlays,
 * our iptables chains and the jumps to them, the mesh's nftables table.
 */

/** Our overlay links among the host's link names (`ip -o link` order, `@parent` suffixes allowed). */
export function ourLinks(names: readonly string[], wireguardInterface: string): string[] {
  const ours = new Set<string>();
  for (const raw of names) {
    const name = raw.split('@')[0] ?? raw;
    if (/^stvx?-\d+$/.test(name) || name === wireguardInterface) ours.add(name);
  }
  // Legs (macvlans of a parent) first: deleting a parent takes its legs along, and a second delete would fail.
  return [...ours].sort((a, b) => Number(b.startsWith('stv-')) - Number(a.startsWith('stv-')) || a.localeCompare(b));
}

/** Our iptables chains, by table, with the built-in chains that jump to them. */
export function ourChains(): { readonly table: string; readonly chain: string; readonly parents: readonly string[] }[] {
  return [...Object.entries(CHAINS).map(([table, c]) => ({ table, chain: c.chain, parents: c.parents })), { table: 'filter', chain: MESH_FORWARD_CHAIN, parents: ['FORWARD'] }];
}

export interface CleanupReport {
  readonly links: string[];
  readonly chains: string[];
  readonly nftTable: boolean;
}

/** Removes what `ourLinks`/`ourChains` name and the mesh table; each part that is already gone is skipped. */
export async function cleanHost(runner: CommandRunner, opts: { readonly wireguardInterface: string }): Promise<CleanupReport> {
  const listed = await runner.run('ip', ['-o', 'link', 'show']);
  const names = listed.stdout
    .split('\n')
    .map((l) => l.split(': ')[1] ?? '')
    .filter(Boolean);
  const links: string[] = [];
  for (const name of ourLinks(names, opts.wireguardInterface)) {
    if ((await runner.run('ip', ['link', 'del', name])).code === 0) links.push(name);
  }
  const chains: string[] = [];
  for (const { table, chain, parents } of ourChains()) {
    if ((await runner.run('iptables', ['-w', '-t', table, '-n', '-L', chain])).code !== 0) continue;
    for (const parent of parents) {
      // A jump added twice (an agent restarted mid-apply) is deleted twice.
      for (let i = 0; i < 16 && (await runner.run('iptables', ['-w', '-t', table, '-D', parent, '-j', chain])).code === 0; i++);
    }
    await runner.run('iptables', ['-w', '-t', table, '-F', chain]);
    if ((await runner.run('iptables', ['-w', '-t', table, '-X', chain])).code === 0) chains.push(`${table}/${chain}`);
  }
  if (chains.some((c) => c.startsWith('raw/'))) await dropRawTableIfBare(runner);
  const nftTable = (await runner.run('nft', ['delete', 'table', 'ip', MESH_TABLE])).code === 0;
  return { links, chains, nftTable };
}
