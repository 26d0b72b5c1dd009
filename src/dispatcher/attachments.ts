import type { Instance, InstanceTemplate, Network } from '../model/index.js';
import type { NewObject, ReadTx } from '../store/index.js';
import { forbidden, notFound } from '../util/errors.js';
import type { AttachNetworkRequest } from './protocol.js';

/**
 * Network attachments of standalone containers (Swarm's runtime attachment
 * tasks): pure helpers for the dispatcher's /attach and /detach. An
 * attachment is an instance without a workload, placed on the caller's node
 * from the start, naming one network in its template; the allocator gives it
 * an address like any task's, the scheduling loop confirms the preset node,
 * and the dispatcher sends it (with the network) to that node.
 */

/** The network a container asks for, by exact id, exact name, then unique id prefix (as Docker resolves networks). */
export function findNetwork(tx: ReadTx, ref: string): Network | undefined {
  const all = tx.list('network');
  return (
    all.find((n) => n.id === ref) ??
    all.find((n) => n.spec.name === ref) ??
    (() => {
      const byPrefix = all.filter((n) => n.id.startsWith(ref));
      return byPrefix.length === 1 ? byPrefix[0] : undefined;
    })()
  );
}

/** Docker's message when a container names a swarm network that is not attachable. */
export function notAttachableMessage(name: string): string {
  return `Could not attach to network ${name}: rpc error: code = PermissionDenied desc = network ${name} not manually attachable`;
}

/** The attachable overlay a container may join, or Docker-shaped refusals (404 lets the engine answer with its own networks). */
export function resolveAttachable(tx: ReadTx, ref: string): Network {
  const n = findNetwork(tx, ref);
  if (n === undefined || n.spec.driver !== 'overlay') throw notFound(`network ${ref} not found`);
  if (!n.spec.attachable || n.spec.ingress) throw forbidden(notAttachableMessage(n.spec.name));
  return n;
}

const noResources = { nanoCpus: 0, memoryBytes: 0, pids: 0, generic: [] } as const;

/** The template of an attachment: no containers, no resources, the one network. */
export function attachmentTemplate(networkId: string, aliases: readonly string[]): InstanceTemplate {
  return {
    containers: [],
    resources: { limits: noResources, reservations: noResources },
    restartPolicy: { condition: 'none', delayMs: 0, maxAttempts: 0, windowMs: 0 },
    placement: { constraints: [], preferences: [], maxReplicasPerNode: 0, platforms: [] },
    networks: [{ target: networkId, aliases: [...aliases] }],
    forceUpdate: 0,
  };
}

export function newAttachmentInstance(id: string, nodeId: string, network: Network, req: AttachNetworkRequest, now: number): NewObject<'instance'> {
  const containerName = req.containerName?.replace(/^\//, '');
  return {
    id,
    workloadId: '',
    nodeId,
    template: attachmentTemplate(network.id, [...new Set(req.aliases ?? [])].sort()),
    specVersion: 0,
    desiredState: 'running',
    status: { state: 'new', timestamp: now, message: 'created' },
    networks: [],
    attachment: containerName === undefined || containerName === '' ? {} : { containerName },
  };
}

export function isAttachment(i: Instance): boolean {
  return i.attachment !== undefined;
}
