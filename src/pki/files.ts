import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import type { TlsOptions } from 'node:tls';
import { systemClock } from '../util/clock.js';
import { notFound, StevedoreError, system } from '../util/errors.js';
import { createRootCa, type CaMaterial, type RootCaState, type RootRotation } from './ca.js';
import { dockerEnv, envScript } from './bundle.js';
import {
  issueClientCertificate,
  issueServerCertificate,
  serverCertificateReissueReason,
  validateClientName,
} from './gateway-certs.js';
import { classifySans, defaultSans } from './san.js';
import { serverTlsOptionsFromPems } from './tls.js';
import type { SubjectAltNames } from './certificate.js';

/**
 * The only file I/O of the PKI. Layout under `dir`:
 *
 *   ca/{cert.pem,key.pem}                      root CA (dir 0700, key 0600)
 *   ca-rotation/{cert.pem,key.pem,cross-signed.pem}   the next root while a rotation runs (same modes)
 *   server/{cert.pem,key.pem}                  the gateway's server certificate (dir 0700, key 0600)
 *   server/extra-sans.json                     the operator's --san names, kept for later runs
 *   bundles/<name>/{ca.pem,cert.pem,key.pem,env.sh}   docker CLI client bundles (dir 0700, key 0600)
 *
 * Every directory is written whole into a temporary sibling and renamed into
 * place, so a reader never sees a certificate without its key, and two
 * processes racing to create the CA end up with one CA.
 */

export function pkiPaths(dir: string) {
  const root = resolve(dir);
  return {
    root,
    caDir: join(root, 'ca'),
    caCert: join(root, 'ca', 'cert.pem'),
    caKey: join(root, 'ca', 'key.pem'),
    /**
     * The swarm's own root once it has been rotated away from the API's CA
     * (absent until then: the swarm starts on the API's CA). Docker keeps the
     * daemon's TLS and the swarm's CA apart in the same way, so rotating the
     * swarm's root never locks the admins' client bundles out.
     */
    swarmCaDir: join(root, 'swarm-ca'),
    swarmCaCert: join(root, 'swarm-ca', 'cert.pem'),
    swarmCaKey: join(root, 'swarm-ca', 'key.pem'),
    rotationDir: join(root, 'ca-rotation'),
    rotationCert: join(root, 'ca-rotation', 'cert.pem'),
    rotationKey: join(root, 'ca-rotation', 'key.pem'),
    rotationCrossSigned: join(root, 'ca-rotation', 'cross-signed.pem'),
    serverDir: join(root, 'server'),
    serverCert: join(root, 'server', 'cert.pem'),
    serverKey: join(root, 'server', 'key.pem'),
    serverExtraSans: join(root, 'server', 'extra-sans.json'),
    bundlesDir: join(root, 'bundles'),
    bundleDir: (name: string) => join(root, 'bundles', name),
  };
}

const PrivateDir = 0o700;
const PrivateFile = 0o600;
const PublicFile = 0o644;

