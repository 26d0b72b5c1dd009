import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Instance } from '../model/index.js';
import type { Logger } from '../util/log.js';
import type { HostFilePaths } from './exec/container-config.js';

/**
 * Secrets and configs on the node, as Swarm's agent keeps them: only the ones
 * the manager sent (it sends them only with instances that use them), written
 * into a tmpfs the agent mounts for itself (mode 0700, never a disk), one
 * directory per instance with each reference's owner and mode, bind-mounted
 * read-only into the container by the translation. An instance's files go
 * when it leaves the node; the tmpfs goes when the node leaves the cluster or
 * the agent stops. Stopping detaches it lazily (`umount -l`): running
 * containers keep the files their bind mounts hold (live-restore), nothing is
 * left on the host's tree, and the next agent mounts a fresh one.
 */
export interface HostFiles {
  /** The data the manager sent (base64), or undefined when it left the set. */
  setData(kind: 'secret' | 'config', id: string, dataBase64: string | undefined): void;
  /** Writes the instance's files; their paths by reference id. */
  materialise(instance: Instance): Promise<HostFilePaths>;
  /** The instance left the node: its files go. */
  release(instanceId: string): Promise<void>;
  /** Files of instances not in `keep` go (after a full assignment set). */
  retain(keep: ReadonlySet<string>): Promise<void>;
  /** The agent stops: the tmpfs leaves the host's tree (running containers keep their files). */
  close(): Promise<void>;
  /** The node leaves: everything goes, the tmpfs too. */
  purge(): Promise<void>;
}

/** Mounts and unmounts a tmpfs; a port so tests (and unprivileged runs) can bring their own. */
export interface TmpfsMounter {
  isMounted(dir: string): Promise<boolean>;
  mount(dir: string): Promise<void>;
  /** `lazy`: detach now, free once no container holds a file from it. */
  unmount(dir: string, lazy: boolean): Promise<void>;
}

const run = promisify(execFile);

/** /proc/self/mountinfo's 5th field is the mount point (octal escapes for spaces and the like). */
function mountPoints(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p !== '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export const systemTmpfs: TmpfsMounter = {
  async isMounted(dir) {
    const info = await readFile('/proc/self/mountinfo', 'utf8');
    return mountPoints(info).includes(resolve(dir));
  },
  async mount(dir) {
    // noexec, nosuid, nodev: data only. The size bounds what a cluster can pin in this node's RAM.
    await run('mount', ['-t', 'tmpfs', '-o', 'mode=0700,size=64m,noexec,nosuid,nodev', 'stevedore-files', dir]);
  },
  async unmount(dir, lazy) {
    await run('umount', lazy ? ['-l', dir] : [dir]);
  },
};

/** Where an agent mounts its secrets tmpfs: `<run dir>/files`, the run dir defaulting to `<state dir>/run`. */
export function hostFilesDir(stateDir: string, runDir?: string): string {
  return join(runDir ?? join(stateDir, 'run'), 'files');
}

export interface TmpfsHostFilesOptions {
  /** The tmpfs mount point, e.g. /run/stevedore/agent/files. */
  readonly dir: string;
  readonly log: Logger;
  readonly mounter?: TmpfsMounter;
}

const safeId = /^[A-Za-z0-9_.-]+$/;

export class TmpfsHostFiles implements HostFiles {
  private readonly data = { secret: new Map<string, string>(), config: new Map<string, string>() };
  private readonly mounter: TmpfsMounter;
  private mounted: Promise<void> | undefined;

  constructor(private readonly opts: TmpfsHostFilesOptions) {
    this.mounter = opts.mounter ?? systemTmpfs;
  }

  get dir(): string {
    return this.opts.dir;
  }

  setData(kind: 'secret' | 'config', id: string, dataBase64: string | undefined): void {
    if (dataBase64 === undefined) this.data[kind].delete(id);
    else this.data[kind].set(id, dataBase64);
  }

