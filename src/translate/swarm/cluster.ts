import type { Cluster, ClusterSpec } from '../../model/index.js';
import { isoTime } from '../../util/clock.js';
import { invalidParameter } from '../../util/errors.js';
import type { TrustInfo } from './node.js';
import { parseLabels } from './node.js';

/**
 * The model's Cluster ⇄ Swarm's ClusterInfo / Swarm / SwarmSpec JSON. Pure.
 * Durations are milliseconds in the model and nanoseconds on the wire.
 */

const NS_PER_MS = 1_000_000;
/** Swarm's MinNodeCertExpiration. */
export const MIN_NODE_CERT_EXPIRY_MS = 60 * 60 * 1000;
/** The only cluster name Swarm accepts (store.DefaultClusterName). */
export const DEFAULT_CLUSTER_NAME = 'default';

export type Json = Record<string, unknown>;

export function swarmSpecToJson(spec: ClusterSpec): Json {
  const logDriver = spec.taskDefaults.logDriver;
  return {
    Name: spec.name,
    Labels: { ...spec.labels },
    Orchestration: { TaskHistoryRetentionLimit: spec.orchestration.taskHistoryRetentionLimit },
    Raft: {
      SnapshotInterval: spec.raft.snapshotInterval,
      KeepOldSnapshots: spec.raft.keepOldSnapshots,
      LogEntriesForSlowFollowers: spec.raft.logEntriesForSlowFollowers,
      ElectionTick: spec.raft.electionTick,
      HeartbeatTick: spec.raft.heartbeatTick,
    },
    Dispatcher: { HeartbeatPeriod: spec.dispatcher.heartbeatPeriodMs * NS_PER_MS },
    // ForceRotate is omitted at zero (Go's omitempty); SigningCACert/Key are never shown (moby's SwarmFromGRPC).
    CAConfig: { NodeCertExpiry: spec.caConfig.nodeCertExpiryMs * NS_PER_MS, ...(spec.caConfig.forceRotate ? { ForceRotate: spec.caConfig.forceRotate } : {}) },
    TaskDefaults: logDriver ? { LogDriver: { Name: logDriver.name, Options: { ...logDriver.options } } } : {},
    EncryptionConfig: { AutoLockManagers: spec.encryptionConfig.autoLockManagers },
  };
}

/** ClusterInfo: what /info shows under Swarm.Cluster, and GET /swarm minus the join tokens. */
export function clusterToClusterInfo(cluster: Cluster, trust: TrustInfo): Json {
  return {
    ID: cluster.id,
    Version: { Index: cluster.version },
    CreatedAt: isoTime(cluster.createdAt),
    UpdatedAt: isoTime(cluster.updatedAt),
    Spec: swarmSpecToJson(cluster.spec),
    TLSInfo: { TrustRoot: trust.trustRoot, CertIssuerSubject: trust.certIssuerSubject, CertIssuerPublicKey: trust.certIssuerPublicKey },
    RootRotationInProgress: cluster.rootCa.rotationInProgress,
    DefaultAddrPool: [...cluster.defaultAddrPool],
    SubnetSize: cluster.subnetSize,
    DataPathPort: cluster.dataPathPort,
  };
}

/** GET /swarm. */
export function clusterToSwarm(cluster: Cluster, trust: TrustInfo): Json {
  return { ...clusterToClusterInfo(cluster, trust), JoinTokens: { Worker: cluster.joinTokens.worker, Manager: cluster.joinTokens.manager } };
}

function isRecord(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function section(body: Json, key: string): Json | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw invalidParameter(`invalid ${key}: want an object`);
  return v;
}

function integer(obj: Json | undefined, key: string, where: string): number | undefined {
  const v = obj?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidParameter(`invalid ${where}.${key}: want an integer`);
  return v;
}

/**
 * Applies a SwarmSpec from `swarm init` / `swarm update` onto `current` the way
 * the daemon does (moby's MergeSwarmSpecToGRPC): a field that is absent or zero
 * keeps its current value, except AutoLockManagers which is always taken.
 * Then Swarm's own checks (controlapi validateClusterSpec), with its messages.
 */
