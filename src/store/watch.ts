import type { ObjectKind } from '../model/index.js';
import { unavailable, type StevedoreError } from '../util/errors.js';
import type { WatchEvent } from './store.js';

/**
 * One watcher's queue: events are pushed synchronously at commit, in commit
 * order, and pulled asynchronously by a `for await` loop.
 *
 * Back-pressure: the queue is bounded. A watcher that falls more than `limit`
 * events behind is failed, as swarmkit closes a slow watcher's queue, rather
 * than letting one stuck consumer hold the whole history in memory. Unlike a
 * silent close, the failure is an error thrown from the loop (`unavailable`),
 * so the consumer knows it missed events and re-syncs with `viewAndWatch`.
 *
 * Ending: `end()` (store closed) lets the consumer drain what was already
 * committed and then finishes; aborting the signal or breaking out of the loop
 * drops the queue at once.
 */
export class Watcher implements AsyncIterableIterator<WatchEvent> {
  private queue: WatchEvent[] = [];
  private head = 0;
  private readonly waiting: { resolve: (r: IteratorResult<WatchEvent>) => void; reject: (e: unknown) => void }[] = [];
  private ended = false;
  private failure: StevedoreError | undefined;
  private readonly kinds: ReadonlySet<ObjectKind> | undefined;
  private unbindSignal: (() => void) | undefined;

  constructor(
    private readonly limit: number,
    kinds: readonly ObjectKind[] | undefined,
    private readonly detach: (w: Watcher) => void,
    /** The store version when the watch began: commits up to it are not this watcher's (see MemoryStore's group commit). */
    readonly since = 0,
  ) {
    this.kinds = kinds === undefined ? undefined : new Set(kinds);
  }

  wants(kind: ObjectKind): boolean {
    return !this.ended && (this.kinds === undefined || this.kinds.has(kind));
  }

  push(event: WatchEvent): void {
    if (this.ended) return;
    const waiter = this.waiting.shift();
    if (waiter !== undefined) {
      waiter.resolve({ value: event, done: false });
      return;
    }
    if (this.queue.length - this.head >= this.limit) {
      this.fail(unavailable(`store watch fell more than ${this.limit} events behind and was closed; re-sync with viewAndWatch`));
      return;
    }
    this.queue.push(event);
  }

  /** Graceful end: queued events are still delivered, then the loop finishes. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.unbindSignal?.();
    this.detach(this);
    for (const w of this.waiting.splice(0)) w.resolve({ value: undefined, done: true });
  }

  /** Drop everything and finish now (abort, `break`). */
  private stop(): void {
    this.queue = [];
    this.head = 0;
    this.end();
  }

  /** Drop the queue and throw `err` from the loop (fallen behind, or the store broke). */
  fail(err: StevedoreError): void {
    this.failure = err;
    this.stop();
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined; // thrown once; the iterator is done afterwards
      return Promise.reject(err);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<WatchEvent>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Ends on abort; a signal aborted before the watch started ends it at once. */
  bindSignal(signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    if (signal.aborted) {
      this.stop();
      return;
    }
    const onAbort = (): void => this.stop();
    signal.addEventListener('abort', onAbort, { once: true });
    // Drop the listener once we end for another reason, so a long-lived signal does not keep us alive.
    this.unbindSignal = () => signal.removeEventListener('abort', onAbort);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
