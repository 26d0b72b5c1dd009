import { ObjectKinds, type AnyObject, type ObjectKind, type ObjectsByKind } from '../model/index.js';
import { systemClock, type Clock } from '../util/clock.js';
import { conflict, invalidParameter, notFound, system, unavailable, type StevedoreError } from '../util/errors.js';
import { deepFreeze } from './freeze.js';
import { nameOf, nouns, uniqueNameKinds } from './kinds.js';
import type { NewObject, ReadTx, Store, WatchEvent, WatchOptions, WriteTx } from './store.js';
import { Watcher } from './watch.js';

/** The net effect of one transaction on one object: its final state, or undefined once deleted. */
export interface Change {
  readonly kind: ObjectKind;
  readonly id: string;
  readonly object: AnyObject | undefined;
}

export interface Commit {
  readonly version: number;
  readonly changes: readonly Change[];
}

/**
 * Where a durable store writes each commit (the port SqliteStore plugs into).
 *
 * `append` is synchronous on purpose: the commit is in the log before memory
 * moves on, so commits reach the log in the order they were made, and a
 * transaction never spans an `await`. If `append` throws, the transaction is
 * rolled back in memory and the caller's promise rejects.
 *
 * `sync`, when the journal has one, is the group commit: it resolves once every
 * commit appended before the call is durable, and one flush serves all the
 * commits made while the previous flush was under way. The store then tells
 * nobody of a commit, neither its writer nor any watcher, before its `sync`
 * resolves; only reads see it earlier (the next transaction must build on it).
 * A power cut can so lose only a tail of commits that no writer was told of
 * and no watcher heard of; a reader may have seen them (an agent sent such a
 * task removes its container once the manager no longer assigns it). Without
 * `sync`, `append` itself is taken as durable.
 */
export interface Journal {
  append(commit: Commit): void;
  readonly sync?: (() => Promise<void>) | undefined;
}

export interface MemoryStoreOptions {
  readonly clock?: Clock;
  readonly journal?: Journal;
  /** State to start from (a durable store's contents at open). */
  readonly initial?: { readonly version: number; readonly objects: Iterable<{ readonly kind: ObjectKind; readonly object: AnyObject }> };
  /** Events a watcher may fall behind before it is failed (see watch.ts). */
  readonly watchQueueLimit?: number;
}

export const defaultWatchQueueLimit = 100_000;

type Table = Map<string, AnyObject>;

/**
 * The in-memory store. Every read is served from here, also by SqliteStore,
 * which only adds a journal. Transactions are synchronous, so they are
 * serialised by the event loop: a write is applied to the live tables with an
 * undo record, and rolled back from it when the transaction function (or the
 * journal) throws. No other code can run in between, so no reader ever sees
 * an uncommitted write — except a `view` nested inside the transaction itself.
 */
