import { CHAINS, OVERLAY_ROUTE_PROTO, contains, legName, parentName } from './addressing.js';
import { CommandError, must, type CommandRunner } from './runner.js';
import type { IptablesChainState, IptablesTable, ObservedLink, ObservedNetwork, Operation } from './types.js';

/**
 * The kernel side of the adapter: reads a network's data plane back with
 * `ip -json`, `bridge -json` and `iptables -S`, and applies the planner's
 * link/fdb/neigh/route/iptables operations. Every apply is safe to repeat (an
 * entry that already exists, or is already gone, is not an error), so a plan
 * interrupted half-way is finished by the next ensure.
 */

interface LinkJson {
  ifname: string;
  mtu: number;
  flags?: string[];
  master?: string;
  link?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number; learning?: boolean; proxy?: boolean } };
}

const GONE = /cannot find device|does not exist|no such|not found|could not find|bad rule|no chain\/target\/match/i;
const EXISTS = /file exists|already exists/i;

/**
 * With iptables-nft the raw table exists only once someone adds to it, and our
 * VXLAN rule is usually the first (Docker 20.10 uses filter and nat only). When
 * our chain leaves and the table holds nothing but its built-in chains'
 * ACCEPT policies, the table goes too: we leave the host's ruleset as we
 * found it (and packets stop traversing two empty hooks). With
 * iptables-legacy the table is the kernel's and always there; nothing to do.
 */
export function isBareTable(listing: string): boolean {
  return listing
    .split('\n')
    .filter((l) => l.trim() !== '')
    .every((l) => /^-P \S+ ACCEPT$/.test(l.trim()));
}

export async function dropRawTableIfBare(runner: CommandRunner): Promise<boolean> {
  const version = await runner.run('iptables', ['--version']);
  if (!version.stdout.includes('nf_tables')) return false;
  const listing = await runner.run('iptables', ['-w', '-t', 'raw', '-S']);
  if (listing.code !== 0 || !isBareTable(listing.stdout)) return false;
  return (await runner.run('nft', ['delete', 'table', 'ip', 'raw'])).code === 0;
}

export class IprouteAdapter {
  constructor(private readonly runner: CommandRunner) {}

  async links(): Promise<Map<string, ObservedLink>> {
    const out = await must(this.runner, 'ip', ['-json', '-details', 'link', 'show']);
    const map = new Map<string, ObservedLink>();
    for (const l of JSON.parse(out) as LinkJson[]) {
      const d = l.linkinfo?.info_data;
      const kind = l.linkinfo?.info_kind ?? '';
      map.set(l.ifname, {
        name: l.ifname,
        kind,
        mtu: l.mtu,
        up: (l.flags ?? []).includes('UP'),
        ...(l.master !== undefined ? { master: l.master } : {}),
        ...(l.link !== undefined ? { link: l.link } : {}),
        ...(kind === 'vxlan' && d
          ? { vxlan: { vni: d.id ?? 0, local: d.local ?? '', port: d.port ?? 0, learning: d.learning ?? true, proxy: d.proxy ?? false } }
          : {}),
      });
    }
    return map;
  }

  private async json<T>(file: string, args: readonly string[]): Promise<T[]> {
    const r = await this.runner.run(file, args);
    if (r.code !== 0) {
      if (GONE.test(r.stderr)) return [];
      throw new CommandError([file, ...args], r);
    }
    return r.stdout.trim() === '' ? [] : (JSON.parse(r.stdout) as T[]);
  }

  async chain(table: IptablesTable): Promise<IptablesChainState> {
    const { chain, parents } = CHAINS[table];
    const list = await this.runner.run('iptables', ['-w', '-t', table, '-S', chain]);
    if (list.code !== 0) return { exists: false, jump: false, rules: [] };
    // iptables-nft quotes comments (--comment "stvov:9001"); the planner's rules are unquoted.
    const rules = list.stdout
      .split('\n')
      .filter((l) => l.startsWith(`-A ${chain} `))
      .map((l) => l.replace(/--comment "([^"\s]*)"/g, '--comment $1'));
    let jump = true;
    for (const parent of parents) if ((await this.runner.run('iptables', ['-w', '-t', table, '-C', parent, '-j', chain])).code !== 0) jump = false;
    return { exists: true, jump, rules };
  }

