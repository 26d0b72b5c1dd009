import dgram from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';
import type { Logger } from '../../util/log.js';

/**
 * The agent's DNS responder: UDP and TCP on port 53 of given addresses (each
 * overlay's gateway on this host's bridge, where the task containers' Docker
 * resolver forwards what it does not know). No decisions here: every query
 * goes to the handler with who sent it and on which address it came in.
 */

export interface DnsQueryContext {
  /** The sender's address (a task container's on the overlay). */
  readonly source: string;
  /** The address the query came in on (an overlay's gateway). */
  readonly local: string;
  readonly transport: 'udp' | 'tcp';
}

/** The answer's wire bytes, or undefined to send nothing (the client retries). */
export type DnsHandler = (raw: Buffer, ctx: DnsQueryContext) => Promise<Buffer | undefined>;

interface Listener {
  readonly udp: dgram.Socket;
  readonly tcp: Server;
  readonly sockets: Set<Socket>;
}

/** RFC 1035's limit for UDP answers when the query carries no EDNS size. */
export const UDP_LIMIT = 512;

/**
 * A UDP answer that fits `limit`: answers dropped from the end and TC set
 * (the client asks again over TCP), as RFC 2181 9 allows. Pure.
 */
export function fitUdp(packet: Packet, limit: number): Buffer {
  let p = packet;
  let buf = dnsPacket.encode(p);
  while (buf.length > limit && (p.answers?.length ?? 0) > 0) {
    p = { ...p, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: (p.answers ?? []).slice(0, -1), additionals: [] };
    buf = dnsPacket.encode(p);
  }
  return buf;
}

export class DnsResponder {
  private readonly listeners = new Map<string, Listener>();

  constructor(
    private readonly handler: DnsHandler,
    private readonly log: Logger,
    private readonly port = 53,
  ) {}

  addresses(): string[] {
    return [...this.listeners.keys()].sort();
  }

  /** Listens on `address` (idempotent). Rejects if the address is not on this host yet (EADDRNOTAVAIL) or taken. */
  async listen(address: string): Promise<void> {
    if (this.listeners.has(address)) return;
    const udp = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    const sockets = new Set<Socket>();
    const tcp = createServer((s) => this.serveTcp(s, address, sockets));
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.port, address, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(this.port, address, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      tcp.close();
      throw err;
    }
    udp.on('error', (err) => this.log.warn({ err, address }, 'DNS UDP socket error'));
    udp.on('message', (msg, rinfo) => {
      void this.handler(msg, { source: rinfo.address, local: address, transport: 'udp' }).then(
        (answer) => {
          if (answer !== undefined) udp.send(answer, rinfo.port, rinfo.address);
        },
        (err: unknown) => this.log.debug({ err }, 'DNS query failed'),
      );
    });
    this.listeners.set(address, { udp, tcp, sockets });
  }

  private serveTcp(s: Socket, address: string, sockets: Set<Socket>): void {
    sockets.add(s);
    s.setTimeout(10_000, () => s.destroy());
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    let buf = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void this.handler(Buffer.from(msg), { source: s.remoteAddress?.replace(/^::ffff:/, '') ?? '', local: address, transport: 'tcp' }).then(
          (answer) => {
            if (answer === undefined || s.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(answer.length);
            s.write(Buffer.concat([len, answer]));
          },
          (err: unknown) => this.log.debug({ err }, 'DNS query failed'),
        );
      }
    });
  }

  async close(address: string): Promise<void> {
    const l = this.listeners.get(address);
    if (l === undefined) return;
    this.listeners.delete(address);
    for (const s of l.sockets) s.destroy();
    await Promise.all([new Promise<void>((r) => l.udp.close(() => r())), new Promise<void>((r) => l.tcp.close(() => r()))]);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.addresses().map((a) => this.close(a)));
  }
}
