/**
 * `GET /volumes` over several engines, pure. Local volumes live on one host
 * each, and two hosts may each have a volume of the same name (a service's
 * tasks on three hosts make three `data` volumes), so in a cluster every
 * (node, volume) pair is listed, named `<node>/<name>` as classic Swarm did,
 * with the node in `Status.Node` (the schema's free-form driver details; an
 * object there, as the schema asks). With one engine the engine's answer is
 * kept as it is. An engine that could not be asked becomes a warning.
 */
export type VolumeSummary = Readonly<Record<string, unknown>> & { readonly Name: string };

export interface VolumeListResponse {
  readonly Volumes: VolumeSummary[];
  readonly Warnings: string[];
}

/** Where a volume lives, as the listing and inspect show it. */
export interface VolumeNode {
  readonly id: string;
  readonly name: string;
}

export interface NodeVolumeList {
  readonly node: VolumeNode;
  /** The engine's `{"Volumes": [...], "Warnings": [...]}`. */
  readonly body: unknown;
}

/**
 * `lists[0]` is the local engine's. `cluster` names each volume
 * `<node>/<name>` and keeps every node's; otherwise a name is listed once,
 * the first engine's winning. `nodes` keeps only those nodes (the classic
 * `node` filter, by name or id).
 */
export function mergeVolumeLists(lists: readonly NodeVolumeList[], extraWarnings: readonly string[] = [], o: { readonly cluster?: boolean; readonly nodes?: readonly string[] } = {}): VolumeListResponse {
  const byName = new Map<string, VolumeSummary>();
  const warnings: string[] = [];
  for (const { node, body } of lists) {
    if (o.nodes !== undefined && o.nodes.length > 0 && !o.nodes.includes(node.name) && !o.nodes.includes(node.id)) continue;
    if (!body || typeof body !== 'object') continue;
    const { Volumes, Warnings } = body as { Volumes?: unknown; Warnings?: unknown };
    if (Array.isArray(Volumes)) {
      for (const v of Volumes) {
        if (!v || typeof v !== 'object') continue;
        const volume = normalizeVolume(v as Record<string, unknown>);
        const listed = o.cluster === true ? { ...withNode(volume, node), Name: `${node.name}/${volume.Name}` } : volume;
        if (!byName.has(listed.Name)) byName.set(listed.Name, listed);
      }
    }
    if (Array.isArray(Warnings)) for (const w of Warnings) if (typeof w === 'string') warnings.push(w);
  }
  return { Volumes: [...byName.values()], Warnings: [...warnings, ...extraWarnings] };
}

/** The 1.41 engines send null where API 1.47 promises an (empty) object. */
export function normalizeVolume(raw: Readonly<Record<string, unknown>>): VolumeSummary {
  return { ...raw, Name: String(raw['Name'] ?? ''), Labels: raw['Labels'] ?? {}, Options: raw['Options'] ?? {} };
}

/** The volume with the node it lives on in `Status.Node` (`{ID, Name}`), the driver's own status kept. */
export function withNode(volume: VolumeSummary, node: VolumeNode): VolumeSummary {
  const status = volume['Status'] && typeof volume['Status'] === 'object' ? (volume['Status'] as Record<string, unknown>) : {};
  return { ...volume, Status: { ...status, Node: { ID: node.id, Name: node.name } } };
}

/**
 * A volume reference as the CLI sends it: `name`, or `<node>/<name>` (a node's
 * name or id) as the cluster listing shows it. Volume names never hold a
 * slash (the engines refuse them), so the first one separates the node.
 */
export function parseVolumeRef(ref: string): { readonly node?: string; readonly name: string } {
  const slash = ref.indexOf('/');
  if (slash <= 0) return { name: ref };
  return { node: ref.slice(0, slash), name: ref.slice(slash + 1) };
}
