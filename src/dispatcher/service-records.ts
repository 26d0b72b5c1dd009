import { stateRank, type Instance, type Workload } from '../model/index.js';
import type { ReadTx } from '../store/index.js';
import { taskName } from '../translate/container.js';
import type { AttachedContainerRecord, NetworkServices, ServiceRecord, ServiceTask } from './protocol.js';

/**
 * Service discovery records per overlay network (what Swarm's libnetwork
 * gossips as service bindings; here the manager computes them and the
 * dispatcher sends them to the nodes that have tasks on the network). Pure
 * over a store snapshot.
 *
 * A task is in its service's pool while it can take new connections: its
 * observed state is `running` (with a healthcheck, the agent reports running
 * only once healthy, and reports `failed` as soon as it turns unhealthy) and
 * the manager still wants it (desired state below `shutdown`). So a task the
 * orchestrator asks to stop leaves the pool in the very commit that asks,
 * before its agent stops the container (the agent also waits a moment before
 * stopping it: src/agent/discovery.ts).
 */

const runningRank = stateRank('running');
const shutdownRank = stateRank('shutdown');

export function inServicePool(i: Instance): boolean {
  return stateRank(i.status.state) === runningRank && stateRank(i.desiredState) < shutdownRank && i.nodeId !== undefined;
}

const bare = (cidr: string): string => cidr.split('/')[0] ?? cidr;

function ipNumber(a: string): number {
  return a.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

/**
 * The records of the given networks: every workload with a VIP on the
 * network or naming it in its template, and every instance in the pool with
 * an address on it (an instance of an older spec still counts for its
 * workload). Networks without any service get an empty list.
 */
export function serviceRecordsFor(tx: ReadTx, networkIds: Iterable<string>): Map<string, NetworkServices> {
  const wanted = new Set(networkIds);
  const out = new Map<string, NetworkServices>();
  if (wanted.size === 0) return out;
  // network id → workload id → record being built
  const byNetwork = new Map<string, Map<string, { w: Workload; tasks: ServiceTask[] }>>();
  for (const id of wanted) byNetwork.set(id, new Map());
  const entry = (networkId: string, w: Workload): { w: Workload; tasks: ServiceTask[] } | undefined => {
    const perNet = byNetwork.get(networkId);
    if (perNet === undefined) return undefined;
    let e = perNet.get(w.id);
    if (e === undefined) {
      e = { w, tasks: [] };
      perNet.set(w.id, e);
    }
    return e;
  };
  const workloads = new Map<string, Workload>();
  for (const w of tx.list('workload')) {
    workloads.set(w.id, w);
    for (const v of w.endpoint?.virtualIps ?? []) entry(v.networkId, w);
    for (const n of w.spec.template.networks) entry(n.target, w);
  }
  const containers = new Map<string, AttachedContainerRecord[]>();
  for (const i of tx.list('instance', inServicePool)) {
    if (i.attachment !== undefined) {
      // A standalone container's attachment: its name and aliases resolve on the network (Swarm does the same).
      for (const a of i.networks) {
        const address = a.addresses[0];
        if (address === undefined || !wanted.has(a.networkId)) continue;
        const list = containers.get(a.networkId) ?? [];
        const name = i.attachment.containerName;
        list.push({ id: i.id, ...(name === undefined ? {} : { name }), aliases: [...a.aliases].sort(), address: bare(address), nodeId: i.nodeId ?? '' });
        containers.set(a.networkId, list);
      }
      continue;
    }
    const w = workloads.get(i.workloadId);
    if (w === undefined) continue;
    for (const a of i.networks) {
      const address = a.addresses[0];
      if (address === undefined || !wanted.has(a.networkId)) continue;
      entry(a.networkId, w)?.tasks.push({ id: i.id, name: taskName(i, w.spec.name, i.nodeId ?? ''), address: bare(address), nodeId: i.nodeId ?? '' });
    }
  }
  for (const [networkId, perNet] of byNetwork) {
    const network = tx.get('network', networkId);
    const services: ServiceRecord[] = [];
    for (const { w, tasks } of perNet.values()) {
      const mode = w.spec.endpoint.mode;
      const vip = mode === 'vip' ? w.endpoint?.virtualIps.find((v) => v.networkId === networkId)?.addr : undefined;
      const aliases = new Set<string>();
      for (const n of w.spec.template.networks) if (n.target === networkId) for (const a of n.aliases) aliases.add(a);
      services.push({
        id: w.id,
        name: w.spec.name,
        mode,
        ...(vip === undefined ? {} : { vip: bare(vip) }),
        aliases: [...aliases].sort(),
        tasks: tasks.sort((a, b) => ipNumber(a.address) - ipNumber(b.address) || a.id.localeCompare(b.id)),
      });
    }
    services.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    const attached = (containers.get(networkId) ?? []).sort((a, b) => ipNumber(a.address) - ipNumber(b.address) || a.id.localeCompare(b.id));
    out.set(networkId, { network: network?.spec.name ?? networkId, services, ...(attached.length === 0 ? {} : { containers: attached }) });
  }
  return out;
}
