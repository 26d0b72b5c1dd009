import type { Annotations, Labels, ObjectMeta } from './meta.js';

export const NodeRoles = ['worker', 'manager'] as const;
export type NodeRole = (typeof NodeRoles)[number];

/** Swarm's availability; Kubernetes calls pause "cordoned" and drain "cordoned + evicted". */
export const NodeAvailabilities = ['active', 'pause', 'drain'] as const;
export type NodeAvailability = (typeof NodeAvailabilities)[number];

export const NodeStates = ['unknown', 'down', 'ready', 'disconnected'] as const;
export type NodeState = (typeof NodeStates)[number];

/** What the user asks of a node. Written only by the API. */
export interface NodeSpec extends Annotations {
  readonly role: NodeRole;
  readonly availability: NodeAvailability;
}

export interface Platform {
  readonly os: string; // "linux"
  readonly architecture: string; // "x86_64" as engines report it
}

export interface GenericResource {
  readonly kind: string;
  readonly value: number;
}

export interface Resources {
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  readonly generic: readonly GenericResource[];
}

/** What the node's agent reports about its host. Written only by the dispatcher on the agent's behalf. */
export interface NodeDescription {
  readonly hostname: string;
  readonly platform: Platform;
  readonly resources: Resources;
  readonly engine: {
    readonly version: string;
    readonly labels: Labels;
    readonly plugins: readonly { readonly type: string; readonly name: string }[];
  };
  readonly tls?: { readonly trustRoot: string; readonly certIssuerSubject: string; readonly certIssuerPublicKey: string };
}

/**
 * The down message of a node whose agent said it was restarting (SIGTERM:
 * an upgrade, a supervisor's restart) and keeps its containers (live-restore):
 * its instances are held longer before they are rescheduled than those of a
 * node that vanished (crash, power loss, partition).
 */
export const NodeRestartingMessage = 'node is down: agent restarting';

export interface NodeStatus {
  readonly state: NodeState;
  readonly message: string;
  readonly addr: string; // the address the manager sees the agent at
  readonly lastHeartbeat?: number;
}

export interface ManagerStatus {
  readonly leader: boolean;
  readonly reachability: 'unknown' | 'unreachable' | 'reachable';
  readonly addr: string;
}

/** How the manager reaches a node's engine and agent. */
export interface NodeEndpoints {
  /** The agent's Docker API pass-through, e.g. tcp://10.211.0.11:2375 with TLS. */
  readonly engine?: string;
  /** Where the host is managed over SSH, when it was added with `stevedore node add`. */
  readonly ssh?: { readonly host: string; readonly port: number; readonly user: string };
}

export interface Node extends ObjectMeta {
  readonly spec: NodeSpec;
  readonly description?: NodeDescription;
  readonly status: NodeStatus;
  readonly managerStatus?: ManagerStatus;
  readonly endpoints: NodeEndpoints;
  /** The serial of the node's current certificate; a removed node's id is refused for good. */
  readonly certificateSerial?: string;
  /**
   * Swarm's IssuanceState, as far as a root rotation needs it: `rotate` asks
   * the node (through its session) for a renewal under the new root; the
   * dispatcher writes `issued` when it signs the node's next certificate.
   */
  readonly certificateState?: 'issued' | 'rotate';
  /**
   * The node's own address on the ingress network (swarmkit's node network
   * attachment, its "load balancer" address), CIDR; written by the allocator.
   * The routing mesh's replies go back to the node that received the
   * connection through it (src/agent/network/README.md, "Routing mesh").
   */
  readonly ingressAddress?: { readonly networkId: string; readonly address: string };
}
