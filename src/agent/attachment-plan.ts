/**
 * Standalone containers on attachable overlays, the pure part: which network
 * of a container-create (or network-connect) body is a candidate for a
 * cluster attachment, and the body rewritten to the allocator's address and
 * our DNS server. No I/O (src/agent/attachments.ts does the calls).
 */

/** On the container: the attachment (instance) it holds, so its removal can give the address back. */
export const ATTACHMENT_LABEL = 'io.stevedore.attachment';
export const ATTACHMENT_NETWORK_LABEL = 'io.stevedore.attachment.network';

/** Network modes that never name a network of ours. */
const builtIn = new Set(['', 'default', 'bridge', 'host', 'none']);

export interface AttachmentTarget {
  /** The network as the user named it (name or id). */
  readonly network: string;
  readonly aliases: readonly string[];
}

type Json = Record<string, unknown>;

const asObject = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);

/** The user-named network a container is created on, if it could be a cluster overlay. */
export function attachmentTarget(body: unknown): AttachmentTarget | undefined {
  const b = asObject(body);
  const mode = typeof asObject(b['HostConfig'])['NetworkMode'] === 'string' ? (asObject(b['HostConfig'])['NetworkMode'] as string) : '';
  const endpoints = asObject(asObject(b['NetworkingConfig'])['EndpointsConfig']);
  let network = mode;
  if (builtIn.has(network)) {
    // An older client may name the network only in EndpointsConfig.
    const keys = Object.keys(endpoints).filter((k) => !builtIn.has(k));
    if (!builtIn.has(mode) || keys.length !== 1) return undefined;
    network = keys[0] ?? '';
  }
  if (network.startsWith('container:') || builtIn.has(network)) return undefined;
  return { network, aliases: strings(asObject(endpoints[network])['Aliases']) };
}

export interface AttachmentAddress {
  readonly attachmentId: string;
  readonly networkId: string;
  /** The Docker network on this host's engine (the overlay's bridge network). */
  readonly dockerNetwork: string;
  /** The allocator's address, bare. */
  readonly address: string;
  /** Our DNS responder on the overlay's gateway, when discovery is on. */
  readonly nameservers?: readonly string[];
}

/**
 * The create body on the host's overlay network at the allocator's address,
 * labelled with its attachment. Our responder becomes the DNS server unless
 * the user chose servers (then service names do not resolve: their choice).
 */
export function rewriteCreate(body: unknown, target: AttachmentTarget, a: AttachmentAddress): Json {
  const b = asObject(body);
  const host = asObject(b['HostConfig']);
  const endpoints = asObject(asObject(b['NetworkingConfig'])['EndpointsConfig']);
  const mine = asObject(endpoints[target.network]);
  const others: Json = {};
  for (const [k, v] of Object.entries(endpoints)) if (k !== target.network && k !== a.dockerNetwork) others[k] = v;
  const userDns = strings(host['Dns']);
  return {
    ...b,
    Labels: { ...asObject(b['Labels']), [ATTACHMENT_LABEL]: a.attachmentId, [ATTACHMENT_NETWORK_LABEL]: a.networkId },
    HostConfig: {
      ...host,
      NetworkMode: a.dockerNetwork,
      ...(a.nameservers !== undefined && a.nameservers.length > 0 && userDns.length === 0 ? { Dns: [...a.nameservers] } : {}),
    },
    NetworkingConfig: {
      ...asObject(b['NetworkingConfig']),
      EndpointsConfig: { ...others, [a.dockerNetwork]: withAddress(mine, a.address) },
    },
  };
}

/** A network-connect body (`{Container, EndpointConfig}`) at the allocator's address. */
export function rewriteConnect(body: unknown, address: string): Json {
  const b = asObject(body);
  return { ...b, EndpointConfig: withAddress(asObject(b['EndpointConfig']), address) };
}

/** The aliases of a network-connect body. */
export function connectAliases(body: unknown): string[] {
  return strings(asObject(asObject(body)['EndpointConfig'])['Aliases']);
}

function withAddress(endpoint: Json, address: string): Json {
  return { ...endpoint, IPAMConfig: { ...asObject(endpoint['IPAMConfig']), IPv4Address: address } };
}

/** `POST /containers/create`, `DELETE /containers/{id}`, `POST /networks/{id}/connect|disconnect` (version prefix stripped). */
export type AttachmentRoute =
  | { readonly kind: 'create' }
  | { readonly kind: 'delete'; readonly container: string }
  | { readonly kind: 'connect' | 'disconnect'; readonly network: string };

export function attachmentRoute(method: string, path: string): AttachmentRoute | undefined {
  if (method === 'POST' && path === '/containers/create') return { kind: 'create' };
  const del = method === 'DELETE' ? /^\/containers\/([^/]+)$/.exec(path) : null;
  if (del?.[1] !== undefined) return { kind: 'delete', container: decodeURIComponent(del[1]) };
  const net = method === 'POST' ? /^\/networks\/([^/]+)\/(connect|disconnect)$/.exec(path) : null;
  if (net?.[1] !== undefined && (net[2] === 'connect' || net[2] === 'disconnect')) return { kind: net[2], network: decodeURIComponent(net[1]) };
  return undefined;
}