export function mergeSwarmSpec(current: ClusterSpec, body: unknown): ClusterSpec {
  if (body === undefined || body === null) return current;
  if (!isRecord(body)) throw invalidParameter('swarm spec must be a JSON object');

  const name = body['Name'];
  if (name !== undefined && name !== null && typeof name !== 'string') throw invalidParameter('invalid Name: want a string');
  const orchestration = section(body, 'Orchestration');
  const raft = section(body, 'Raft');
  const dispatcher = section(body, 'Dispatcher');
  const caConfig = section(body, 'CAConfig');
  const encryption = section(body, 'EncryptionConfig');
  const taskDefaults = section(body, 'TaskDefaults');

  const retention = integer(orchestration, 'TaskHistoryRetentionLimit', 'Orchestration');
  const heartbeatNs = integer(dispatcher, 'HeartbeatPeriod', 'Dispatcher');
  const expiryNs = integer(caConfig, 'NodeCertExpiry', 'CAConfig');
  if (caConfig && Array.isArray(caConfig['ExternalCAs']) && caConfig['ExternalCAs'].length > 0) {
    throw invalidParameter('external CAs are not supported: this gateway signs node certificates with its own CA');
  }
  const forceRotate = integer(caConfig, 'ForceRotate', 'CAConfig');
  if (forceRotate !== undefined && forceRotate < 0) throw invalidParameter('invalid CAConfig.ForceRotate: want a non-negative integer');
  const autoLock = encryption?.['AutoLockManagers'];
  if (autoLock !== undefined && typeof autoLock !== 'boolean') throw invalidParameter('invalid EncryptionConfig.AutoLockManagers: want a boolean');
  if (autoLock === true) throw invalidParameter('autolock is not supported: the gateway keeps its state unencrypted in its state directory');

  let logDriver = current.taskDefaults.logDriver;
  const ld = taskDefaults ? section(taskDefaults, 'LogDriver') : undefined;
  if (ld) {
    const ldName = ld['Name'];
    if (typeof ldName !== 'string') throw invalidParameter('invalid TaskDefaults.LogDriver.Name: want a string');
    logDriver = { name: ldName, options: parseLabels(ld['Options'], 'TaskDefaults.LogDriver.Options') };
  }

  const nonZero = (v: number | undefined): v is number => v !== undefined && v !== 0;
  const next: ClusterSpec = {
    ...current,
    name: typeof name === 'string' && name !== '' ? name : current.name,
    labels: body['Labels'] === undefined || body['Labels'] === null ? current.labels : parseLabels(body['Labels']),
    orchestration: { taskHistoryRetentionLimit: retention ?? current.orchestration.taskHistoryRetentionLimit },
    raft: {
      snapshotInterval: nonZero(integer(raft, 'SnapshotInterval', 'Raft')) ? (raft?.['SnapshotInterval'] as number) : current.raft.snapshotInterval,
      keepOldSnapshots: integer(raft, 'KeepOldSnapshots', 'Raft') ?? current.raft.keepOldSnapshots,
      logEntriesForSlowFollowers: nonZero(integer(raft, 'LogEntriesForSlowFollowers', 'Raft'))
        ? (raft?.['LogEntriesForSlowFollowers'] as number)
        : current.raft.logEntriesForSlowFollowers,
      heartbeatTick: nonZero(integer(raft, 'HeartbeatTick', 'Raft')) ? (raft?.['HeartbeatTick'] as number) : current.raft.heartbeatTick,
      electionTick: nonZero(integer(raft, 'ElectionTick', 'Raft')) ? (raft?.['ElectionTick'] as number) : current.raft.electionTick,
    },
    dispatcher: { heartbeatPeriodMs: nonZero(heartbeatNs) ? heartbeatNs / NS_PER_MS : current.dispatcher.heartbeatPeriodMs },
    // ForceRotate is always taken, as moby's MergeSwarmSpecToGRPC does.
    caConfig: { nodeCertExpiryMs: nonZero(expiryNs) ? expiryNs / NS_PER_MS : current.caConfig.nodeCertExpiryMs, forceRotate: forceRotate ?? 0 },
    taskDefaults: logDriver ? { logDriver } : {},
    encryptionConfig: { autoLockManagers: autoLock ?? false },
  };
  validateClusterSpec(next);
  return next;
}

/**
 * The root a `swarm update` asks to rotate to (`docker swarm ca --rotate
 * --ca-cert --ca-key`): SigningCACert and SigningCAKey of the spec's
 * CAConfig. They are acted on, never stored in the spec (Swarm redacts both).
 */
export function signingCaOf(body: unknown): { readonly certPem: string; readonly keyPem: string } | undefined {
  if (!isRecord(body)) return undefined;
  const caConfig = section(body, 'CAConfig');
  const cert = caConfig?.['SigningCACert'];
  const key = caConfig?.['SigningCAKey'];
  if (cert !== undefined && cert !== null && typeof cert !== 'string') throw invalidParameter('invalid CAConfig.SigningCACert: want a string');
  if (key !== undefined && key !== null && typeof key !== 'string') throw invalidParameter('invalid CAConfig.SigningCAKey: want a string');
  const certPem = cert ?? '';
  const keyPem = key ?? '';
  if (certPem === '' && keyPem === '') return undefined;
  if (certPem === '') throw invalidParameter('rpc error: code = InvalidArgument desc = if a signing CA key is provided, the signing CA cert must also be provided');
  if (keyPem === '') {
    // A certificate alone means an external CA signs; this gateway only signs with keys it holds.
    throw invalidParameter('rpc error: code = InvalidArgument desc = there must be at least one valid, reachable external CA corresponding to the desired CA certificate');
  }
  return { certPem, keyPem };
}

/** Swarm's checks, with Swarm's messages (the CLI prints them after "rpc error: …"). */
export function validateClusterSpec(spec: ClusterSpec): void {
  if (spec.caConfig.nodeCertExpiryMs < MIN_NODE_CERT_EXPIRY_MS) {
    throw invalidParameter('rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s');
  }
  if (spec.dispatcher.heartbeatPeriodMs < 0) {
    throw invalidParameter('rpc error: code = InvalidArgument desc = heartbeat time period cannot be a negative duration');
  }
  if (spec.name !== DEFAULT_CLUSTER_NAME) {
    throw invalidParameter('rpc error: code = InvalidArgument desc = modification of cluster name is not allowed');
  }
  if (spec.raft.electionTick <= spec.raft.heartbeatTick) {
    throw invalidParameter('rpc error: code = InvalidArgument desc = ElectionTick must be greater than HeartbeatTick');
  }
}
