import {
  signingMaterial,
  signingRootPem,
  trustBundle,
  type CaMaterial,
  type RootCaState,
  type RootRotation,
  type SigningMaterial,
} from '../pki/ca.js';

/**
 * Where the CA's keys live between processes. The store holds only the public
 * parts of a rotation (src/model/cluster.ts RootCaInfo); the keys stay with the
 * PKI: the gateway's pki directory (`filePersistence` in index.ts), or nowhere
 * for tests (`memoryPersistence`).
 */
export interface RootCaPersistence {
  saveRotation(rotation: RootRotation | undefined): Promise<void>;
  /** The rotation's root becomes the CA (the old key is destroyed). */
  complete(newCa: CaMaterial): Promise<void>;
}

export const memoryPersistence: RootCaPersistence = {
  saveRotation: async () => undefined,
  complete: async () => undefined,
};

/** What signs and what is trusted, read at each use: the dispatcher and the manager share one. */
export interface RootCaSource {
  state(): RootCaState;
  signer(): SigningMaterial;
  /** The roots managers trust (both during a rotation). */
  trustPem(): string;
}

export type RootCaChange = 'rotation-started' | 'rotation-aborted' | 'rotation-completed';

/**
 * The cluster's CA in this process: the root, the rotation under way, and who
 * wants to know when either changes (the dispatcher's TLS, the gateway's
 * TLS). Every change is persisted before it is visible.
 */
export class ClusterRootCa implements RootCaSource {
  private current: RootCaState;
  private readonly listeners = new Set<(change: RootCaChange) => void>();

  constructor(
    initial: RootCaState,
    private readonly persistence: RootCaPersistence = memoryPersistence,
  ) {
    this.current = initial;
  }

  state(): RootCaState {
    return this.current;
  }

  signer(): SigningMaterial {
    return signingMaterial(this.current);
  }

  trustPem(): string {
    return trustBundle(this.current);
  }

  /** The root that signs leaves now (the new one during a rotation). */
  signingRootPem(): string {
    return signingRootPem(this.current);
  }

  onChange(listener: (change: RootCaChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: RootCaChange): void {
    for (const l of this.listeners) l(change);
  }

  /** Keeps the rotation's key before anyone may be told about it (the store write comes after). */
  async persistRotation(rotation: RootRotation | undefined): Promise<void> {
    await this.persistence.saveRotation(rotation);
  }

  /** Makes a persisted rotation (or its absence) the one in use. */
  useRotation(rotation: RootRotation | undefined): void {
    const had = this.current.rotation !== undefined;
    this.current = rotation === undefined ? { root: this.current.root } : { root: this.current.root, rotation };
    if (rotation !== undefined) this.emit('rotation-started');
    else if (had) this.emit('rotation-aborted');
  }

  async complete(): Promise<void> {
    const r = this.current.rotation;
    if (r === undefined) return;
    await this.persistence.complete(r.newCa);
    this.current = { root: r.newCa };
    this.emit('rotation-completed');
  }
}