interface FileToWrite {
  readonly name: string;
  readonly data: string;
  readonly mode: number;
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

async function writeDirTo(tmp: string, files: readonly FileToWrite[]): Promise<void> {
  await mkdir(tmp, { mode: PrivateDir });
  await chmod(tmp, PrivateDir); // the umask may have narrowed it; never widened
  for (const f of files) {
    // Created with its final mode (no window where a key is world-readable).
    await writeFile(join(tmp, f.name), f.data, { mode: f.mode, flag: 'wx' });
    await chmod(join(tmp, f.name), f.mode);
  }
}

function tmpSibling(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Create `target` with `files` unless it exists. Returns false if someone else got there first. */
async function createDirOnce(target: string, files: readonly FileToWrite[]): Promise<boolean> {
  const tmp = tmpSibling(target);
  try {
    await writeDirTo(tmp, files);
    await rename(tmp, target);
    return true;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (isErrno(err, 'ENOTEMPTY', 'EEXIST')) return false;
    throw err;
  }
}

/**
 * Replace `target` with `files`; the old contents are removed once the new ones
 * are in place. Two writers racing both end with a whole directory (the last
 * rename wins), never a mix.
 */
async function replaceDir(target: string, files: readonly FileToWrite[]): Promise<void> {
  const tmp = tmpSibling(target);
  const olds: string[] = [];
  try {
    await writeDirTo(tmp, files);
    for (let attempt = 0; ; attempt++) {
      const old = `${tmp}.old${attempt}`;
      try {
        await rename(target, old);
        olds.push(old);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      try {
        await rename(tmp, target);
        return;
      } catch (err) {
        // Someone else put a directory there between our two renames: move it aside again.
        if (!isErrno(err, 'ENOTEMPTY', 'EEXIST') || attempt >= 5) throw err;
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
    for (const old of olds) await rm(old, { recursive: true, force: true });
  }
}

function caMissing(dir: string): Error {
  return notFound(`no CA under ${pkiPaths(dir).caDir}: run \`stevedore pki init --dir ${dir}\` first`);
}

export async function loadCa(dir: string): Promise<CaMaterial> {
  const p = pkiPaths(dir);
  try {
    const [certPem, keyPem] = await Promise.all([readFile(p.caCert, 'utf8'), readFile(p.caKey, 'utf8')]);
    return { certPem, keyPem };
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw caMissing(dir);
    throw system(`cannot read the CA under ${p.caDir}`, err);
  }
}

/** The names this machine answers on (see defaultSans). */
export function machineSans(): string[] {
  return defaultSans(hostname(), networkInterfaces());
}

async function readSavedExtraSans(file: string): Promise<string[]> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    return Array.isArray(parsed) ? parsed.filter((s): s is string => typeof s === 'string') : [];
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw system(`cannot read ${file}`, err);
  }
}

export interface InitPkiOptions {
  /**
   * Extra DNS names / IP addresses for the server certificate. They are saved,
   * and a later call without `sans` (the gateway starting) keeps them; a call
   * with `sans` replaces them.
   */
  readonly sans?: readonly string[];
  /** Also name this machine's addresses (localhost, 127.0.0.1, ::1, host name, non-internal IPv4). Default true. */
  readonly includeDefaultSans?: boolean;
  readonly now?: number;
}

export interface InitPkiResult {
  readonly caCreated: boolean;
  /** Why the server certificate was (re-)issued, or undefined when the existing one was kept. */
  readonly serverCertIssued: string | undefined;
  readonly sans: SubjectAltNames;
}

/**
 * Idempotent: creates the CA if missing (never replaces one: every bundle and
 * node certificate hangs off it), and issues the server certificate if it is
 * missing, from another CA, for another SAN set, or near expiry.
 */
export async function initPki(dir: string, opts: InitPkiOptions = {}): Promise<InitPkiResult> {
  const p = pkiPaths(dir);
  const now = opts.now ?? systemClock.now();
  await mkdir(p.root, { recursive: true });

  let caCreated = false;
  let ca: CaMaterial;
  try {
    ca = await loadCa(dir);
  } catch (err) {
    if (!(err instanceof StevedoreError && err.kind === 'notFound')) throw err;
    const fresh = createRootCa({ now });
    caCreated = await createDirOnce(p.caDir, [
      { name: 'cert.pem', data: fresh.certPem, mode: PublicFile },
      { name: 'key.pem', data: fresh.keyPem, mode: PrivateFile },
    ]);
    if (caCreated) {
      ca = fresh;
    } else {
      // Either another process just created it, or a half-copied ca/ is in the way:
      // never overwrite a CA directory, say so.
      ca = await loadCa(dir).catch((again: unknown) => {
        throw system(`${p.caDir} exists but does not hold cert.pem and key.pem; fix or remove it by hand`, again);
      });
    }
  }
  // Self-heal modes on an existing CA (a copied directory often loses them).
  await chmod(p.caDir, PrivateDir);
  await chmod(p.caKey, PrivateFile);

  const extras = opts.sans ?? (await readSavedExtraSans(p.serverExtraSans));
  const sans = classifySans([...(opts.includeDefaultSans === false ? [] : machineSans()), ...extras]);
  let reason: string | undefined;
  try {
    const certPem = await readFile(p.serverCert, 'utf8');
    await readFile(p.serverKey, 'utf8');
    reason = serverCertificateReissueReason({ certPem, caCertPem: ca.certPem, sans, now });
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    reason = 'missing';
  }
  if (reason !== undefined) {
    const server = issueServerCertificate({ ca, sans, now });
    await replaceDir(p.serverDir, [
      { name: 'cert.pem', data: server.certPem, mode: PublicFile },
      { name: 'key.pem', data: server.keyPem, mode: PrivateFile },
      { name: 'extra-sans.json', data: `${JSON.stringify([...extras])}\n`, mode: PublicFile },
    ]);
  } else if (opts.sans !== undefined) {
    // Same certificate, but remember what the operator asked for this time.
    await writeFile(p.serverExtraSans, `${JSON.stringify([...extras])}\n`, { mode: PublicFile });
  }
  return { caCreated, serverCertIssued: reason, sans };
}

export interface ClientBundleOptions {
  readonly host?: string;
  readonly port?: number;
  readonly now?: number;
}

/** Issue (or re-issue) the client bundle `name`; returns its absolute directory. */
export async function issueClientBundle(dir: string, name: string, opts: ClientBundleOptions = {}): Promise<string> {
  validateClientName(name);
  const p = pkiPaths(dir);
  // Admin bundles come from the API's CA, which a swarm root rotation never
  // touches: ca.pem verifies the gateway's API certificate, issued by it too.
  const ca = await loadCa(dir);
  const client = issueClientCertificate({ ca, name, now: opts.now ?? systemClock.now() });
  const bundleDir = p.bundleDir(name);
  await mkdir(p.bundlesDir, { recursive: true, mode: PrivateDir });
  await replaceDir(bundleDir, [
    { name: 'ca.pem', data: ca.certPem, mode: PublicFile },
    { name: 'cert.pem', data: client.certPem, mode: PublicFile },
    { name: 'key.pem', data: client.keyPem, mode: PrivateFile },
    { name: 'env.sh', data: envScript(dockerEnv(bundleDir, opts.host, opts.port)), mode: PublicFile },
  ]);
  return bundleDir;
}

/** Node TLS options for the gateway's listener, read from `dir` (synchronous: used while building a server). */
export function serverTlsOptions(dir: string): TlsOptions {
  const p = pkiPaths(dir);
  const read = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw notFound(`${file} is missing: run \`stevedore pki init --dir ${dir}\``);
      throw system(`cannot read ${file}`, err);
    }
  };
  const optional = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return '';
      throw system(`cannot read ${file}`, err);
    }
  };
  // Client certificates: admins' (the API's CA) and nodes' (the swarm's root,
  // and during a rotation the next root too), so a worker's certificate is
  // recognised and refused by role rather than at the handshake. The server's
  // own certificate always comes from the API's CA (README: "Root rotation").
  const caPem = read(p.caCert) + optional(p.swarmCaCert) + optional(p.rotationCert);
  return serverTlsOptionsFromPems({ caPem, certPem: read(p.serverCert), keyPem: read(p.serverKey) });
}

