import { isTerminal, stateRank, type Instance, type Workload } from '../model/index.js';
import type { ReadTx, WatchEvent } from '../store/index.js';
import { ingressAssignmentFor } from './ingress-assignments.js';
import { networkAssignmentsFor } from './network-assignments.js';
import type { Assignment, AssignmentChange } from './protocol.js';
import { serviceRecordsFor } from './service-records.js';

/**
 * What a node is told to run, computed from a store snapshot, and the
 * difference between two such sets. Pure. Like swarmkit's dispatcher: an
 * instance is sent once it is assigned (never while pending) and stays until
 * the store deletes it (the task reaper, past the history limit), so a
 * finished task's container is kept for `docker ps -a`, `docker logs` and
 * `docker service logs`, and goes when its task does. Secrets, configs and
 * overlays go with the live instances that use them, and only to those nodes.
 */

export type AssignmentSet = ReadonlyMap<string, Assignment>;

const key = (kind: Assignment['kind'], id: string): string => `${kind}/${id}`;

const assignedRank = stateRank('assigned');

export function isAssignedHere(i: Instance, nodeId: string): boolean {
  return i.nodeId === nodeId && stateRank(i.status.state) >= assignedRank;
}

/** Finished and not wanted any more: its container is kept, but it needs no files and no network. */
export function isFinished(i: Instance): boolean {
  return isTerminal(i.status.state) && isTerminal(i.desiredState);
}

export function assignmentsFor(tx: ReadTx, nodeId: string, wireguardKey?: (nodeId: string) => string | undefined): AssignmentSet {
  const out = new Map<string, Assignment>();
  const secrets = new Set<string>();
  const configs = new Set<string>();
  const local = tx.list('instance', (x) => isAssignedHere(x, nodeId));
  for (const i of local) {
    out.set(key('instance', i.id), { kind: 'instance', id: i.id, instance: withWorkloadNames(tx, i) });
    if (isTerminal(i.desiredState)) continue; // being stopped: needs no files
    for (const c of i.template.containers) {
      for (const s of c.secrets) secrets.add(s.id);
      for (const f of c.configs) configs.add(f.id);
    }
  }
  for (const id of secrets) {
    const s = tx.get('secret', id);
    if (s) out.set(key('secret', id), { kind: 'secret', id, secret: { name: s.spec.name, dataBase64: Buffer.from(s.spec.data).toString('base64') } });
  }
  for (const id of configs) {
    const c = tx.get('config', id);
    if (c) out.set(key('config', id), { kind: 'config', id, config: { name: c.spec.name, dataBase64: Buffer.from(c.spec.data).toString('base64') } });
  }
  const networks = networkAssignmentsFor(
    tx,
    nodeId,
    local.filter((i) => !isFinished(i)),
    wireguardKey,
  );
  for (const [id, network] of networks) out.set(key('network', id), { kind: 'network', id, network });
  // Service discovery beside each overlay: names and VIP pools of the services on it.
  for (const [id, services] of serviceRecordsFor(tx, networks.keys())) out.set(key('services', id), { kind: 'services', id, services });
  // The routing mesh: on every node, whether or not it runs a task.
  const ingress = ingressAssignmentFor(tx, nodeId);
  if (ingress !== undefined) out.set(key('ingress', ingress.id), { kind: 'ingress', ...ingress });
  return out;
}

/**
 * The agent names containers and labels them as Swarm does (`<service>.<slot>.<task>`,
 * `com.docker.stack.namespace`), which needs the service's name and stack; the
 * instance only knows its workload's id, so they ride beside it on the wire.
 */
function withWorkloadNames(tx: ReadTx, i: Instance): Instance {
  const w = tx.get('workload', i.workloadId);
  if (!w) return i;
  // `mode=host` ports are the engine's own binding on the task's host (the agent's translation adds them).
  const hostPorts = (w.endpoint?.ports ?? w.spec.endpoint.ports).filter((p) => p.publishMode === 'host');
  return { ...i, workloadName: w.spec.name, ...(w.spec.stack ? { stackNamespace: w.spec.stack } : {}), ...(hostPorts.length > 0 ? { hostPorts } : {}) } as Instance;
}

/** The whole set as a `full: true` message's changes. */
export function fullChanges(set: AssignmentSet): AssignmentChange[] {
  return [...set.values()].map((item) => ({ action: 'update', item }));
}

/** Changes that turn `prev` into `next`: updates for new or changed items, removes for gone ones. */
export function diffAssignments(prev: AssignmentSet, next: AssignmentSet): AssignmentChange[] {
  const changes: AssignmentChange[] = [];
  for (const [k, item] of next) {
    const old = prev.get(k);
    if (old === undefined || !sameAssignment(old, item)) changes.push({ action: 'update', item });
  }
  for (const [k, item] of prev) if (!next.has(k)) changes.push({ action: 'remove', item: { kind: item.kind, id: item.id } });
  return changes;
}

