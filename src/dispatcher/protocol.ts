import type { InstanceStatus, NodeDescription, NodeRole } from '../model/index.js';

/**
 * The wire between a manager's dispatcher and the agents, on port 2377.
 * See docs/design/dispatcher-protocol.md for the sequence. Transport: HTTP/2
 * (node:http2) over mutual TLS; one session per agent, dialled by the agent.
 * Every message is JSON; streams are newline-delimited JSON.
 */

export const DISPATCHER_PORT = 2377;

/**
 * GET /ca — no client certificate needed: the root CA certificate PEM, byte for
 * byte the text the join token's digest was computed over (Swarm's
 * GetRootCACertificate). The TLS handshake also presents it after the
 * server's leaf, so a joining agent can check the digest either way.
 */
export const CA_PATH = '/ca';

/** Every refusal: a non-2xx status and Docker's shape (the CLI prints `message`). */
export interface ErrorResponse {
  readonly message: string;
}

/** POST /join — the only call made without a client certificate (TLS still verifies the manager). */
export interface JoinRequest {
  readonly token: string; // SWMTKN-1-<ca digest>-<secret>
  readonly csrPem: string; // the key never leaves the joining host
  readonly advertiseAddr: string; // the address the agent is reached at (its host's)
  readonly hostname: string;
  readonly availability?: 'active' | 'pause' | 'drain';
  readonly description: NodeDescription;
  /** Where the manager reaches this host's engine (the agent's Docker API pass-through), if it offers one. */
  readonly engineEndpoint?: string;
}

export interface JoinResponse {
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly certPem: string; // CN=node id, O=cluster id, OU=swarm-manager|swarm-worker
  readonly caPem: string; // the root (and, during a rotation, the cross-signed intermediate)
  readonly clusterId: string;
  readonly managers: readonly string[]; // addresses of managers, "host:2377"
  readonly heartbeatPeriodMs: number;
}

/** POST /renew — with the node's current certificate: a new one for a fresh CSR. */
export interface RenewRequest {
  readonly csrPem: string;
}
export interface RenewResponse {
  readonly certPem: string;
  readonly caPem: string;
}

/** POST /session — opens the session; the response is a stream of SessionMessage lines for as long as it lives. */
export interface SessionRequest {
  readonly description: NodeDescription;
  /** Instances the agent found on its engine at start (live-restore: re-adopted, not restarted). */
  readonly knownInstances: readonly string[];
  /** As in JoinRequest; updated on every session (the agent may move to another port). */
  readonly engineEndpoint?: string;
  /**
   * The host's WireGuard public key, when the agent can run encrypted overlays
   * (`--opt encrypted`); the private key never leaves the host. Peers get it
   * in the network assignments. Absent: this node cannot join encrypted networks.
   */
  readonly wireguardPublicKey?: string;
}

export type SessionMessage =
  | { readonly type: 'session'; readonly sessionId: string; readonly heartbeatPeriodMs: number; readonly managers: readonly string[] }
  | { readonly type: 'assignments'; readonly full: boolean; readonly changes: readonly AssignmentChange[] }
  | { readonly type: 'certificate-update'; readonly reason: string } // renew now (role change, CA rotation)
  | { readonly type: 'leave'; readonly reason: string }; // the node was removed: stop, forget the cluster

/** What a node is told to run. `full: true` replaces all earlier assignments. */
export type AssignmentChange =
  | { readonly action: 'update'; readonly item: Assignment }
  | { readonly action: 'remove'; readonly item: { readonly kind: Assignment['kind']; readonly id: string } };

export type Assignment =
  | { readonly kind: 'instance'; readonly id: string; readonly instance: unknown } // the model's Instance, as JSON
  | { readonly kind: 'secret'; readonly id: string; readonly secret: { readonly name: string; readonly dataBase64: string } }
  | { readonly kind: 'config'; readonly id: string; readonly config: { readonly name: string; readonly dataBase64: string } }
  | { readonly kind: 'network'; readonly id: string; readonly network: NetworkAssignment }
  | { readonly kind: 'services'; readonly id: string; readonly services: NetworkServices } // id: the network's
  | { readonly kind: 'ingress'; readonly id: string; readonly ingress: IngressAssignment }; // id: the ingress network's

/**
 * An overlay network a live instance on this node is attached to (Swarm sends
 * the network beside its tasks too): what the agent needs to build the data
 * plane on its host before the instance's container is created. It stays in
 * the set while any instance on the node uses it, and is sent again whenever
 * its peers change (an instance on another node starts or goes), so the agent
 * keeps its forwarding entries current; leaving the set means "tear it down".
 */
export interface NetworkAssignment {
  /** The Docker network's name on the host's engine (the cluster network's name). */
  readonly name: string;
  readonly driver: 'overlay';
  readonly vni: number;
  /** The first allocated subnet, CIDR ("10.0.1.0/24"), and its gateway (bare). */
  readonly subnet: string;
  readonly gateway: string;
  /** `--opt com.docker.network.driver.mtu`, when the user set it; absent: the host's underlay MTU minus the encapsulation. */
  readonly mtu?: number;
  /** `--opt encrypted`: VXLAN over WireGuard; never sent in clear. */
  readonly encrypted: boolean;
  readonly internal: boolean;
  readonly attachable: boolean;
  /** `--opt io.stevedore.overlay.mode=vxlan|routed|auto`; `vxlan` (Swarm's) by default. */
  readonly mode: 'auto' | 'vxlan' | 'routed';
  /** Every other node with a live instance on the network, by node id. */
  readonly peers: readonly NetworkPeer[];
}

