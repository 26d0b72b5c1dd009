import { isIP } from 'node:net';
import type { Cluster, ClusterSpec, Node, NodeAvailability, NodeDescription } from '../../model/index.js';
import { NodeAvailabilities } from '../../model/index.js';
import { caDigest, generateJoinToken } from '../../pki/join-token.js';
import type { RandomBytes } from '../../pki/certificate.js';
import type { Store } from '../../store/index.js';
import { ingressNetworkSpec } from '../../allocator/needs.js';
import { mergeSwarmSpec } from '../../translate/swarm/cluster.js';
import type { Clock } from '../../util/clock.js';
import { invalidParameter, unavailable } from '../../util/errors.js';
import type { IdGenerator } from '../../util/ids.js';
import { DEFAULT_ADDR_POOL, DEFAULT_DATA_PATH_PORT, DEFAULT_SUBNET_SIZE, defaultClusterSpec } from '../defaults.js';
import { alreadyInSwarm, checkVersion, currentCluster, leaderNode, requireCluster } from './common.js';

/**
 * Swarm's cluster verbs (swarmkit manager/controlapi/cluster.go plus what the
 * daemon does around them for init and leave). Each validates, writes the
 * store, and returns; the dispatcher and others react to the store.
 */

export interface ControlDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** The cluster's root: the gateway's CA. Its key signs node certificates. */
  readonly caCertPem: string;
  readonly random?: RandomBytes;
}

export interface InitRequest {
  readonly listenAddr: string;
  readonly advertiseAddr: string;
  readonly dataPathAddr: string;
  readonly defaultAddrPool: readonly string[];
  readonly subnetSize: number;
  readonly dataPathPort: number;
  readonly forceNewCluster: boolean;
  readonly availability: NodeAvailability;
  readonly spec: unknown; // SwarmSpec JSON, merged onto Swarm's defaults
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const cidr = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** `POST /swarm/init` body → InitRequest, with the daemon's defaults and checks. */
export function parseInitRequest(body: unknown): InitRequest {
  const b = body === undefined || body === null || body === '' ? {} : body;
  if (!isRecord(b)) throw invalidParameter('swarm init request must be a JSON object');
  const str = (k: string): string => {
    const v = b[k];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw invalidParameter(`invalid ${k}: want a string`);
    return v;
  };
  const num = (k: string): number => {
    const v = b[k];
    if (v === undefined || v === null) return 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalidParameter(`invalid ${k}: want a non-negative integer`);
    return v;
  };
  const pool = b['DefaultAddrPool'];
  if (pool !== undefined && pool !== null && !(Array.isArray(pool) && pool.every((p) => typeof p === 'string'))) {
    throw invalidParameter('invalid DefaultAddrPool: want a list of CIDR strings');
  }
  const pools = (pool as string[] | null | undefined) ?? [];
  for (const p of pools) {
    const m = cidr.exec(p);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) throw invalidParameter(`invalid default address pool ${p}: invalid CIDR address: ${p}`);
  }
  const subnetSize = num('SubnetSize');
  if (subnetSize !== 0 && (subnetSize < 2 || subnetSize > 29)) throw invalidParameter(`invalid subnet size ${subnetSize}: it must be within 2-29`);
  const dataPathPort = num('DataPathPort');
  if (dataPathPort !== 0 && (dataPathPort < 1024 || dataPathPort > 49151)) {
    throw invalidParameter(`data path port ${dataPathPort} is out of range: it must be within 1024-49151`);
  }
  const dataPathAddr = str('DataPathAddr');
  if (dataPathAddr !== '' && isIP(dataPathAddr) === 0 && !/^[A-Za-z0-9_.-]+$/.test(dataPathAddr)) {
    throw invalidParameter('data path address must be a non-zero IP address or network interface (without a port number)');
  }
  const availability = (str('Availability') || 'active').toLowerCase();
  if (!(NodeAvailabilities as readonly string[]).includes(availability)) throw invalidParameter(`invalid Availability: ${JSON.stringify(availability)}`);
  const force = b['ForceNewCluster'];
  if (force !== undefined && typeof force !== 'boolean') throw invalidParameter('invalid ForceNewCluster: want a boolean');
  return {
    listenAddr: str('ListenAddr') || '0.0.0.0:2377',
    advertiseAddr: str('AdvertiseAddr'),
    dataPathAddr,
    defaultAddrPool: pools.length ? pools : DEFAULT_ADDR_POOL,
    subnetSize: subnetSize || DEFAULT_SUBNET_SIZE,
    dataPathPort: dataPathPort || DEFAULT_DATA_PATH_PORT,
    forceNewCluster: force === true,
    availability: availability as NodeAvailability,
    spec: b['Spec'],
  };
}

/** What the gateway knows of itself as the swarm's first node. */
export interface LocalNode {
  readonly description: NodeDescription;
  /** The IP other nodes reach this manager at, and the dispatcher's port. */
  readonly advertiseIp: string;
  readonly dispatcherPort: number;
  readonly engineUrl?: string;
}

/**
 * `docker swarm init`: the cluster (Swarm's defaults under the given spec),
 * both join tokens, and the gateway's own node as leader. Returns the node id.
 * With ForceNewCluster on an existing swarm, keeps its state and makes this
 * node the only manager again (Swarm's disaster recovery).
 */