  /** The kernel part of one network's observed state (the Docker part comes from the engine). */
  async observe(vni: number, subnet: string): Promise<Omit<ObservedNetwork, 'docker'>> {
    const links = await this.links();
    const leg = links.get(legName(vni));
    const parent = links.get(parentName(vni));
    const vx = parent?.kind === 'vxlan' ? parent.name : undefined;
    const fdb = vx
      ? (await this.json<{ mac: string; dst?: string; master?: string }>('bridge', ['-json', 'fdb', 'show', 'dev', vx]))
          .filter((f) => f.dst !== undefined && f.master === undefined)
          .map((f) => ({ mac: f.mac.toLowerCase(), dst: f.dst ?? '' }))
      : [];
    const neigh = vx
      ? (await this.json<{ dst: string; lladdr?: string; state?: string[] }>('ip', ['-json', 'neigh', 'show', 'dev', vx]))
          .filter((n) => n.lladdr !== undefined && (n.state ?? []).includes('PERMANENT'))
          .map((n) => ({ address: n.dst, mac: (n.lladdr ?? '').toLowerCase() }))
      : [];
    const legAddresses = leg
      ? (await this.json<{ addr_info?: { family?: string; local?: string; prefixlen?: number }[] }>('ip', ['-json', 'addr', 'show', 'dev', leg.name]))
          .flatMap((i) => i.addr_info ?? [])
          .filter((a) => a.family === 'inet' && a.local !== undefined)
          .map((a) => `${a.local ?? ''}/${a.prefixlen ?? 32}`)
      : [];
    const proxyNeigh = leg ? (await this.json<{ dst: string }>('ip', ['-json', 'neigh', 'show', 'proxy', 'dev', leg.name])).map((n) => n.dst) : [];
    const ntable = leg ? await this.json<{ proxy_delay?: number }>('ip', ['-json', 'ntable', 'show', 'dev', leg.name, 'name', 'arp_cache']) : [];
    const proxyDelayMs = ntable[0]?.proxy_delay;
    const routes = (await this.json<{ dst: string; gateway?: string }>('ip', ['-json', 'route', 'show', 'proto', String(OVERLAY_ROUTE_PROTO)]))
      .filter((r) => r.gateway !== undefined && r.dst !== 'default' && contains(subnet, r.dst))
      .map((r) => ({ destination: r.dst.includes('/') ? r.dst : `${r.dst}/32`, via: r.gateway ?? '' }));
    return {
      ...(parent ? { parent } : {}),
      ...(leg ? { leg } : {}),
      legAddresses,
      fdb,
      neigh,
      proxyNeigh,
      ...(proxyDelayMs !== undefined ? { proxyDelayMs } : {}),
      routes,
      filter: await this.chain('filter'),
      nat: await this.chain('nat'),
      raw: await this.chain('raw'),
    };
  }

  /** Runs; "already there" (or, with `gone`, "already gone") counts as done. */
  private async tolerant(file: string, args: readonly string[], ok: RegExp): Promise<void> {
    const r = await this.runner.run(file, args);
    if (r.code !== 0 && !ok.test(r.stderr)) throw new CommandError([file, ...args], r);
  }

  private ipt(table: IptablesTable, args: readonly string[]): Promise<{ code: number; stderr: string; stdout: string }> {
    return this.runner.run('iptables', ['-w', '-t', table, ...args]);
  }

