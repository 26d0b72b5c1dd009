/**
 * Instance sandboxes, the pure part. An instance on no cluster network gets
 * its network namespace the way a CNI bridge plugin gives one to a pod: runc
 * creates the namespace (the container is created with `NetworkDisabled`),
 * and between `runc create` and `runc start` — the process exists but has not
 * run yet — our OCI runtime (`bin/stevedore-runc`, registered with the engine
 * as runtime `stevedore`) moves one end of a veth pair into it, gives it the
 * instance's address and a default route, and attaches the other end to the
 * host bridge of the Docker network `stevedore_sandbox` (whose NAT and
 * forwarding rules the engine keeps).
 *
 * Why: on the engine's default network, libnetwork makes each container's
 * sandbox by re-executing dockerd twice (`netns-create`, then the
 * `libnetwork-setkey` prestart hook). That is over half of what a container
 * costs its engine (scripts/bench/engine-cost.ts: 212–274 CPU ms a container
 * on the bridge, 104–124 with this plumbing, measured in three runs).
 *
 * The runtime finds an instance's plumbing through the container's own
 * config: the directory its `/etc/hosts` is bound from holds `stevedore-plumb`
 * (key=value lines). So a container restarted by hand is plumbed again, and
 * the runtime keeps no state of its own. No I/O here (src/agent/sandboxes.ts
 * does the calls).
 */
import { formatIpv4, parseCidr } from './addressing.js';

/** The engine's name for our OCI runtime (`"runtimes": {"stevedore": {"path": …/bin/stevedore-runc}}`). */
export const SANDBOX_RUNTIME = 'stevedore';
/** The Docker network whose bridge the sandboxes hang off (the engine keeps its NAT and FORWARD rules). */
export const SANDBOX_NETWORK = 'stevedore_sandbox';
/** Its Linux bridge. Not `stv-<digits>`: those are the overlays' legs. */
export const SANDBOX_BRIDGE = 'stv-sbx';
/** On the container: its address (CIDR), so a restarted agent knows which are taken. */
export const SANDBOX_ADDRESS_LABEL = 'io.stevedore.sandbox.address';
/** In an instance's directory: what the runtime reads. */
export const PLUMB_FILE = 'stevedore-plumb';
/** In an instance's directory: /etc/hosts without the container's own line (the runtime adds it: only it knows the hostname for sure). */
export const HOSTS_BASE_FILE = 'hosts.base';

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);

/**
 * Whether a create body can take a sandbox: it asks for the engine's default
 * network and nothing the engine would have to do on it (published ports, a
 * MAC address, another runtime), and binds nothing over /etc/hosts or
 * /etc/resolv.conf. Anything else keeps the engine's own network.
 */
export function sandboxEligible(body: Readonly<Json>): boolean {
  const host = asObject(body['HostConfig']);
  const mode = host['NetworkMode'];
  if (mode !== undefined && mode !== '' && mode !== 'default' && mode !== 'bridge') return false;
  if (Object.keys(asObject(asObject(body['NetworkingConfig'])['EndpointsConfig'])).length > 0) return false;
  if (body['NetworkDisabled'] === true || (typeof body['MacAddress'] === 'string' && body['MacAddress'] !== '')) return false;
  if (typeof host['Runtime'] === 'string' && host['Runtime'] !== '') return false;
  if (Object.keys(asObject(host['PortBindings'])).length > 0 || host['PublishAllPorts'] === true) return false;
  const targets = [
    ...strings(host['Binds']).map((b) => b.split(':')[1] ?? ''),
    ...(Array.isArray(host['Mounts']) ? (host['Mounts'] as unknown[]).map((m) => String(asObject(m)['Target'] ?? '')) : []),
  ];
  return !targets.some((t) => t === '/etc/hosts' || t === '/etc/resolv.conf' || t === '/etc');
}

export interface SandboxPlacement {
  /** The instance's directory on the host (the engine must see it at the same path). */
  readonly dir: string;
  /** Its address, CIDR. */
  readonly address: string;
}

/** The create body on our runtime: no engine network, our /etc/hosts and /etc/resolv.conf, the address labelled. */
export function sandboxCreate(body: Readonly<Json>, p: SandboxPlacement): Json {
  const host = asObject(body['HostConfig']);
  return {
    ...body,
    NetworkDisabled: true,
    Labels: { ...asObject(body['Labels']), [SANDBOX_ADDRESS_LABEL]: p.address },
    HostConfig: {
      ...host,
      Runtime: SANDBOX_RUNTIME,
      // Mounts, not Binds: a source the engine cannot see is an error, never an empty directory made in its place.
      Mounts: [
        ...(Array.isArray(host['Mounts']) ? (host['Mounts'] as unknown[]) : []),
        { Type: 'bind', Source: `${p.dir}/hosts`, Target: '/etc/hosts' },
        { Type: 'bind', Source: `${p.dir}/resolv.conf`, Target: '/etc/resolv.conf' },
      ],
    },
  };
}

export interface Plumbing {
  readonly veth: string;
  readonly bridge: string;
  /** CIDR. */
  readonly address: string;
  readonly gateway: string;
  readonly mtu: number;
}

/** The host end of an instance's veth: `svb` and 12 characters of its id (15 at most, the kernel's limit). */
export const vethName = (instanceId: string): string => `svb${instanceId.replace(/[^a-zA-Z0-9]/g, '').slice(0, 12)}`;

