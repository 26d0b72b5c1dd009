import type { DecodedPacket, Packet, StringAnswer } from 'dns-packet';
import type { NetworkServices, ServiceRecord } from '../../dispatcher/protocol.js';

/**
 * The names a task container resolves on its overlays, as on Docker Swarm,
 * answered from the manager's service records (pure: no sockets here; the
 * responder in dns-server.ts feeds it decoded queries).
 *
 * - `<service>` and each of its network aliases: the VIP in `vip` mode, the
 *   tasks' addresses in `dnsrr` mode;
 * - `tasks.<service>` (and `tasks.<alias>`): the tasks' addresses;
 * - a task's name (`<service>.<slot>.<task id>`): its address;
 * - PTR of a task's address: its name;
 * - the name and aliases of a standalone container attached to the network
 *   (attachable overlays), and PTR of its address.
 *
 * Only the networks the querying container is attached to are searched, in
 * its attachment order; the first network that knows the name answers
 * (libnetwork does the same). Anything else is not ours: `undefined`, and
 * the responder forwards the query.
 */

/** Docker's embedded DNS answers with TTL 600; a VIP never changes while its service lives. */
export const VIP_TTL = 600;
/** Task addresses come and go with scaling and health: a short TTL keeps caching clients current. */
export const TASKS_TTL = 5;

export type Shuffle = <T>(items: readonly T[]) => T[];

export const noShuffle: Shuffle = (items) => [...items];

/** Fisher–Yates with an injected random source (dnsrr answers rotate, as Docker's do). */
export function shuffleWith(random: () => number): Shuffle {
  return <T>(items: readonly T[]): T[] => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = out[i] as T;
      out[i] = out[j] as T;
      out[j] = t;
    }
    return out;
  };
}

export type NameLookup =
  | { readonly kind: 'addresses'; readonly addresses: readonly string[]; readonly ttl: number }
  | { readonly kind: 'name'; readonly name: string; readonly ttl: number };

const norm = (name: string): string => name.toLowerCase().replace(/\.$/, '');

function serviceAddresses(s: ServiceRecord): { addresses: string[]; ttl: number } {
  if (s.mode === 'vip' && s.vip !== undefined) return { addresses: [s.vip], ttl: VIP_TTL };
  return { addresses: s.tasks.map((t) => t.address), ttl: TASKS_TTL };
}

/** A forward name (A) or an in-addr.arpa name (PTR), searched across `visible` networks in order. */
export function lookupName(records: ReadonlyMap<string, NetworkServices>, visible: readonly string[], qname: string, shuffle: Shuffle = noShuffle): NameLookup | undefined {
  const name = norm(qname);
  if (name.endsWith('.in-addr.arpa')) {
    const address = name.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.');
    for (const id of visible) {
      for (const s of records.get(id)?.services ?? []) {
        const t = s.tasks.find((x) => x.address === address);
        if (t !== undefined) return { kind: 'name', name: t.name, ttl: TASKS_TTL };
      }
      const c = records.get(id)?.containers?.find((x) => x.address === address && x.name !== undefined);
      if (c?.name !== undefined) return { kind: 'name', name: c.name, ttl: TASKS_TTL };
    }
    return undefined;
  }
  const tasksOf = name.startsWith('tasks.') ? name.slice('tasks.'.length) : undefined;
  for (const id of visible) {
    const services = records.get(id)?.services ?? [];
    for (const s of services) {
      const names = [s.name, ...s.aliases].map(norm);
      if (tasksOf !== undefined && names.includes(tasksOf)) return { kind: 'addresses', addresses: shuffle(s.tasks.map((t) => t.address)), ttl: TASKS_TTL };
      if (names.includes(name)) {
        const a = serviceAddresses(s);
        return { kind: 'addresses', addresses: s.mode === 'dnsrr' ? shuffle(a.addresses) : a.addresses, ttl: a.ttl };
      }
    }
    for (const s of services) {
      const t = s.tasks.find((x) => norm(x.name) === name);
      if (t !== undefined) return { kind: 'addresses', addresses: [t.address], ttl: TASKS_TTL };
    }
    // Standalone containers on the network (attachable overlays): by name or alias.
    const named = (records.get(id)?.containers ?? []).filter((c) => (c.name !== undefined && norm(c.name) === name) || c.aliases.some((x) => norm(x) === name));
    if (named.length > 0) return { kind: 'addresses', addresses: shuffle(named.map((c) => c.address)), ttl: TASKS_TTL };
  }
  return undefined;
}

const RESPONSE = 1 << 15;
const AUTHORITATIVE = 1 << 10;
const RECURSION_DESIRED = 1 << 8;
const RECURSION_AVAILABLE = 1 << 7;
export const RCODE_SERVFAIL = 2;
export const RCODE_FORMERR = 1;

/** A response to `query` with no answers and the given rcode (SERVFAIL when forwarding failed). */
export function emptyResponse(query: DecodedPacket, rcode: number, authoritative = false): Packet {
  return {
    type: 'response',
    id: query.id ?? 0,
    flags: RESPONSE | ((query.flags ?? 0) & RECURSION_DESIRED) | RECURSION_AVAILABLE | (authoritative ? AUTHORITATIVE : 0) | (rcode & 0xf),
    questions: query.questions ?? [],
    answers: [],
  };
}

/**
 * The response to a query when the name is ours, else `undefined` (forward
 * it). A name we own but for another type (AAAA: overlays are IPv4 only) gets
 * an empty NOERROR, so resolvers do not wait on an upstream for it.
 */
export function answerQuery(query: DecodedPacket, records: ReadonlyMap<string, NetworkServices>, visible: readonly string[], shuffle: Shuffle = noShuffle): Packet | undefined {
  const questions = query.questions ?? [];
  const q = questions[0];
  if (questions.length !== 1 || q === undefined || (q.class !== undefined && q.class !== 'IN')) return undefined;
  const found = lookupName(records, visible, q.name, shuffle);
  if (found === undefined) return undefined;
  const flags = RESPONSE | AUTHORITATIVE | RECURSION_AVAILABLE | ((query.flags ?? 0) & RECURSION_DESIRED);
  const base: Packet = { type: 'response', id: query.id ?? 0, flags, questions: [q], answers: [] };
  if (found.kind === 'name') {
    if (q.type !== 'PTR') return base;
    const answer: StringAnswer = { type: 'PTR', name: q.name, class: 'IN', ttl: found.ttl, data: found.name };
    return { ...base, answers: [answer] };
  }
  if (q.type !== 'A') return base;
  return { ...base, answers: found.addresses.map((data): StringAnswer => ({ type: 'A', name: q.name, class: 'IN', ttl: found.ttl, data })) };
}

/** What the responder knows of a local task container: its overlay attachments in order. */
export interface LocalAttachments {
  readonly networks: readonly { readonly networkId: string; readonly addresses: readonly string[] }[];
}

/**
 * The networks whose names a query may see: those of the local task that
 * sent it (Docker's resolver forwards from inside the container, so the
 * source is the task's address on the network whose gateway received it), or
 * only that network for a sender we do not know (an attachable container).
 */
export function visibleNetworksFor(source: string, receivedOn: string, locals: Iterable<LocalAttachments>): string[] {
  for (const l of locals) {
    const on = l.networks.find((n) => n.networkId === receivedOn);
    if (on !== undefined && on.addresses.some((a) => (a.split('/')[0] ?? a) === source)) return l.networks.map((n) => n.networkId);
  }
  return [receivedOn];
}
