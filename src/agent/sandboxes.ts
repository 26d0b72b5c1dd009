import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../engine/index.js';
import type { Logger } from '../util/log.js';
import { statusCodeOf } from './exec/adapter.js';
import type { ContainerCreateRequest } from './exec/container-config.js';
import { Labels } from './labels.js';
import { LABEL_MANAGED } from './network/addressing.js';
import {
  AddressPool,
  dnsOf,
  HOSTS_BASE_FILE,
  hostsBase,
  PLUMB_FILE,
  plumbFile,
  resolvConf,
  SANDBOX_ADDRESS_LABEL,
  SANDBOX_BRIDGE,
  SANDBOX_NETWORK,
  SANDBOX_RUNTIME,
  sandboxCreate,
  sandboxEligible,
  vethName,
} from './network/sandbox.js';

/**
 * Instance sandboxes on this host (src/agent/network/sandbox.ts says what and
 * why): on when the engine has our runtime registered, off otherwise (the
 * instances then use the engine's default network, as before). Opened on the
 * first create: the engine's runtimes are looked up, the Docker network
 * ensured, and the addresses of the containers already there adopted before
 * any is handed out.
 */
export interface Sandboxes {
  /** The request on a sandbox when it can take one, its files written; else as it was. */
  prepare(instanceId: string, request: ContainerCreateRequest): Promise<ContainerCreateRequest>;
  /** The instance's container is gone: its address and files too. */
  release(instanceId: string): Promise<void>;
}

export interface EngineSandboxesOptions {
  readonly engine: Engine;
  /** The instances' directories (`<dir>/<instance id>`): the engine must see this path as the agent does. */
  readonly dir: string;
  readonly log: Logger;
  /** The host's resolv.conf, which the containers' is derived from. */
  readonly hostResolvConf?: string;
  /** How often a create looks whether the Docker network is still there (30 s). */
  readonly networkCheckMs?: number;
}

const RECHECK_MS = 60_000;
const NETWORK_CHECK_MS = 30_000;

interface Opened {
  readonly pool: AddressPool;
  readonly gateway: string;
  readonly mtu: number;
  readonly resolv: string;
}

interface NetworkBody {
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] | null } | null;
  Options?: Record<string, string> | null;
}

export class EngineSandboxes implements Sandboxes {
  private opened: Promise<Opened | undefined> | undefined;
  /** When the engine was last found without our runtime: asked again a minute later (an operator may register it meanwhile). */
  private offSince: number | undefined;
  private told = false;
  /** When the network was last seen (`confirm`). */
  private checkedAt = 0;

  constructor(private readonly opts: EngineSandboxesOptions) {}

  /** Whether instances get sandboxes here (opens on first call). */
  async enabled(): Promise<boolean> {
    return (await this.open()) !== undefined;
  }

  private open(): Promise<Opened | undefined> {
    if (this.offSince !== undefined && Date.now() - this.offSince > RECHECK_MS) {
      this.opened = undefined;
      this.offSince = undefined;
    }
    if (this.opened !== undefined && this.offSince === undefined && Date.now() - this.checkedAt >= (this.opts.networkCheckMs ?? NETWORK_CHECK_MS)) {
      // Every caller from now on waits for the same look.
      this.checkedAt = Date.now();
      this.opened = this.settle(this.opened.then((o) => (o === undefined ? o : this.confirm(o))));
    }
    this.opened ??= this.settle(this.doOpen());
    return this.opened;
  }

  /** A failed open or look is not kept: the next create tries again (the engine may have been away). */
  private settle(p: Promise<Opened | undefined>): Promise<Opened | undefined> {
    const settled = p.catch((err: unknown) => {
      if (this.opened === settled) this.opened = undefined;
      throw err;
    });
    return settled;
  }