function sameAssignment(a: Assignment, b: Assignment): boolean {
  if (a.kind === 'instance' && b.kind === 'instance') {
    const x = a.instance as Instance;
    const y = b.instance as Instance;
    if (x === y || x.version === y.version) return true;
    // Like swarmkit: once the agent has the instance, a change of observed status
    // alone (which the agent itself reported) is not sent back to it.
    return stateRank(y.status.state) > assignedRank && stableJson(x) === stableJson(y);
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The instance without what changes on every status report. */
function stableJson(i: Instance): string {
  const { version: _v, updatedAt: _u, status: _s, ...rest } = i;
  return JSON.stringify(rest);
}

/** Whether a store event can change this node's set (`current` is the set before it). */
export function concernsNode(ev: WatchEvent, nodeId: string, current: AssignmentSet): boolean {
  switch (ev.kind) {
    case 'instance':
      // Most commits are agents' status reports; for these no node's set can change, so no set is recomputed.
      if (ev.action === 'update' && isStatusReportOffNetwork(ev.old, ev.object)) return false;
      if (ev.object.nodeId === nodeId || (ev.action === 'update' && ev.old.nodeId === nodeId)) return true;
      if (onIngressOf(ev.object, current) || (ev.action === 'update' && onIngressOf(ev.old, current))) return true;
      // Another node's instance on one of our networks: a peer came, moved or went.
      return onNetworkOf(ev.object, current) || (ev.action === 'update' && onNetworkOf(ev.old, current));
    case 'secret':
    case 'config':
      return current.has(key(ev.kind, ev.object.id));
    case 'network':
      return current.has(key(ev.kind, ev.object.id)) || ev.object.spec.ingress;
    case 'node':
      // The routing mesh: a node came, went, or got its ingress address (this one included).
      if (ev.action !== 'update' || ev.old.ingressAddress !== ev.object.ingressAddress) return ev.object.id === nodeId || hasIngress(current);
      if (ev.old.status.addr !== ev.object.status.addr && hasIngress(current)) return true;
      if (ev.old.status.state !== ev.object.status.state && (ev.old.status.state === 'down' || ev.object.status.state === 'down') && hasIngress(current)) return true;
      // A peer's underlay address; cheap enough to recompute whenever this node has networks.
      return ev.action === 'update' && ev.old.status.addr !== ev.object.status.addr && hasNetworks(current);
    case 'workload':
      if (hasIngress(current) && (publishesIngress(ev.object) || (ev.action === 'update' && publishesIngress(ev.old)))) return true;
      // A service on one of our networks: its name, mode, VIP or aliases may have changed.
      return touchesNetworkOf(ev.object, current) || (ev.action === 'update' && touchesNetworkOf(ev.old, current));
    case 'cluster':
    case 'volume':
    case 'stack':
      return false;
  }
}

/**
 * Only the observed status moved, on an instance past `assigned` and on no
 * network. Its own node is not sent a status back (`sameAssignment`), and
 * only instances on networks feed other nodes' sets (peers, service records,
 * the routing mesh). Fields other than the status are compared by reference:
 * stored objects are frozen and a status write keeps the rest as it was, so a
 * field written anew only costs a recompute.
 */
export function isStatusReportOffNetwork(old: Instance, next: Instance): boolean {
  if (old.networks.length > 0 || next.networks.length > 0) return false;
  if (stateRank(old.status.state) <= assignedRank || stateRank(next.status.state) <= assignedRank) return false;
  const keys = Object.keys(next) as (keyof Instance)[];
  if (keys.length !== Object.keys(old).length) return false;
  return keys.every((k) => k === 'status' || k === 'version' || k === 'updatedAt' || old[k] === next[k]);
}

function onNetworkOf(i: Instance, current: AssignmentSet): boolean {
  return i.networks.some((a) => current.has(key('network', a.networkId)));
}

function touchesNetworkOf(w: Workload, current: AssignmentSet): boolean {
  return (w.endpoint?.virtualIps ?? []).some((v) => current.has(key('network', v.networkId))) || w.spec.template.networks.some((n) => current.has(key('network', n.target)));
}

function hasNetworks(current: AssignmentSet): boolean {
  for (const a of current.values()) if (a.kind === 'network') return true;
  return false;
}

function hasIngress(current: AssignmentSet): boolean {
  for (const a of current.values()) if (a.kind === 'ingress') return true;
  return false;
}

function onIngressOf(i: Instance, current: AssignmentSet): boolean {
  return i.networks.some((a) => current.has(key('ingress', a.networkId)));
}

function publishesIngress(w: Workload): boolean {
  return (w.endpoint?.ports ?? []).some((p) => p.publishMode === 'ingress');
}