/** `stevedore-plumb`: plain key=value lines the runtime reads (never runs). */
export function plumbFile(p: Plumbing): string {
  return `veth=${p.veth}\nbridge=${p.bridge}\naddress=${p.address}\ngateway=${p.gateway}\nmtu=${p.mtu}\n`;
}

/** Docker's /etc/hosts for a container on a bridge, without its own line; `ExtraHosts` ("name:ip") after the defaults, as Docker writes them. */
export function hostsBase(extraHosts: readonly string[]): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const e of extraHosts) {
    const i = e.indexOf(':');
    if (i > 0) lines.push(`${e.slice(i + 1)}\t${e.slice(0, i)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Docker's public fallback when the host names only local resolvers (libnetwork's resolvconf package). */
const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/**
 * A container's /etc/resolv.conf on a bridge, as Docker derives it: the
 * host's, minus loopback nameservers (unreachable from the container's
 * namespace), Google's two when none are left; the container's own `Dns`,
 * `DnsSearch` and `DnsOptions` replace the host's lines of each kind.
 */
export function resolvConf(host: string, own: { readonly dns?: readonly string[]; readonly search?: readonly string[]; readonly options?: readonly string[] } = {}): string {
  const hostNs: string[] = [];
  let hostSearch: string[] = [];
  let hostOptions: string[] = [];
  for (const raw of host.split('\n')) {
    const [kind, ...rest] = raw.trim().split(/\s+/);
    if (kind === 'nameserver' && rest[0] !== undefined && !isLoopback(rest[0])) hostNs.push(rest[0]);
    else if (kind === 'search' || kind === 'domain') hostSearch = rest;
    else if (kind === 'options') hostOptions = rest;
  }
  const ns = own.dns !== undefined && own.dns.length > 0 ? own.dns : hostNs.length > 0 ? hostNs : FALLBACK_NAMESERVERS;
  const search = own.search !== undefined && own.search.length > 0 ? own.search : hostSearch;
  const options = own.options !== undefined && own.options.length > 0 ? own.options : hostOptions;
  return [...(search.length > 0 ? [`search ${search.join(' ')}`] : []), ...ns.map((n) => `nameserver ${n}`), ...(options.length > 0 ? [`options ${options.join(' ')}`] : [])].join('\n') + '\n';
}

const isLoopback = (ns: string): boolean => /^127\./.test(ns) || ns === '::1' || ns === '0.0.0.0';

/** What a body asks of its resolv.conf and hosts file. */
export function dnsOf(body: Readonly<Json>): { dns: string[]; search: string[]; options: string[]; extraHosts: string[] } {
  const host = asObject(body['HostConfig']);
  return { dns: strings(host['Dns']), search: strings(host['DnsSearch']), options: strings(host['DnsOptions']), extraHosts: strings(host['ExtraHosts']) };
}

/**
 * This host's addresses on the sandbox network, by instance. Handed out in
 * turn from after the last one given (as Docker's IPAM does), so a released
 * address is not reused at once while a peer may still have it in its ARP
 * cache; the network, gateway and broadcast addresses never are.
 * The agent adopts what running containers carry (their label) before it
 * hands out any.
 */
export class AddressPool {
  private readonly byInstance = new Map<string, number>();
  private readonly taken = new Set<number>();
  private readonly first: number;
  private readonly last: number;
  private readonly gateway: number;
  private next: number;
  readonly prefix: number;

  constructor(subnet: string, gateway: string) {
    const c = parseCidr(subnet);
    const size = 2 ** (32 - c.prefix);
    const network = c.address - (c.address % size);
    this.prefix = c.prefix;
    this.first = network + 1;
    this.last = network + size - 2;
    this.gateway = parseCidr(gateway).address;
    this.next = this.first;
  }

  /** The instance's address (CIDR), the one it has if any. Throws when the subnet is full. */
  take(instanceId: string): string {
    const had = this.byInstance.get(instanceId);
    if (had !== undefined) return this.cidr(had);
    const span = this.last - this.first + 1;
    for (let i = 0; i < span; i++) {
      const a = this.first + ((this.next - this.first + i) % span);
      if (a === this.gateway || this.taken.has(a)) continue;
      this.byInstance.set(instanceId, a);
      this.taken.add(a);
      this.next = a + 1 > this.last ? this.first : a + 1;
      return this.cidr(a);
    }
    throw new Error(`the sandbox network has no free address left (${this.last - this.first} in use)`);
  }

  /** A container found with this address: it keeps it. False when it is outside the subnet or already someone else's. */
  adopt(instanceId: string, address: string): boolean {
    const a = parseCidr(address).address;
    if (a < this.first || a > this.last || a === this.gateway || (this.taken.has(a) && this.byInstance.get(instanceId) !== a)) return false;
    this.byInstance.set(instanceId, a);
    this.taken.add(a);
    return true;
  }

  release(instanceId: string): void {
    const a = this.byInstance.get(instanceId);
    if (a === undefined) return;
    this.byInstance.delete(instanceId);
    this.taken.delete(a);
  }

  has(instanceId: string): boolean {
    return this.byInstance.has(instanceId);
  }

  private cidr(a: number): string {
    return `${formatIpv4(a)}/${this.prefix}`;
  }
}