/** The pending root rotation kept beside the CA, or undefined when none runs. */
export async function loadRootRotation(dir: string): Promise<RootRotation | undefined> {
  const p = pkiPaths(dir);
  try {
    const [certPem, keyPem, crossSignedCertPem] = await Promise.all([
      readFile(p.rotationCert, 'utf8'),
      readFile(p.rotationKey, 'utf8'),
      readFile(p.rotationCrossSigned, 'utf8'),
    ]);
    return { newCa: { certPem, keyPem }, crossSignedCertPem };
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw system(`cannot read the root rotation under ${p.rotationDir}`, err);
  }
}

/** The swarm's root: `swarm-ca/` once a rotation has moved it there, the API's CA before. */
export async function loadSwarmCa(dir: string): Promise<CaMaterial> {
  const p = pkiPaths(dir);
  try {
    const [certPem, keyPem] = await Promise.all([readFile(p.swarmCaCert, 'utf8'), readFile(p.swarmCaKey, 'utf8')]);
    return { certPem, keyPem };
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return loadCa(dir);
    throw system(`cannot read the swarm's CA under ${p.swarmCaDir}`, err);
  }
}

export async function loadRootCaState(dir: string): Promise<RootCaState> {
  const root = await loadSwarmCa(dir);
  const rotation = await loadRootRotation(dir);
  return rotation === undefined ? { root } : { root, rotation };
}

/**
 * Keeps (or, with undefined, forgets) the next root and its cross-signed
 * certificate beside the CA: its key as carefully as the root's (0700/0600,
 * written whole and renamed into place).
 */
export async function saveRootRotation(dir: string, rotation: RootRotation | undefined): Promise<void> {
  const p = pkiPaths(dir);
  if (rotation === undefined) {
    await rm(p.rotationDir, { recursive: true, force: true });
    return;
  }
  await replaceDir(p.rotationDir, [
    { name: 'cert.pem', data: rotation.newCa.certPem, mode: PublicFile },
    { name: 'key.pem', data: rotation.newCa.keyPem, mode: PrivateFile },
    { name: 'cross-signed.pem', data: rotation.crossSignedCertPem, mode: PublicFile },
  ]);
}

/**
 * The end of a rotation on disk: the new root becomes the swarm's root in
 * `swarm-ca/` (a previous swarm root's key is deleted with its directory) and
 * the rotation directory goes. The API's CA, the gateway's API certificate
 * and the admins' bundles stay as they are: they are not the swarm's.
 */
export async function completeRootRotation(dir: string, newCa: CaMaterial): Promise<void> {
  const p = pkiPaths(dir);
  await replaceDir(p.swarmCaDir, [
    { name: 'cert.pem', data: newCa.certPem, mode: PublicFile },
    { name: 'key.pem', data: newCa.keyPem, mode: PrivateFile },
  ]);
  await rm(p.rotationDir, { recursive: true, force: true });
}