export interface NetworkPeer {
  readonly nodeId: string;
  /** The node's underlay address: its status address (what it advertised at join), bare. */
  readonly underlay: string;
  /** The overlay addresses of its instances on the network, CIDR, sorted. */
  readonly endpoints: readonly string[];
  /** Encrypted networks: the node's WireGuard key and tunnel address (bare); absent if it reported no key. */
  readonly wireguard?: { readonly publicKey: string; readonly address: string };
}

/**
 * Service discovery on one overlay network of the node (beside its `network`
 * item, same id): every service reachable on it, with its virtual IP and the
 * tasks that may take new connections. The agent answers DNS from it and
 * balances connections to the VIPs inside its task containers. Sent again
 * whenever a task of one of these services starts, turns unhealthy or is
 * asked to stop (it leaves `tasks` before its container is stopped).
 */
export interface NetworkServices {
  /** The network's name, for logs. */
  readonly network: string;
  /** Sorted by service name. */
  readonly services: readonly ServiceRecord[];
  /**
   * Standalone containers attached to the network (`docker run --network`,
   * attachable overlays), running and still wanted, sorted by address: their
   * names and aliases resolve on the network, as on Swarm. Absent when none.
   */
  readonly containers?: readonly AttachedContainerRecord[];
}

export interface AttachedContainerRecord {
  /** The attachment (instance) id. */
  readonly id: string;
  /** The container's name, when the engine has made it. */
  readonly name?: string;
  /** `--network-alias`: more names for it. Sorted. */
  readonly aliases: readonly string[];
  /** Its address on this network, bare. */
  readonly address: string;
  readonly nodeId: string;
}

export interface ServiceRecord {
  readonly id: string;
  readonly name: string;
  /** `vip`: the name resolves to `vip`, balanced across `tasks`; `dnsrr`: to the tasks' addresses. */
  readonly mode: 'vip' | 'dnsrr';
  /** The service's virtual IP on this network, bare; absent in dnsrr mode (or before the allocator gave one). */
  readonly vip?: string;
  /** `--network name=X,alias=Y`: more names that resolve as the service's does. Sorted. */
  readonly aliases: readonly string[];
  /** Tasks running (healthy: Swarm keeps an unhealthy one `starting`) and still wanted, sorted by address. */
  readonly tasks: readonly ServiceTask[];
}

export interface ServiceTask {
  readonly id: string;
  /** The task's name, `<service>.<slot>.<task id>` (the container's name; resolvable as on Swarm). */
  readonly name: string;
  /** Its address on this network, bare. */
  readonly address: string;
  readonly nodeId: string;
}

/**
 * POST /attach — a standalone container on the caller's node wants to join an
 * attachable overlay (Swarm's ResourceAllocator.AttachNetwork, made when the
 * host's engine creates the container). The manager creates an attachment
 * instance for the node; the allocator gives it an address and it comes back
 * in the node's assignment set (with the network, so the overlay is made),
 * where the agent waits for it before the container is created.
 * Unknown network: 404 (the agent lets the engine answer); not attachable: 403.
 */
export interface AttachNetworkRequest {
  /** The network's name or id, as the user gave it. */
  readonly network: string;
  /** `--name`, when given (the engine's own choice is sent with /attach/container otherwise). */
  readonly containerName?: string;
  /** `--network-alias`. */
  readonly aliases?: readonly string[];
}
export interface AttachNetworkResponse {
  readonly attachmentId: string;
  readonly networkId: string;
}

/** POST /attach/container — the engine made the container: its id and name (Swarm's attachment carries the container id). */
export interface AttachmentContainerRequest {
  readonly attachmentId: string;
  readonly containerId: string;
  readonly containerName: string;
}

/** POST /detach — the container was removed (or never made): the attachment and its address go (Swarm's DetachNetwork). */
export interface DetachNetworkRequest {
  readonly attachmentId: string;
}

/**
 * The routing mesh (sent to every node that has an ingress address, whether
 * or not it runs a task): the ingress overlay itself (its peers are every
 * other node, with its own ingress address and its tasks' addresses as
 * endpoints), this node's ingress address, every node's (the return paths a
 * task needs), and the ports published in ingress mode with the tasks that
 * take their connections. See src/agent/network/README.md, "Routing mesh".
 */
export interface IngressAssignment {
  readonly network: NetworkAssignment;
  /** This node's own address on the ingress network, CIDR. */
  readonly address: string;
  /** Every node's ingress address (bare), this one's included; sorted by node id. */
  readonly nodes: readonly { readonly nodeId: string; readonly address: string }[];
  /** Services publishing ports in ingress mode, sorted by name. */
  readonly services: readonly IngressService[];
}

export interface IngressService {
  readonly id: string;
  readonly name: string;
  readonly ports: readonly { readonly protocol: 'tcp' | 'udp' | 'sctp'; readonly publishedPort: number; readonly targetPort: number }[];
  /** The ingress addresses (bare) of its tasks in the pool (running, still wanted), sorted. */
  readonly tasks: readonly string[];
}

/**
 * POST /session/restart — the agent is stopping and will be back on the same
 * state (its containers keep running): when its session ends the node is down
 * with NodeRestartingMessage, and its instances wait out the longer restart
 * grace instead of being rescheduled after the short one.
 */
export interface RestartNoticeRequest {
  readonly sessionId: string;
}

/** POST /heartbeat — every heartbeatPeriodMs; the answer says when the next one is due. */
export interface HeartbeatRequest {
  readonly sessionId: string;
}
export interface HeartbeatResponse {
  readonly periodMs: number;
}

/** POST /status — the agent's observed state of its instances; batched. */
export interface StatusUpdateRequest {
  readonly sessionId: string;
  readonly updates: readonly { readonly instanceId: string; readonly status: InstanceStatus }[];
}
