/**
 * The agent release `node add` uploads: `stevedore.mjs`, an esbuild
 * bundle of `agent-main.ts` (the agent's commands and nothing else), beside a
 * two-line package.json, and the engine runtime `stevedore-runc` (a shell
 * script). Measured against a tarball of dist/ + bin/ +
 * production node_modules (see README): 1.4 MB instead of 15 MB gzipped
 * (66 MB unpacked), built in ~1.5 s instead of ~4.5 s, and no native module
 * built for the admin's machine lands on the host. Native optional modules
 * (ssh2's crypto binding, cpu-features) stay external and fall back to
 * JavaScript, as they do wherever they are not built.
 *
 * Built once and cached (valid while the contents of every input esbuild
 * read are unchanged, so rebuilding dist/ for unrelated code costs a hash,
 * not a bundle). The version is `<package version>-<12 hex of the bundle's sha256>`: the same
 * bytes always land in the same /opt/stevedore/<version>, so a repeated add or
 * upgrade uploads nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Esbuild from 'esbuild';
import { system } from '../util/errors.js';

export interface ReleaseFile {
  readonly name: string;
  readonly data: Buffer;
  readonly mode: number;
}

export interface Release {
  readonly version: string;
  /** sha256 (hex) of stevedore.mjs, to tell whether a host already has it. */
  readonly sha256: string;
  readonly files: readonly ReleaseFile[];
}

export const BundleName = 'stevedore.mjs';
/**
 * An OCI runtime for the host's engine, registered by its operator as runtime
 * `stevedore` at /opt/stevedore/current/stevedore-runc; without it the host's
 * instances use the engine's default network.
 */
export const RuntimeName = 'stevedore-runc';

/**
 * CJS dependencies inside an ESM bundle expect `require`, `__dirname` and
 * `__filename`; give them the bundle's own.
 */
const banner = [
  "import { createRequire as __stvRequire } from 'node:module';",
  "import { fileURLToPath as __stvPath } from 'node:url';",
  "import { dirname as __stvDir } from 'node:path';",
  'const require = __stvRequire(import.meta.url);',
  'const __filename = __stvPath(import.meta.url);',
  'const __dirname = __stvDir(__filename);',
].join(' ');

/** The compiled package root (where package.json is), found from this file in dist/src/nodes. */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin'))) return dir;
    dir = dirname(dir);
  }
  throw system(`cannot find the stevedore package root above ${from}`);
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['STEVEDORE_CACHE_DIR'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'stevedore');
}

/** sha256 over the contents of the given files, in order; undefined if one is gone. */
async function contentHash(files: readonly string[]): Promise<string | undefined> {
  const hash = createHash('sha256');
  for (const f of files) {
    try {
      hash.update(f).update('\0').update(await readFile(f)).update('\0');
    } catch {
      return undefined;
    }
  }
  return hash.digest('hex');
}

interface CacheIndex {
  readonly inputs: readonly string[];
  readonly hash: string;
}

async function ownVersion(root: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

export interface ReleaseOptions {
  readonly root?: string;
  readonly cacheDir?: string;
  /** Progress for the operator ("building the agent bundle"). */
  readonly onBuild?: (what: string) => void;
}

/** The release for this build of stevedore: from the cache, or bundled now. */
export async function agentRelease(opts: ReleaseOptions = {}): Promise<Release> {
  const root = opts.root ?? packageRoot();
  const entry = join(root, 'dist', 'src', 'nodes', 'agent-main.js');
  if (!existsSync(entry)) throw system(`${entry} is missing: run \`npm run build\` first`);
  const version = await ownVersion(root);
  // One cache slot per installation; it is valid while every file that went into the bundle is unchanged.
  const cached = join(opts.cacheDir ?? defaultCacheDir(), 'releases', createHash('sha256').update(root).digest('hex').slice(0, 16));
  const bundlePath = join(cached, BundleName);
  let index: CacheIndex | undefined;
  try {
    index = JSON.parse(await readFile(join(cached, 'inputs.json'), 'utf8')) as CacheIndex;
  } catch {
    index = undefined;
  }
  if (index === undefined || !existsSync(bundlePath) || (await contentHash(index.inputs)) !== index.hash) {
    opts.onBuild?.('bundling the agent (esbuild)');
    await buildBundle(entry, cached, root);
  }
  const bundle = await readFile(bundlePath);
  const sha256 = createHash('sha256').update(bundle).digest('hex');
  // The engine's `stevedore` runtime (src/agent/network/sandbox.ts) travels with the agent it serves.
  const runtime = await readFile(join(root, 'bin', RuntimeName));
  const releaseVersion = `${version}-${createHash('sha256').update(bundle).update(runtime).digest('hex').slice(0, 12)}`;
  const pkg = `${JSON.stringify({ name: 'stevedore', version, type: 'module', private: true }, null, 2)}\n`;
  return {
    version: releaseVersion,
    sha256,
    files: [
      { name: BundleName, data: bundle, mode: 0o644 },
      { name: 'package.json', data: Buffer.from(pkg), mode: 0o644 },
      { name: RuntimeName, data: runtime, mode: 0o755 },
    ],
  };
}

async function buildBundle(entry: string, outDir: string, root: string): Promise<void> {
  let esbuild: typeof Esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    throw system('esbuild is needed to bundle the agent for `stevedore node add` (npm install, with dev dependencies)', err);
  }
  await mkdir(outDir, { recursive: true });
  const tmp = join(outDir, `${BundleName}.${process.pid}.tmp`);
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: root,
    metafile: true,
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    // Optional native parts: absent on the host, each has a JavaScript fallback.
    external: ['cpu-features', '*.node'],
    banner: { js: banner },
  });
  await rename(tmp, join(outDir, BundleName));
  const inputs = Object.keys(result.metafile.inputs).map((p) => resolve(root, p)).sort();
  const index: CacheIndex = { inputs, hash: (await contentHash(inputs)) ?? '' };
  await writeFile(join(outDir, 'inputs.json'), `${JSON.stringify(index)}\n`);
}