  /**
   * The network is still there, or it is made again: a `docker network prune`
   * on the host removes it, because the engine sees no endpoint on it. The
   * sandboxes then open afresh (the addresses come back from the containers'
   * labels), and the next instances are plugged into the new bridge.
   */
  private async confirm(o: Opened): Promise<Opened | undefined> {
    try {
      await this.opts.engine.docker.getNetwork(SANDBOX_NETWORK).inspect();
      return o;
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
    this.opts.log.warn({ network: SANDBOX_NETWORK }, 'the sandbox network is gone from the engine (a network prune?): making it again');
    return this.doOpen();
  }

  private async doOpen(): Promise<Opened | undefined> {
    const { engine, log } = this.opts;
    const info = (await engine.docker.info()) as { Runtimes?: Record<string, unknown> | null };
    if (info.Runtimes?.[SANDBOX_RUNTIME] === undefined) {
      if (!this.told) log.info({ runtime: SANDBOX_RUNTIME }, "the engine has no stevedore runtime: instances use the engine's default network");
      this.told = true;
      this.offSince = Date.now();
      return undefined;
    }
    const net = await this.ensureNetwork();
    const cfg = net.IPAM?.Config?.[0];
    if (cfg?.Subnet === undefined || cfg.Gateway === undefined) throw new Error(`the Docker network ${SANDBOX_NETWORK} has no IPv4 subnet and gateway`);
    const pool = new AddressPool(cfg.Subnet, cfg.Gateway);
    const listed = (await engine.docker.listContainers({ all: true, filters: JSON.stringify({ label: [SANDBOX_ADDRESS_LABEL] }) })) as {
      Labels?: Record<string, string> | null;
    }[];
    const kept = new Set<string>();
    for (const c of listed) {
      const id = c.Labels?.[Labels.taskId];
      const address = c.Labels?.[SANDBOX_ADDRESS_LABEL];
      if (id !== undefined && address !== undefined && pool.adopt(id, address)) kept.add(id);
    }
    await mkdir(this.opts.dir, { recursive: true, mode: 0o755 });
    // Directories no container claims any more (removed while the agent was away).
    for (const name of await readdir(this.opts.dir)) if (!kept.has(name)) await rm(path.join(this.opts.dir, name), { recursive: true, force: true });
    const resolv = this.opts.hostResolvConf ?? (await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
    const mtu = Number(net.Options?.['com.docker.network.driver.mtu'] ?? 1500) || 1500;
    log.info({ subnet: cfg.Subnet, adopted: kept.size }, 'instance sandboxes on (the engine has the stevedore runtime)');
    this.checkedAt = Date.now();
    return { pool, gateway: cfg.Gateway, mtu, resolv };
  }

  private async ensureNetwork(): Promise<NetworkBody> {
    const { docker } = this.opts.engine;
    try {
      return (await docker.getNetwork(SANDBOX_NETWORK).inspect()) as NetworkBody;
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
    try {
      await docker.createNetwork({
        Name: SANDBOX_NETWORK,
        Driver: 'bridge',
        CheckDuplicate: true,
        Options: { 'com.docker.network.bridge.name': SANDBOX_BRIDGE },
        Labels: { [LABEL_MANAGED]: 'true' },
      });
    } catch (err) {
      // Made meanwhile by another opener: fine.
      if (statusCodeOf(err) !== 409) throw err;
    }
    return (await docker.getNetwork(SANDBOX_NETWORK).inspect()) as NetworkBody;
  }

  async prepare(instanceId: string, request: ContainerCreateRequest): Promise<ContainerCreateRequest> {
    if ((request.connect?.length ?? 0) > 0 || !sandboxEligible(request.body)) return request;
    const o = await this.open();
    if (o === undefined) return request;
    const address = o.pool.take(instanceId);
    const dir = path.join(this.opts.dir, instanceId);
    const dns = dnsOf(request.body);
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      const hosts = hostsBase(dns.extraHosts);
      await Promise.all([
        writeFile(path.join(dir, HOSTS_BASE_FILE), hosts),
        // Exists before the create (a missing bind source would become a directory); the runtime adds the container's own line.
        writeFile(path.join(dir, 'hosts'), hosts),
        writeFile(path.join(dir, 'resolv.conf'), resolvConf(o.resolv, dns)),
        writeFile(path.join(dir, PLUMB_FILE), plumbFile({ veth: vethName(instanceId), bridge: SANDBOX_BRIDGE, address, gateway: o.gateway, mtu: o.mtu })),
      ]);
    } catch (err) {
      await this.release(instanceId);
      throw err;
    }
    return { ...request, body: sandboxCreate(request.body, { dir, address }) };
  }

  async release(instanceId: string): Promise<void> {
    const o = await this.opened?.catch(() => undefined);
    if (o === undefined) return;
    o.pool.release(instanceId);
    await rm(path.join(this.opts.dir, instanceId), { recursive: true, force: true });
  }

  /** Leaving the cluster: the Docker network goes once its containers have (the engine refuses before). */
  async removeNetwork(): Promise<void> {
    this.opened = undefined;
    try {
      await this.opts.engine.docker.getNetwork(SANDBOX_NETWORK).remove();
    } catch (err) {
      if (statusCodeOf(err) !== 404) this.opts.log.warn({ err }, `removing the Docker network ${SANDBOX_NETWORK} failed`);
    }
    await rm(this.opts.dir, { recursive: true, force: true });
  }
}
