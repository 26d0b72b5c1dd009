import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { isIPv4, isIPv6, Socket } from 'node:net';
import dnsPacket, { type DecodedPacket, type Packet, type StringAnswer } from 'dns-packet';

/**
 * Where names that are not the cluster's go: the host's resolvers, as the
 * host's own programs see them — `/etc/hosts` first (getaddrinfo's "files"),
 * then the nameservers of `/etc/resolv.conf`, tried in order. A task whose
 * spec names its own DNS servers (`--dns`) is forwarded to those instead
 * (Docker's embedded resolver would have used them). The agent runs in the
 * host's network namespace, so a loopback nameserver (systemd-resolved's
 * 127.0.0.53) works, unlike from inside a container.
 */

/** `nameserver` lines, IPv4 and IPv6, in order (resolv.conf(5)). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const addr = m?.[1]?.split('%')[0];
    if (addr !== undefined && (isIPv4(addr) || isIPv6(addr))) out.push(addr);
  }
  return out;
}

export interface HostsEntry {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

/** hosts(5): address then names; comments after `#`. Names lowercased. */
export function parseHosts(text: string): Map<string, HostsEntry> {
  const out = new Map<string, { v4: string[]; v6: string[] }>();
  for (const raw of text.split('\n')) {
    const [addr, ...names] = (raw.split('#')[0] ?? '').trim().split(/\s+/);
    if (addr === undefined || names.length === 0) continue;
    const family = isIPv4(addr) ? 'v4' : isIPv6(addr) ? 'v6' : undefined;
    if (family === undefined) continue;
    for (const n of names) {
      const key = n.toLowerCase().replace(/\.$/, '');
      const e = out.get(key) ?? { v4: [], v6: [] };
      if (!e[family].includes(addr)) e[family].push(addr);
      out.set(key, e);
    }
  }
  return out;
}

/** An A/AAAA query for a name in the hosts file, answered from it (an empty NOERROR for the other family). */
export function answerFromHosts(query: DecodedPacket, hosts: ReadonlyMap<string, HostsEntry>): Packet | undefined {
  const q = query.questions?.[0];
  if (q === undefined || (query.questions?.length ?? 0) !== 1 || (q.type !== 'A' && q.type !== 'AAAA')) return undefined;
  const e = hosts.get(q.name.toLowerCase().replace(/\.$/, ''));
  if (e === undefined) return undefined;
  const addrs = q.type === 'A' ? e.v4 : e.v6;
  return {
    type: 'response',
    id: query.id ?? 0,
    flags: (1 << 15) | ((query.flags ?? 0) & (1 << 8)) | (1 << 7),
    questions: [q],
    answers: addrs.map((data): StringAnswer => ({ type: q.type as 'A' | 'AAAA', name: q.name, class: 'IN', ttl: 10, data })),
  };
}

export interface UpstreamOptions {
  readonly resolvConf?: string;
  readonly hostsFile?: string;
  /** Per nameserver and attempt. */
  readonly timeoutMs?: number;
}

/** The host's resolvers; the files are read on every query (they are small, and may change under us). */
export class HostResolvers {
  constructor(private readonly opts: UpstreamOptions = {}) {}

  async hosts(): Promise<Map<string, HostsEntry>> {
    return parseHosts(await readFile(this.opts.hostsFile ?? '/etc/hosts', 'utf8').catch(() => ''));
  }

  async nameservers(): Promise<string[]> {
    return parseResolvConf(await readFile(this.opts.resolvConf ?? '/etc/resolv.conf', 'utf8').catch(() => ''));
  }

  /**
   * The answer to `raw` (the query as received, `query` decoded) from the
   * hosts file or the first nameserver that answers; `servers` overrides
   * resolv.conf (a task's own `--dns`). Undefined when nobody answered.
   */
  async resolve(raw: Buffer, query: DecodedPacket, transport: 'udp' | 'tcp', servers?: readonly string[]): Promise<Buffer | undefined> {
    if (servers === undefined || servers.length === 0) {
      const fromHosts = answerFromHosts(query, await this.hosts());
      if (fromHosts !== undefined) return dnsPacket.encode(fromHosts);
    }
    const list = servers !== undefined && servers.length > 0 ? servers : await this.nameservers();
    const timeout = this.opts.timeoutMs ?? 2_000;
    for (const server of list) {
      try {
        const answer = transport === 'udp' ? await udpExchange(raw, server, timeout) : await tcpExchange(raw, server, timeout);
        if (answer !== undefined) return answer;
      } catch {
        /* next server */
      }
    }
    return undefined;
  }
}

/** One query over UDP; the answer must carry the query's id. */
export function udpExchange(raw: Buffer, server: string, timeoutMs: number, port = 53): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(isIPv6(server) ? 'udp6' : 'udp4');
    const id = raw.readUInt16BE(0);
    const done = (b: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(b);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('message', (msg) => {
      if (msg.length >= 2 && msg.readUInt16BE(0) === id) done(msg);
    });
    socket.send(raw, port, server);
  });
}

/** One query over TCP (two-byte length prefix, RFC 1035 4.2.2). */
export function tcpExchange(raw: Buffer, server: string, timeoutMs: number, port = 53): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let buf = Buffer.alloc(0);
    const done = (b: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(b);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    socket.connect(port, server, () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(raw.length);
      socket.write(Buffer.concat([len, raw]));
    });
  });
}
