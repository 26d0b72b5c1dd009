import type { ObjectMeta } from './meta.js';
import type { TaskState } from './task-state.js';
import type { InstanceTemplate } from './workload.js';

/**
 * One instance of a workload on one node: a Swarm task, a Kubernetes pod.
 * Three writers, three fields: the orchestrator writes `template` (a copy of the
 * workload's at creation) and creates the instance; the scheduler and
 * orchestrator write `desiredState` and `nodeId`; the agent writes `status`.
 */
export interface InstanceStatus {
  readonly state: TaskState;
  readonly timestamp: number;
  readonly message: string;
  readonly err?: string;
  readonly container?: { readonly containerId: string; readonly pid: number; readonly exitCode?: number };
  /** Ports published in host mode on this instance's node. */
  readonly ports?: readonly { readonly protocol: string; readonly targetPort: number; readonly publishedPort: number }[];
}

export interface NetworkAttachment {
  readonly networkId: string;
  readonly addresses: readonly string[]; // CIDR form, "10.0.1.5/24"
  readonly aliases: readonly string[];
}

/**
 * Swarm's runtime attachment (`Task.Runtime = Attachment{ContainerID}`): the
 * instance stands for a standalone container's place on an attachable
 * overlay (`docker run --network <overlay>`), not for a container of a
 * workload. It has no workload (`workloadId` is empty), its node is chosen by
 * whoever asked (the container's host), and it carries the container once the
 * host's engine made it.
 */
export interface ContainerAttachment {
  /** The engine's container id, once created. */
  readonly containerId?: string;
  /** The container's name without Docker's leading slash: resolvable on the overlay, as on Swarm. */
  readonly containerName?: string;
}

export interface Instance extends ObjectMeta {
  /** Empty for a container's network attachment (`attachment`). */
  readonly workloadId: string;
  /** Replicated workloads: the slot (1…replicas) this instance fills. */
  readonly slot?: number;
  /** Global workloads always, others once scheduled. */
  readonly nodeId?: string;
  readonly template: InstanceTemplate;
  readonly specVersion: number;
  readonly desiredState: TaskState;
  readonly status: InstanceStatus;
  readonly networks: readonly NetworkAttachment[];
  /** Jobs: which run of the job this instance belongs to. */
  readonly jobIteration?: number;
  /** Set on a standalone container's network attachment (no workload). */
  readonly attachment?: ContainerAttachment;
}