export async function initCluster(deps: ControlDeps, req: InitRequest, local: LocalNode): Promise<string> {
  const spec: ClusterSpec = mergeSwarmSpec(defaultClusterSpec(), req.spec);
  return deps.store.update((tx) => {
    const existing = currentCluster(tx);
    if (existing && !req.forceNewCluster) throw alreadyInSwarm();
    const now = deps.clock.now();
    const managerStatus = { leader: true, reachability: 'reachable', addr: `${local.advertiseIp}:${local.dispatcherPort}` } as const;
    const status = { state: 'ready', message: '', addr: local.advertiseIp, lastHeartbeat: now } as const;
    if (existing) {
      // Force-new-cluster: the other managers are gone for good; demote them so they cannot take part.
      for (const n of tx.list('node', (x) => x.spec.role === 'manager')) {
        if (n.managerStatus?.leader) continue;
        const { managerStatus: _drop, ...rest } = n;
        tx.update('node', { ...rest, spec: { ...n.spec, role: 'worker' } });
      }
      const self = leaderNode(tx);
      if (self) {
        tx.update('node', { ...self, description: local.description, status, managerStatus });
        return self.id;
      }
    }
    const cluster: Omit<Cluster, 'version' | 'createdAt' | 'updatedAt'> = existing ?? {
      id: deps.ids.objectId(),
      spec,
      joinTokens: { worker: generateJoinToken(deps.caCertPem, deps.random), manager: generateJoinToken(deps.caCertPem, deps.random) },
      rootCa: { certPem: deps.caCertPem, digest: caDigest(deps.caCertPem), rotationInProgress: false },
      defaultAddrPool: req.defaultAddrPool,
      subnetSize: req.subnetSize,
      dataPathPort: req.dataPathPort,
    };
    if (!existing) tx.create('cluster', cluster);
    // Swarm's default ingress network (the routing mesh), made with a fresh cluster; the allocator gives it its subnet.
    if (!existing && !tx.byName('network', 'ingress')) tx.create('network', { id: deps.ids.objectId(), spec: ingressNetworkSpec() });
    const node: Omit<Node, 'version' | 'createdAt' | 'updatedAt'> = {
      id: deps.ids.objectId(),
      spec: { name: '', labels: {}, role: 'manager', availability: req.availability },
      description: local.description,
      status,
      managerStatus,
      endpoints: local.engineUrl === undefined ? {} : { engine: local.engineUrl },
    };
    tx.create('node', node);
    return node.id;
  });
}

export interface UpdateRequest {
  readonly version: number;
  readonly spec: unknown;
  readonly rotateWorkerToken: boolean;
  readonly rotateManagerToken: boolean;
}

/**
 * `docker swarm update`, `docker swarm join-token --rotate` and `docker swarm
 * ca --rotate`: `rootCa` gives the root CA's next state (the manager decides
 * it, with controlapi/ca-rotation.ts, before this transaction).
 */
export async function updateCluster(deps: ControlDeps, req: UpdateRequest, rootCa?: (current: Cluster['rootCa']) => Cluster['rootCa']): Promise<Cluster> {
  return deps.store.update((tx) => {
    const cluster = requireCluster(tx);
    checkVersion(req.version, cluster.version);
    const spec = mergeSwarmSpec(cluster.spec, req.spec);
    // Tokens pin the root nodes trust now (after a completed rotation, the new one).
    const root = cluster.rootCa.certPem;
    const joinTokens = {
      worker: req.rotateWorkerToken ? generateJoinToken(root, deps.random) : cluster.joinTokens.worker,
      manager: req.rotateManagerToken ? generateJoinToken(root, deps.random) : cluster.joinTokens.manager,
    };
    return tx.update('cluster', { ...cluster, spec, joinTokens, rootCa: rootCa ? rootCa(cluster.rootCa) : cluster.rootCa });
  });
}

/**
 * The end of a root rotation (swarmkit's finishRootRotation): the new root is
 * the cluster's root, the rotation is gone, and both join tokens are new, as
 * their digest must pin the new root. Refused (false) if the rotation in the
 * store is no longer `newRootPem` (another rotation started meanwhile).
 */
export async function finishRootRotation(deps: ControlDeps, newRootPem: string): Promise<boolean> {
  return deps.store.update((tx) => {
    const cluster = requireCluster(tx);
    if (cluster.rootCa.rotation?.certPem !== newRootPem) return false;
    tx.update('cluster', {
      ...cluster,
      rootCa: {
        certPem: newRootPem,
        digest: caDigest(newRootPem),
        rotationInProgress: false,
        lastForcedRotation: cluster.rootCa.lastForcedRotation ?? 0,
      },
      joinTokens: { worker: generateJoinToken(newRootPem, deps.random), manager: generateJoinToken(newRootPem, deps.random) },
    });
    return true;
  });
}

/**
 * `docker swarm leave`. The gateway is the swarm's only raft member, so
 * leaving erases the swarm: Swarm refuses that without --force, as it does
 * for the last manager. With force, every swarm-scoped object goes.
 */
export async function leaveCluster(deps: ControlDeps, force: boolean): Promise<void> {
  await deps.store.update((tx) => {
    if (!currentCluster(tx)) throw unavailable('This node is not part of a swarm');
    if (!force) {
      throw unavailable(
        'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.',
      );
    }
    for (const kind of ['instance', 'workload', 'secret', 'config', 'stack', 'node', 'cluster'] as const) {
      for (const o of tx.list(kind)) tx.delete(kind, o.id);
    }
    for (const n of tx.list('network', (x) => x.spec.driver === 'overlay')) tx.delete('network', n.id);
  });
}
