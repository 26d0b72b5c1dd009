import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Engine, parseEngineUrl } from '../../engine/index.js';
import { KernelOverlayDriver } from './driver.js';
import type { OverlayMode, OverlayNetworkDesired, OverlayPeer } from './types.js';

/**
 * A small "cluster view" over network-namespace hosts, for the overlay's
 * integration tests and benchmark: one KernelOverlayDriver per host (commands
 * run in the host's namespace), desired states computed the way a manager
 * would (peers = the other hosts with endpoints), busybox containers at
 * cluster-chosen addresses. Not used by the agent itself.
 */
const run = promisify(execFile);

export interface LabHost {
  readonly name: string; // tb1
  readonly address: string; // 10.211.0.11
  readonly namespace: string; // stv-tb1
  readonly dockerHost: string;
}

export interface LabNode {
  readonly host: LabHost;
  readonly index: number;
  readonly driver: KernelOverlayDriver;
  readonly engine: Engine;
  readonly tunnelAddress: string;
  readonly wgInterface: string;
}

export interface LabNetwork {
  readonly networkId: string;
  readonly name: string;
  readonly vni: number;
  readonly subnet: string;
  readonly gateway: string;
  readonly mode: OverlayMode;
  readonly encrypted: boolean;
  /** Docker's `--internal`: no way in or out but the network itself. */
  readonly internal?: boolean;
  /** host name → overlay addresses of its endpoints (bare). */
  readonly placements: Readonly<Record<string, readonly string[]>>;
}

export class OverlayLab {
  readonly nodes: readonly LabNode[];

  constructor(
    hosts: readonly LabHost[],
    readonly stateDir: string,
    options: { readonly wireguardGo?: string } = {},
  ) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.nodes = hosts.map((host, index) => {
      const engine = new Engine(parseEngineUrl(host.dockerHost));
      const last = Number(host.address.split('.')[3]);
      // Interface names are global in /var/run/wireguard (the hosts share one file system): one per host.
      const wgInterface = `stvovwg-${host.name}`.slice(0, 15);
      const tunnelAddress = `10.249.0.${last}`;
      const driver = new KernelOverlayDriver({
        engine,
        underlay: { address: `${host.address}/24` },
        wireguard: { interface: wgInterface, address: `${tunnelAddress}/24`, listenPort: 51820 },
        stateDir: join(stateDir, host.name),
        netnsPath: `/var/run/netns/${host.namespace}`,
        ...(options.wireguardGo !== undefined ? { wireguardGo: options.wireguardGo } : {}),
      });
      return { host, index, driver, engine, tunnelAddress, wgInterface };
    });
  }

  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.host.name === name);
    if (!n) throw new Error(`lab: no host ${name}`);
    return n;
  }

  /** What the manager would hand `node` for `net`: every other host with endpoints is a peer. */
  async desiredFor(node: LabNode, net: LabNetwork): Promise<OverlayNetworkDesired> {
    const peers: OverlayPeer[] = [];
    for (const other of this.nodes) {
      if (other === node) continue;
      const addresses = net.placements[other.host.name] ?? [];
      if (addresses.length === 0) continue;
      peers.push({
        nodeId: other.host.name,
        underlay: other.host.address,
        endpoints: addresses.map((address) => ({ address })),
        ...(net.encrypted ? { wireguard: { publicKey: await other.driver.wireguardPublicKey(), address: other.tunnelAddress } } : {}),
      });
    }
    return {
      networkId: net.networkId,
      name: net.name,
      vni: net.vni,
      subnet: net.subnet,
      gateway: net.gateway,
      mode: net.mode,
      encrypted: net.encrypted,
      internal: net.internal ?? false,
      peers,
    };
  }

  /** ensure on every host that has endpoints of `net`. */
  async ensureAll(net: LabNetwork) {
    const results = [];
    for (const n of this.nodes) {
      if ((net.placements[n.host.name] ?? []).length === 0) continue;
      results.push({ node: n, result: await n.driver.ensure(await this.desiredFor(n, net)) });
    }
    return results;
  }

  async docker(node: LabNode, ...args: string[]): Promise<string> {
    const { stdout } = await run('docker', ['-H', node.host.dockerHost, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  }

  /** A busybox container on `net` at `address`, sleeping; returns its PID on the host. */
  async container(node: LabNode, net: LabNetwork, name: string, address: string): Promise<number> {
    await this.docker(node, 'run', '-d', '--name', name, '--label', 'io.stevedore.test=overlay', '--network', net.name, '--ip', address, 'busybox', 'sleep', '3600');
    return Number(await this.docker(node, 'inspect', '-f', '{{.State.Pid}}', name));
  }

  async exec(node: LabNode, name: string, script: string): Promise<string> {
    return this.docker(node, 'exec', name, 'sh', '-c', script);
  }

  /** A command in the host's network namespace. */
  async inHost(node: LabNode, file: string, ...args: string[]): Promise<string> {
    const { stdout } = await run('nsenter', [`--net=/var/run/netns/${node.host.namespace}`, '--', file, ...args], { timeout: 30_000 });
    return stdout;
  }

  async removeContainers(prefix: string): Promise<void> {
    for (const n of this.nodes) {
      const ids = (await this.docker(n, 'ps', '-aq', '--filter', `name=${prefix}`)).split('\n').filter(Boolean);
      if (ids.length > 0) await this.docker(n, 'rm', '-f', ...ids);
    }
  }

  /** Best effort: containers, then every host's teardown of `net`. */
  async cleanup(net: LabNetwork, containerPrefix: string): Promise<void> {
    await this.removeContainers(containerPrefix).catch(() => undefined);
    for (const n of this.nodes) await n.driver.teardown(net.networkId).catch(() => undefined);
  }

  close(): void {
    for (const n of this.nodes) n.engine.close();
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
