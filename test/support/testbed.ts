/**
 * How integration tests find the test bed: the hosts tb1..tbN that
 * `./scripts/testbed.sh up N` made (network namespaces on 10.211.0.0/24, each
 * with its own Docker engine and sshd) and the registry every engine mirrors.
 *
 * The facts come from `scripts/testbed.sh ls --json`, read once per process.
 * When the test bed is not up these functions THROW: an integration test must
 * fail loudly rather than skip (npm test brings the test bed up for you).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TestbedSsh {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Private ed25519 key accepted for root on every host. */
  readonly keyPath: string;
  /** A ready-made shell command, e.g. for error messages. */
  readonly command: string;
}

export interface TestbedHost {
  /** tb1, tb2, … */
  readonly name: string;
  /** The host's address on the lab bridge, e.g. 10.211.0.11. */
  readonly address: string;
  /** The network namespace, e.g. stv-tb1. */
  readonly namespace: string;
  /** unix:///run/stevedore-testbed/tb1/docker.sock */
  readonly dockerHost: string;
  readonly socketPath: string;
  /** The same engine over mutual TLS, as a remote engine is reached: tcp://10.211.0.11:2376 and the client bundle's directory. */
  readonly tls: { readonly dockerHost: string; readonly certPath: string };
  readonly ssh: TestbedSsh;
}

export interface Testbed {
  /** host:port of the registry the engines use as their Docker Hub mirror. */
  readonly registry: string;
  readonly bridgeAddress: string;
  readonly keyPath: string;
  readonly stateDir: string;
  readonly hosts: readonly TestbedHost[];
}

interface RawHost extends TestbedHost {
  readonly up: boolean;
}

interface RawTestbed extends Omit<Testbed, 'hosts'> {
  readonly registryUp: boolean;
  readonly hosts: readonly RawHost[];
}

/** The repository root, found from this file whether it runs from test/ or dist/test/. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'scripts', 'testbed.sh'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('testbed: cannot find scripts/testbed.sh above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

const HOW_TO = 'bring it up with `./scripts/testbed.sh up 3` (as root), or run `npm test`, which does it for you';

let cached: Testbed | undefined;

/** The whole test bed; throws if it is not up. */
export function testbed(): Testbed {
  if (cached) return cached;
  let out: string;
  try {
    out = execFileSync('bash', [path.join(repoRoot(), 'scripts', 'testbed.sh'), 'ls', '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw new Error(`testbed: \`scripts/testbed.sh ls --json\` failed (${(err as Error).message}); ${HOW_TO}`);
  }
  const raw = JSON.parse(out) as RawTestbed;
  if (raw.hosts.length === 0) throw new Error(`testbed: the test bed is not up (no hosts); ${HOW_TO}`);
  // With STEVEDORE_TESTBED_HOSTS only the picked hosts must answer: someone
  // else's benchmark may be restarting another host's engine meanwhile.
  const picked = pickedHosts();
  const down = raw.hosts.filter((h) => !h.up && (picked.length === 0 || picked.includes(h.name))).map((h) => h.name);
  if (down.length > 0) throw new Error(`testbed: hosts not answering: ${down.join(', ')}; ${HOW_TO}`);
  if (!raw.registryUp) throw new Error(`testbed: the registry on ${raw.registry} does not answer; ${HOW_TO}`);
  cached = {
    registry: raw.registry,
    bridgeAddress: raw.bridgeAddress,
    keyPath: raw.keyPath,
    stateDir: raw.stateDir,
    hosts: raw.hosts.map(({ up: _up, ...host }) => host),
  };
  return cached;
}

/** The host names in STEVEDORE_TESTBED_HOSTS, or none. */
function pickedHosts(): string[] {
  return (process.env['STEVEDORE_TESTBED_HOSTS'] ?? '').split(',').map((n) => n.trim()).filter(Boolean);
}

/**
 * The test hosts, tb1 first; throws unless at least `min` are up.
 * STEVEDORE_TESTBED_HOSTS=tb4,tb5,tb6 picks (and orders) the hosts instead, so
 * two people (or a benchmark and a test) can share one test bed without
 * touching each other's engines.
 */
export function testbedHosts(min = 1): readonly TestbedHost[] {
  const all = testbed().hosts;
  const picked = pickedHosts();
  const hosts = picked.length === 0 ? all : picked.map((name) => testbedHost(name));
  if (hosts.length < min) {
    throw new Error(`testbed: this test needs ${min} hosts but ${hosts.length} are up; run \`./scripts/testbed.sh up ${min}\``);
  }
  return hosts;
}

/** One host by name (tb1, tb2, …); throws if it is not up. */
export function testbedHost(name: string): TestbedHost {
  const host = testbed().hosts.find((h) => h.name === name);
  if (!host) throw new Error(`testbed: no host ${name} is up; ${HOW_TO}`);
  return host;
}

/** host:port of the test bed's registry (also every engine's mirror). */
export function registryAddress(): string {
  return testbed().registry;
}

/** Arguments for the ssh CLI reaching `host` non-interactively: `ssh ...sshArgs(h) 'cmd'`. */
export function sshArgs(host: TestbedHost): string[] {
  return [
    '-i', host.ssh.keyPath,
    '-p', String(host.ssh.port),
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    '-o', 'ConnectTimeout=5',
    `${host.ssh.user}@${host.ssh.host}`,
  ];
}
