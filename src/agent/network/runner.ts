import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

/**
 * How the adapters run iproute2/bridge/iptables/wg on the host: execFile, never
 * a shell, optionally inside a network namespace (the test bed's hosts are
 * namespaces; a real agent runs in the host's own and passes none).
 */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandRunner {
  /** Runs and resolves with the exit code; never rejects for a non-zero exit. */
  run(file: string, args: readonly string[], options?: { readonly input?: string }): Promise<CommandResult>;
  /** Starts a long-lived daemon detached, output appended to `logFile`; returns its PID. */
  spawnDaemon(file: string, args: readonly string[], logFile: string, env?: Readonly<Record<string, string>>): number;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
  ) {
    super(`\`${argv.join(' ')}\` exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

export class ExecRunner implements CommandRunner {
  /** `netnsPath`: e.g. /var/run/netns/stv-tb1; absent = the current namespace. */
  constructor(readonly netnsPath?: string) {}

  private argv(file: string, args: readonly string[]): [string, string[]] {
    return this.netnsPath === undefined ? [file, [...args]] : ['nsenter', [`--net=${this.netnsPath}`, '--', file, ...args]];
  }

  run(file: string, args: readonly string[], options: { readonly input?: string } = {}): Promise<CommandResult> {
    const [f, a] = this.argv(file, args);
    return new Promise((resolve, reject) => {
      const child = execFile(f, a, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(err); // ENOENT: no such program
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
      if (options.input !== undefined) {
        // A program that exits before reading its input (nsenter into a container that has
        // just gone) closes the pipe: EPIPE on our end. Its exit code and stderr say what
        // happened; unheard, the error event would end the whole process.
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(options.input);
      }
    });
  }

  spawnDaemon(file: string, args: readonly string[], logFile: string, env: Readonly<Record<string, string>> = {}): number {
    const [f, a] = this.argv(file, args);
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(f, a, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
      child.unref();
      if (child.pid === undefined) throw new Error(`could not start ${file}`);
      return child.pid;
    } finally {
      closeSync(fd);
    }
  }
}

/** Runs and throws CommandError unless the exit code is 0. */
export async function must(runner: CommandRunner, file: string, args: readonly string[], options?: { readonly input?: string }): Promise<string> {
  const r = await runner.run(file, args, options);
  if (r.code !== 0) throw new CommandError([file, ...args], r);
  return r.stdout;
}