  /** Applies one kernel operation; returns false for operations that are not this adapter's. */
  async apply(op: Operation): Promise<boolean> {
    switch (op.op) {
      case 'link.vxlan.add':
        await this.tolerant(
          'ip',
          ['link', 'add', op.name, 'type', 'vxlan', 'id', String(op.vni), 'dstport', String(op.port), 'local', op.local, 'nolearning', 'proxy'],
          EXISTS,
        );
        await must(this.runner, 'ip', ['link', 'set', 'dev', op.name, 'mtu', String(op.mtu), 'up']);
        return true;
      case 'link.stub.add':
        await this.tolerant('ip', ['link', 'add', op.name, 'type', 'bridge'], EXISTS);
        await must(this.runner, 'ip', ['link', 'set', 'dev', op.name, 'mtu', String(op.mtu), 'up']);
        return true;
      case 'link.leg.add':
        await this.tolerant('ip', ['link', 'add', 'link', op.parent, 'name', op.name, 'type', 'macvlan', 'mode', 'bridge'], EXISTS);
        await must(this.runner, 'ip', ['link', 'set', 'dev', op.name, 'up']);
        return true;
      case 'link.set':
        await must(this.runner, 'ip', ['link', 'set', 'dev', op.name, ...(op.mtu !== undefined ? ['mtu', String(op.mtu)] : []), 'up']);
        return true;
      case 'link.del':
        await this.tolerant('ip', ['link', 'del', 'dev', op.name], GONE);
        return true;
      case 'fdb.add':
        await this.tolerant('bridge', ['fdb', 'append', op.mac, 'dev', op.dev, 'dst', op.dst, 'self', 'permanent'], EXISTS);
        return true;
      case 'fdb.del':
        await this.tolerant('bridge', ['fdb', 'del', op.mac, 'dev', op.dev, 'dst', op.dst, 'self'], GONE);
        return true;
      case 'neigh.replace':
        await must(this.runner, 'ip', ['neigh', 'replace', op.address, 'lladdr', op.mac, 'dev', op.dev, 'nud', 'permanent']);
        return true;
      case 'neigh.del':
        await this.tolerant('ip', ['neigh', 'del', op.address, 'dev', op.dev], GONE);
        return true;
      case 'neigh.proxy.add':
        await must(this.runner, 'ip', ['neigh', 'replace', 'proxy', op.address, 'dev', op.dev]);
        return true;
      case 'neigh.proxy.del':
        await this.tolerant('ip', ['neigh', 'del', 'proxy', op.address, 'dev', op.dev], GONE);
        return true;
      case 'ntable.proxy-delay':
        await must(this.runner, 'ip', ['ntable', 'change', 'name', 'arp_cache', 'dev', op.dev, 'proxy_delay', String(op.ms)]);
        return true;
      case 'route.replace':
        await must(this.runner, 'ip', ['route', 'replace', op.destination, 'via', op.via, 'proto', String(OVERLAY_ROUTE_PROTO)]);
        return true;
      case 'route.del':
        await this.tolerant('ip', ['route', 'del', op.destination, 'via', op.via, 'proto', String(OVERLAY_ROUTE_PROTO)], GONE);
        return true;
      case 'addr.replace':
        await must(this.runner, 'ip', ['addr', 'replace', op.address, 'dev', op.dev]);
        return true;
      case 'iptables.chain.ensure': {
        const n = await this.ipt(op.table, ['-N', op.chain]);
        if (n.code !== 0 && !EXISTS.test(n.stderr)) throw new CommandError(['iptables', '-t', op.table, '-N', op.chain], n);
        if ((await this.ipt(op.table, ['-C', op.parent, '-j', op.chain])).code !== 0) {
          const i = await this.ipt(op.table, ['-I', op.parent, '1', '-j', op.chain]);
          if (i.code !== 0) throw new CommandError(['iptables', '-t', op.table, '-I', op.parent, '1', '-j', op.chain], i);
        }
        return true;
      }
      case 'iptables.chain.remove':
        while ((await this.ipt(op.table, ['-C', op.parent, '-j', op.chain])).code === 0) await this.ipt(op.table, ['-D', op.parent, '-j', op.chain]);
        // -X only succeeds on an empty chain: another network's rule that appeared meanwhile keeps it.
        if ((await this.ipt(op.table, ['-X', op.chain])).code === 0 && op.table === 'raw') await dropRawTableIfBare(this.runner);
        return true;
      case 'iptables.append': {
        const args = op.rule.split(' ').slice(1);
        if ((await this.ipt(op.table, ['-C', ...args])).code !== 0) {
          const r = await this.ipt(op.table, ['-A', ...args]);
          if (r.code !== 0) throw new CommandError(['iptables', '-t', op.table, '-A', ...args], r);
        }
        return true;
      }
      case 'iptables.delete': {
        const args = op.rule.split(' ').slice(1);
        while ((await this.ipt(op.table, ['-C', ...args])).code === 0) await this.ipt(op.table, ['-D', ...args]);
        return true;
      }
      default:
        return false;
    }
  }
}
