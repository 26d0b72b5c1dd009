import { join } from 'node:path';
import { TUNNEL_PREFIX_LENGTH, tunnelAddressFor } from '../dispatcher/network-assignments.js';
import type { Engine } from '../engine/index.js';
import type { Logger } from '../util/log.js';
import { LABEL_MANAGED, LABEL_NETWORK_ID, LABEL_VNI } from './network/addressing.js';
import { KernelOverlayDriver, type OverlayDriver } from './network/driver.js';
import { ExecRunner, type CommandRunner } from './network/runner.js';
import type { HostUnderlay, HostWireguard } from './network/types.js';

/**
 * How an agent makes its host's overlay driver: the underlay is the node's
 * advertised address with the prefix and MTU of the interface that carries it
 * (read with `ip -json addr`), WireGuard gets one shared interface whose
 * tunnel address is derived from the underlay (the manager derives the same).
 */

export const WIREGUARD_INTERFACE = 'stvwg0';
export const WIREGUARD_PORT = 51820;

export interface OverlayHostOptions {
  /** Run iproute2/iptables/wg inside this network namespace (an agent serving another namespace's engine). */
  readonly netnsPath?: string;
  /** The user-space WireGuard program when the kernel has none (default `wireguard-go`). */
  readonly wireguardGo?: string;
  /**
   * The WireGuard interface (default stvwg0). wireguard-go's control socket is
   * /var/run/wireguard/<name>.sock, so agents sharing one filesystem across
   * network namespaces (the test bed) need a name each.
   */
  readonly wireguardInterface?: string;
  /** Tests: the driver itself. */
  readonly driver?: (underlay: string) => OverlayDriver;
}

interface IpAddrEntry {
  readonly ifname?: string;
  readonly mtu?: number;
  readonly addr_info?: readonly { readonly family?: string; readonly local?: string; readonly prefixlen?: number }[];
}

/** The interface address equal to `address`, with its prefix and the interface's MTU; a /32 at 1500 if none carries it. */
export async function detectUnderlay(runner: CommandRunner, address: string, log: Logger): Promise<HostUnderlay> {
  const r = await runner.run('ip', ['-json', 'addr', 'show']);
  if (r.code === 0) {
    const entries = JSON.parse(r.stdout) as IpAddrEntry[];
    for (const e of entries) {
      for (const a of e.addr_info ?? []) {
        if (a.family === 'inet' && a.local === address && a.prefixlen !== undefined) {
          return { address: `${address}/${a.prefixlen}`, ...(e.mtu === undefined ? {} : { mtu: e.mtu }) };
        }
      }
    }
  }
  // A NATed advertise address: VXLAN still works toward it; `auto` mode then always picks VXLAN.
  log.warn({ address }, 'no interface on this host carries the advertised address; assuming a /32 underlay with MTU 1500');
  return { address: `${address}/32` };
}

export function hostWireguard(underlay: string, iface = WIREGUARD_INTERFACE): HostWireguard {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(iface)) throw new Error(`invalid WireGuard interface name ${JSON.stringify(iface)} (at most 15 letters, digits, _ . -)`);
  return { interface: iface, address: `${tunnelAddressFor(underlay)}/${TUNNEL_PREFIX_LENGTH}`, listenPort: WIREGUARD_PORT };
}

export async function makeOverlayDriver(opts: {
  readonly engine: Engine;
  readonly underlayAddress: string;
  readonly stateDir: string;
  readonly host: OverlayHostOptions;
  readonly log: Logger;
}): Promise<OverlayDriver> {
  if (opts.host.driver) return opts.host.driver(opts.underlayAddress);
  const runner = new ExecRunner(opts.host.netnsPath);
  const underlay = await detectUnderlay(runner, opts.underlayAddress, opts.log);
  return new KernelOverlayDriver({
    engine: opts.engine,
    underlay,
    wireguard: hostWireguard(opts.underlayAddress, opts.host.wireguardInterface),
    stateDir: join(opts.stateDir, 'overlay'),
    runner,
    ...(opts.host.wireguardGo === undefined ? {} : { wireguardGo: opts.host.wireguardGo }),
    logger: opts.log,
  });
}

/** Cluster network ids of the overlays the driver made on this engine (its labels say so). */
export async function overlayNetworkIdsOnEngine(engine: Engine): Promise<string[]> {
  const listed = (await engine.docker.listNetworks({ filters: { label: [LABEL_VNI, `${LABEL_MANAGED}=true`] } })) as { Labels?: Record<string, string> | null }[];
  return listed.map((n) => n.Labels?.[LABEL_NETWORK_ID] ?? '').filter((id) => id !== '');
}