  /** Mounted once, lazily: a node that never runs a secret never mounts anything. */
  private ensureMounted(): Promise<void> {
    this.mounted ??= (async () => {
      await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
      await chmod(this.opts.dir, 0o700);
      if (!(await this.mounter.isMounted(this.opts.dir))) {
        await this.mounter.mount(this.opts.dir);
        this.opts.log.info({ dir: this.opts.dir }, 'mounted the tmpfs for secrets and configs');
      }
    })().catch((err: unknown) => {
      this.mounted = undefined;
      // Never fall back to a disk: the instance fails with the reason instead.
      throw new Error(`cannot mount a tmpfs for secrets at ${this.opts.dir}: ${(err as Error).message}`);
    });
    return this.mounted;
  }

  async materialise(instance: Instance): Promise<HostFilePaths> {
    const secrets: Record<string, string> = {};
    const configs: Record<string, string> = {};
    const refs = instance.template.containers.flatMap((c) => [
      ...c.secrets.map((r) => ({ kind: 'secret' as const, ref: r })),
      ...c.configs.map((r) => ({ kind: 'config' as const, ref: r })),
    ]);
    if (refs.length === 0 || !safeId.test(instance.id)) return { secrets, configs };
    await this.ensureMounted();
    const base = join(this.opts.dir, instance.id);
    await mkdir(base, { recursive: true, mode: 0o755 });
    for (const { kind, ref } of refs) {
      const out = kind === 'secret' ? secrets : configs;
      if (out[ref.id] !== undefined || !safeId.test(ref.id)) continue;
      const b64 = this.data[kind].get(ref.id);
      if (b64 === undefined) throw new Error(`${kind} ${ref.name} (${ref.id}) was not sent to this node`);
      const path = join(base, `${kind}-${ref.id}`);
      // Written 0600 first, owner and mode after: the data is never readable by others in between.
      await writeFile(path, Buffer.from(b64, 'base64'), { mode: 0o600 });
      await chown(path, uidOf(ref.target.uid), uidOf(ref.target.gid));
      await chmod(path, ref.target.mode & 0o7777);
      out[ref.id] = path;
    }
    return { secrets, configs };
  }

  async release(instanceId: string): Promise<void> {
    if (!safeId.test(instanceId) || this.mounted === undefined) return;
    await rm(join(this.opts.dir, instanceId), { recursive: true, force: true });
  }

  async retain(keep: ReadonlySet<string>): Promise<void> {
    if (!(await this.isOurs())) return;
    for (const name of await readdir(this.opts.dir).catch(() => [] as string[])) {
      if (!keep.has(name)) await rm(join(this.opts.dir, name), { recursive: true, force: true });
    }
  }

  /** Our tmpfs is mounted (now, or by an earlier agent on this host). */
  private async isOurs(): Promise<boolean> {
    if (this.mounted !== undefined) return true;
    try {
      if (!(await this.mounter.isMounted(this.opts.dir))) return false;
    } catch {
      return false;
    }
    this.mounted = Promise.resolve();
    return true;
  }

  async close(): Promise<void> {
    if (!(await this.isOurs())) return;
    await this.unmount(true);
  }

  async purge(): Promise<void> {
    if (!(await this.isOurs())) return;
    for (const name of await readdir(this.opts.dir).catch(() => [] as string[])) await rm(join(this.opts.dir, name), { recursive: true, force: true });
    await this.unmount(true);
  }

  private async unmount(lazy: boolean): Promise<void> {
    try {
      await this.mounter.unmount(this.opts.dir, lazy);
      this.mounted = undefined;
    } catch (err) {
      this.opts.log.warn({ err, dir: this.opts.dir }, 'could not unmount the tmpfs for secrets');
    }
  }
}

function uidOf(s: string): number {
  const n = Number(s === '' ? '0' : s);
  if (!Number.isInteger(n) || n < 0) throw new Error(`invalid uid/gid ${JSON.stringify(s)} (Swarm takes numbers)`);
  return n;
}