export class MemoryStore implements Store {
  private readonly tables = new Map<ObjectKind, Table>(ObjectKinds.map((k) => [k, new Map()]));
  /** kind → name → ids; for unique kinds each set holds at most one id. */
  private readonly names = new Map<ObjectKind, Map<string, Set<string>>>(ObjectKinds.map((k) => [k, new Map()]));
  private readonly watchers = new Set<Watcher>();
  private readonly clock: Clock;
  private readonly journal: Journal | undefined;
  private readonly watchQueueLimit: number;
  private current = 0;
  private writing = false;
  private closed = false;
  /** Commits in the log whose `sync` has not resolved yet: their events wait here, in commit order. */
  private readonly undelivered: { readonly version: number; readonly events: readonly WatchEvent[] }[] = [];
  /** The journal could not make the log durable: no write is accepted any more. */
  private broken: StevedoreError | undefined;
  private readonly reader: ReadTx;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.journal = options.journal;
    this.watchQueueLimit = options.watchQueueLimit ?? defaultWatchQueueLimit;
    if (options.initial !== undefined) this.load(options.initial);
    this.reader = new Reader(this);
  }

  get version(): number {
    return this.current;
  }

  view<T>(fn: (tx: ReadTx) => T): T {
    return fn(this.reader);
  }

  update<T>(fn: (tx: WriteTx) => T): Promise<T> {
    if (this.closed) return Promise.reject(unavailable('the store is closed'));
    if (this.broken !== undefined) return Promise.reject(this.broken);
    // A nested update would commit inside its parent and could not be rolled back with it.
    if (this.writing) throw system('store.update called inside another store.update');
    this.writing = true;
    const tx = new Transaction(this, this.current + 1, this.clock.now());
    try {
      const result = fn(tx);
      if (isThenable(result)) throw system('store.update: the transaction function must be synchronous (it returned a promise)');
      tx.close();
      if (!this.commit(tx) || this.journal?.sync === undefined) return Promise.resolve(result);
      return this.durable(tx.commitVersion).then(() => result);
    } catch (err) {
      tx.close();
      tx.rollback();
      return Promise.reject(err);
    } finally {
      this.writing = false;
    }
  }

  watch(options: WatchOptions = {}): AsyncIterable<WatchEvent> {
    if (this.closed) throw unavailable('the store is closed');
    if (this.broken !== undefined) throw this.broken;
    // `since`: a commit still waiting for its sync is in the state a snapshot taken now sees, so its events are not this watcher's.
    const w = new Watcher(this.watchQueueLimit, options.kinds, (x) => this.watchers.delete(x), this.current);
    this.watchers.add(w);
    w.bindSignal(options.signal);
    return w;
  }

  viewAndWatch<T>(fn: (tx: ReadTx) => T, options?: WatchOptions): { readonly result: T; readonly events: AsyncIterable<WatchEvent> } {
    // Both happen in one turn of the event loop and commits are synchronous,
    // so no commit can fall between the snapshot and the start of the stream.
    const events = this.watch(options);
    try {
      return { result: this.view(fn), events };
    } catch (err) {
      void events[Symbol.asyncIterator]().return?.();
      throw err;
    }
  }

  /** Ends every watcher (after it drains what was committed) and refuses further writes; reads keep working. */
  async close(): Promise<void> {
    this.closed = true;
    // Commits still on their way to disk are delivered before the watchers end.
    if (this.undelivered.length > 0 && this.broken === undefined) await this.durable(this.current).catch(() => undefined);
    for (const w of [...this.watchers]) w.end();
  }

  // ---- internals shared with Reader and Transaction ----

  /** @internal */
  table(kind: ObjectKind): Table {
    const t = this.tables.get(kind);
    if (t === undefined) throw invalidParameter(`unknown object kind ${JSON.stringify(kind)}`);
    return t;
  }

  /** @internal */
  idsNamed(kind: ObjectKind, name: string): ReadonlySet<string> | undefined {
    return this.names.get(kind)?.get(name);
  }

  /** @internal Puts (object) or removes (undefined) one object, keeping the name index in step. */
  put(kind: ObjectKind, id: string, object: AnyObject | undefined): void {
    const table = this.table(kind);
    const names = this.names.get(kind)!;
    const old = table.get(id);
    const oldName = old === undefined ? undefined : nameOf(old);
    if (oldName !== undefined) {
      const ids = names.get(oldName);
      ids?.delete(id);
      if (ids?.size === 0) names.delete(oldName);
    }
    if (object === undefined) {
      table.delete(id);
      return;
    }
    table.set(id, object);
    const name = nameOf(object);
    if (name !== undefined) {
      let ids = names.get(name);
      if (ids === undefined) names.set(name, (ids = new Set()));
      ids.add(id);
    }
  }

  /** False for a read-only transaction, which commits nothing. */
  private commit(tx: Transaction): boolean {
    if (tx.events.length === 0) return false;
    const changes = tx.changes();
    try {
      this.journal?.append({ version: tx.commitVersion, changes });
    } catch (err) {
      tx.rollback();
      throw system('the store could not commit the transaction', err);
    }
    this.current = tx.commitVersion;
    if (this.journal?.sync === undefined) this.deliver(tx.commitVersion, tx.events);
    else this.undelivered.push({ version: tx.commitVersion, events: tx.events });
    return true;
  }

  /**
   * Resolves once commit `version` is durable, after its events (and those of
   * every commit before it: the log is durable as a prefix) reached the
   * watchers. A failed sync breaks the store: what memory holds may not be on
   * disk, so every watcher is failed and no write is accepted; the process
   * must restart from what the disk has.
   */
  private durable(version: number): Promise<void> {
    return this.journal!.sync!().then(
      () => {
        while (this.undelivered.length > 0 && this.undelivered[0]!.version <= version) {
          const c = this.undelivered.shift()!;
          this.deliver(c.version, c.events);
        }
      },
      (err: unknown) => {
        this.broken ??= unavailable(`the store could not make its log durable and accepts no more writes (restart to recover from disk): ${err instanceof Error ? err.message : String(err)}`);
        this.undelivered.length = 0;
        for (const w of [...this.watchers]) w.fail(this.broken);
        throw this.broken;
      },
    );
  }

  private deliver(version: number, events: readonly WatchEvent[]): void {
    for (const event of events) {
      for (const w of this.watchers) if (w.since < version && w.wants(event.kind)) w.push(event);
    }
  }

  private load(initial: NonNullable<MemoryStoreOptions['initial']>): void {
    let highest = 0;
    for (const { kind, object } of initial.objects) {
      const name = nameOf(object);
      if (this.table(kind).has(object.id)) throw system(`corrupt store: ${kind} ${object.id} appears twice`);
      if (name !== undefined && uniqueNameKinds.has(kind) && (this.idsNamed(kind, name)?.size ?? 0) > 0) {
        throw system(`corrupt store: two ${kind} objects are named ${JSON.stringify(name)}`);
      }
      this.put(kind, object.id, deepFreeze(object));
      highest = Math.max(highest, object.version);
    }
    if (highest > initial.version) throw system(`corrupt store: an object has version ${highest}, above the store version ${initial.version}`);
    this.current = initial.version;
  }
}

