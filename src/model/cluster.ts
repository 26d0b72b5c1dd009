import type { Annotations, ObjectMeta } from './meta.js';

/** The cluster-wide settings `docker swarm init/update` write. */
export interface ClusterSpec extends Annotations {
  readonly orchestration: { readonly taskHistoryRetentionLimit: number }; // Swarm default 5
  readonly dispatcher: { readonly heartbeatPeriodMs: number }; // Swarm default 5 s
  /** nodeCertExpiryMs: Swarm default 90 days; forceRotate: `docker swarm ca --rotate` bumps it to ask for a new root. */
  readonly caConfig: { readonly nodeCertExpiryMs: number; readonly forceRotate?: number };
  readonly raft: { readonly snapshotInterval: number; readonly keepOldSnapshots: number; readonly logEntriesForSlowFollowers: number; readonly heartbeatTick: number; readonly electionTick: number };
  readonly taskDefaults: { readonly logDriver?: { readonly name: string; readonly options: Readonly<Record<string, string>> } };
  readonly encryptionConfig: { readonly autoLockManagers: boolean };
  /** Beyond Swarm: what instance templates may ask for (privileged, devices, host ipc/pid, …). */
  readonly policy: { readonly allowPrivileged: boolean; readonly allowDevices: boolean; readonly allowHostNamespaces: boolean };
}

export interface JoinTokens {
  readonly worker: string;
  readonly manager: string;
}

export interface Cluster extends ObjectMeta {
  readonly spec: ClusterSpec;
  readonly joinTokens: JoinTokens;
  readonly rootCa: RootCaInfo;
  readonly defaultAddrPool: readonly string[]; // Swarm default ["10.0.0.0/8"]
  readonly subnetSize: number; // Swarm default 24
  readonly dataPathPort: number; // Swarm default 4789
}

/**
 * The cluster's root CA as the store knows it: public parts only. The keys
 * stay with the PKI (the gateway's pki directory), as Swarm keeps CAKey out
 * of every API answer.
 */
export interface RootCaInfo {
  /** The root every node trusts; the join tokens' digest is over it. */
  readonly certPem: string;
  readonly digest: string;
  readonly rotationInProgress: boolean;
  /** The CAConfig.ForceRotate value last acted on (Swarm's LastForcedRotation). */
  readonly lastForcedRotation?: number;
  /** While a rotation runs: the next root and the cross-signed certificate bridging to it. */
  readonly rotation?: { readonly certPem: string; readonly crossSignedCertPem: string };
}
