import { readFile, realpath } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import type { EngineEndpoint } from '../engine/index.js';

/**
 * Whether the gateway's engine lives in the gateway's own network namespace.
 * Only then can the gateway's in-process agent build that node's overlays:
 * VXLAN devices, the DNS responder on each overlay's gateway address and the
 * mesh's rules all go into the namespace the agent runs in, and they must be
 * where the engine's containers are.
 *
 * - A unix socket: Linux lists unix sockets per network namespace in
 *   /proc/net/unix (the reader's), so the engine's listening socket is there
 *   only when its dockerd was started in ours. Only a listening socket counts:
 *   our own connection to another namespace's engine is listed here too, with
 *   the engine's path.
 * - TCP: the engine's host is loopback or an address of one of our interfaces.
 */
export async function engineInOurNetns(endpoint: EngineEndpoint): Promise<boolean> {
  if (endpoint.kind === 'unix') {
    const paths = new Set([endpoint.socketPath]);
    paths.add(await realpath(endpoint.socketPath).catch(() => endpoint.socketPath));
    const table = await readFile('/proc/net/unix', 'utf8').catch(() => '');
    return unixSocketListed(table, paths);
  }
  if (endpoint.kind === 'tcp') return isLocalAddress(endpoint.host, localAddresses());
  return false;
}

/** __SO_ACCEPTCON in the Flags column: the socket listens. */
const ACCEPTCON = 0x10000;

/** Whether /proc/net/unix's text lists a socket listening at one of `paths` (its last column). */
export function unixSocketListed(procNetUnix: string, paths: ReadonlySet<string>): boolean {
  for (const line of procNetUnix.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode [Path]
    if (cols.length < 8 || (Number.parseInt(cols[3] ?? '0', 16) & ACCEPTCON) === 0) continue;
    if (paths.has(cols.slice(7).join(' '))) return true;
  }
  return false;
}

export function isLocalAddress(host: string, local: ReadonlySet<string>): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || bare.startsWith('127.') || local.has(bare);
}

function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}
