import type { Engine } from '../../engine/index.js';
import { conflict } from '../../util/errors.js';
import { LABEL_ENCRYPTED, LABEL_MANAGED, LABEL_NETWORK_ID } from './addressing.js';
import type { ObservedDockerNetwork, Operation } from './types.js';

/**
 * The engine side of the adapter: the overlay's Docker `macvlan` network on the
 * host's engine, whose parent is the network's device (ours), so the host's
 * containers attach the ordinary way (EndpointsConfig with the cluster's
 * IPv4Address) and Docker owns their interfaces, IPAM and embedded DNS.
 */
export interface DockerNetworks {
  /** Our network for this cluster network id (by label), else by name. */
  find(networkId: string, name?: string): Promise<ObservedDockerNetwork | undefined>;
  /** The cluster network ids of our encrypted networks on this engine. */
  encryptedNetworkIds(): Promise<readonly string[]>;
  create(op: Extract<Operation, { op: 'docker.network.create' }>): Promise<void>;
  remove(op: Extract<Operation, { op: 'docker.network.remove' }>): Promise<void>;
}

interface InspectBody {
  Id: string;
  Name: string;
  Driver?: string;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] | null } | null;
  Containers?: Record<string, unknown> | null;
}

const statusOf = (err: unknown): number | undefined =>
  typeof err === 'object' && err !== null && typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : undefined;

export class EngineDockerNetworks implements DockerNetworks {
  constructor(private readonly engine: Engine) {}

  private async inspect(idOrName: string): Promise<ObservedDockerNetwork | undefined> {
    let body: InspectBody;
    try {
      body = (await this.engine.docker.getNetwork(idOrName).inspect()) as InspectBody;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
    const ipam = body.IPAM?.Config?.[0] ?? {};
    const options = body.Options ?? {};
    return {
      id: body.Id,
      name: body.Name,
      driver: body.Driver ?? '',
      parent: options['parent'] ?? '',
      subnet: ipam.Subnet ?? '',
      gateway: ipam.Gateway ?? '',
      labels: body.Labels ?? {},
      containers: Object.keys(body.Containers ?? {}).length,
    };
  }

  async find(networkId: string, name?: string): Promise<ObservedDockerNetwork | undefined> {
    const listed = (await this.engine.docker.listNetworks({ filters: { label: [`${LABEL_NETWORK_ID}=${networkId}`] } })) as { Id: string }[];
    const first = listed[0];
    if (first) return this.inspect(first.Id);
    if (name === undefined) return undefined;
    const byName = await this.inspect(name);
    return byName && byName.name === name ? byName : undefined;
  }

  async encryptedNetworkIds(): Promise<readonly string[]> {
    const listed = (await this.engine.docker.listNetworks({ filters: { label: [`${LABEL_ENCRYPTED}=true`, `${LABEL_MANAGED}=true`] } })) as {
      Labels?: Record<string, string> | null;
    }[];
    return listed.map((n) => n.Labels?.[LABEL_NETWORK_ID] ?? '').filter((id) => id !== '');
  }

  async create(op: Extract<Operation, { op: 'docker.network.create' }>): Promise<void> {
    await this.engine.docker.createNetwork({
      Name: op.name,
      // Not `Internal`: the macvlan driver would then ignore the parent and make
      // a dummy device (which this kernel lacks); an internal overlay is kept in
      // by the firewall instead (planner.ts, filterRules). The containers' MTU
      // is the parent's.
      Driver: 'macvlan',
      CheckDuplicate: true,
      Attachable: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: op.subnet, Gateway: op.gateway }] },
      Options: { parent: op.parent, macvlan_mode: 'bridge' },
      Labels: { ...op.labels },
    });
  }

  async remove(op: Extract<Operation, { op: 'docker.network.remove' }>): Promise<void> {
    try {
      await this.engine.docker.getNetwork(op.id).remove();
    } catch (err) {
      if (statusOf(err) === 404) return;
      if (statusOf(err) === 403 || statusOf(err) === 409) throw conflict(`overlay ${op.name}: the host's engine still has containers on it`);
      throw err;
    }
  }
}
