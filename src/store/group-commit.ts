import { closeSync, fsync as fsyncCallback, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * fsyncs of one file, shared: `sync()` resolves once everything written to the
 * file before the call is on disk. At most one fsync runs at a time (on libuv's
 * thread pool); callers arriving meanwhile wait for the next, which covers all
 * of them. An fsync starts once the current run of code is done (a microtask),
 * so commits made in one turn share the first one. A write made while an fsync
 * runs may or may not be in it, so each fsync only answers for the writes
 * counted before it began.
 */
export class GroupCommit {
  private fd: number | undefined;
  /** fsyncs done, for tests and the store benchmark. */
  fsyncs = 0;
  private written = 0;
  private flushed = 0;
  private running: Promise<void> | undefined;
  private readonly waiting: { readonly upTo: number; readonly resolve: () => void; readonly reject: (err: unknown) => void }[] = [];
  private failure: Error | undefined;

  constructor(
    private readonly path: string,
    private readonly fsync: (fd: number) => Promise<void> = fsyncOnPool,
  ) {}

  /** One more write is in the file (called after it returned). */
  appended(): void {
    this.written++;
  }

  sync(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const upTo = this.written;
    if (upTo <= this.flushed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ upTo, resolve, reject });
      this.running ??= Promise.resolve().then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    while (this.waiting.length > 0) {
      const upTo = this.written;
      try {
        this.fsyncs++;
        await this.fsync(this.open());
      } catch (err) {
        // After a failed fsync the kernel may have dropped the dirty pages: retrying proves nothing.
        this.failure = err instanceof Error ? err : new Error(String(err));
        for (const w of this.waiting.splice(0)) w.reject(this.failure);
        break;
      }
      this.flushed = upTo;
      while (this.waiting.length > 0 && this.waiting[0]!.upTo <= upTo) this.waiting.shift()!.resolve();
    }
    this.running = undefined;
  }

  /** The log file exists once SQLite wrote to it; its directory entry is made durable with the first fsync. */
  private open(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.path, 'r');
      const dir = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
    return this.fd;
  }

  async close(): Promise<void> {
    await this.running;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** node:fs's callback fsync runs on libuv's thread pool: the event loop goes on meanwhile. */
function fsyncOnPool(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsyncCallback(fd, (err) => (err ? reject(err) : resolve())));
}