function isThenable(x: unknown): boolean {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

class Reader implements ReadTx {
  constructor(protected readonly store: MemoryStore) {}

  get version(): number {
    return this.store.version;
  }

  get<K extends ObjectKind>(kind: K, id: string): ObjectsByKind[K] | undefined {
    return this.store.table(kind).get(id) as ObjectsByKind[K] | undefined;
  }

  list<K extends ObjectKind>(kind: K, where?: (o: ObjectsByKind[K]) => boolean): readonly ObjectsByKind[K][] {
    const out: ObjectsByKind[K][] = [];
    for (const o of this.store.table(kind).values() as MapIterator<ObjectsByKind[K]>) if (where === undefined || where(o)) out.push(o);
    return out;
  }

  byName<K extends ObjectKind>(kind: K, name: string): ObjectsByKind[K] | undefined {
    const found = this.allByName(kind, name);
    if (found.length > 1) throw invalidParameter(`${nouns[kind]} ${name} is ambiguous (${found.length} matches found)`);
    return found[0];
  }

  allByName<K extends ObjectKind>(kind: K, name: string): readonly ObjectsByKind[K][] {
    const ids = this.store.idsNamed(kind, name);
    if (ids === undefined) return [];
    const table = this.store.table(kind);
    return [...ids].map((id) => table.get(id)! as ObjectsByKind[K]);
  }
}

class Transaction extends Reader implements WriteTx {
  readonly events: WatchEvent[] = [];
  /** "kind\0id" → the object before this transaction touched it. */
  private readonly before = new Map<string, { kind: ObjectKind; id: string; object: AnyObject | undefined }>();
  private open = true;

  constructor(
    store: MemoryStore,
    /** The index this transaction commits at, stamped on everything it writes. */
    readonly commitVersion: number,
    private readonly now: number,
  ) {
    super(store);
  }

  create<K extends ObjectKind>(kind: K, object: NewObject<K>): ObjectsByKind[K] {
    this.checkOpen();
    const id = (object as { id?: unknown }).id;
    if (typeof id !== 'string' || id === '') throw invalidParameter(`${nouns[kind]} id must be a non-empty string`);
    const table = this.store.table(kind);
    if (table.has(id)) throw conflict(`${nouns[kind]} ${id} already exists`);
    const stored = deepFreeze({ ...object, version: this.commitVersion, createdAt: this.now, updatedAt: this.now }) as unknown as ObjectsByKind[K];
    this.checkName(kind, stored, undefined);
    this.write(kind, id, stored);
    this.events.push({ action: 'create', kind, object: stored, version: this.commitVersion } as WatchEvent);
    return stored;
  }

  update<K extends ObjectKind>(kind: K, object: ObjectsByKind[K]): ObjectsByKind[K] {
    this.checkOpen();
    const old = this.store.table(kind).get(object.id) as ObjectsByKind[K] | undefined;
    if (old === undefined) throw notFound(`${nouns[kind]} ${object.id} not found`);
    if (object.version !== old.version) throw conflict('update out of sequence');
    // createdAt is the store's, not the caller's to rewrite.
    const stored = deepFreeze({ ...object, version: this.commitVersion, createdAt: old.createdAt, updatedAt: this.now });
    this.checkName(kind, stored, old);
    this.write(kind, object.id, stored);
    this.events.push({ action: 'update', kind, object: stored, old, version: this.commitVersion } as WatchEvent);
    return stored;
  }

  delete(kind: ObjectKind, id: string): void {
    this.checkOpen();
    const old = this.store.table(kind).get(id);
    if (old === undefined) throw notFound(`${nouns[kind]} ${id} not found`);
    this.write(kind, id, undefined);
    this.events.push({ action: 'delete', kind, object: old, version: this.commitVersion } as WatchEvent);
  }

  /** No write is accepted once the transaction function has returned. */
  close(): void {
    this.open = false;
  }

  /** The final state of every object this transaction touched. */
  changes(): Change[] {
    return [...this.before.values()].map(({ kind, id }) => ({ kind, id, object: this.store.table(kind).get(id) }));
  }

  rollback(): void {
    for (const { kind, id, object } of this.before.values()) this.store.put(kind, id, object);
    this.before.clear();
    this.events.length = 0;
  }

  private write(kind: ObjectKind, id: string, object: AnyObject | undefined): void {
    const key = `${kind}\0${id}`;
    if (!this.before.has(key)) this.before.set(key, { kind, id, object: this.store.table(kind).get(id) });
    this.store.put(kind, id, object);
  }

  private checkName(kind: ObjectKind, next: AnyObject, old: AnyObject | undefined): void {
    if (!uniqueNameKinds.has(kind)) return;
    const name = nameOf(next);
    if (name === undefined || (old !== undefined && nameOf(old) === name)) return;
    const holders = this.store.idsNamed(kind, name);
    if (holders !== undefined && [...holders].some((id) => id !== next.id)) throw conflict(`${nouns[kind]} ${name} already exists`);
  }

  private checkOpen(): void {
    if (!this.open) throw system('write on a store transaction that has already ended');
  }
}
