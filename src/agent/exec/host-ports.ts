import type { Instance, PortConfig } from '../../model/index.js';
import type { TranslateInstance } from './container-config.js';

/**
 * Ports published with `mode=host`: the engine's own port binding on the
 * task's host (Swarm does the same), so they answer only where a task runs.
 * The manager sends them beside the instance (`hostPorts`, as it sends the
 * service's name); ingress-mode ports are the routing mesh's (src/agent/mesh.ts).
 */
export function hostPortsOf(instance: Instance): PortConfig[] {
  const raw = (instance as { readonly hostPorts?: unknown }).hostPorts;
  return Array.isArray(raw) ? (raw as PortConfig[]).filter((p) => p.publishMode === 'host' && Number.isInteger(p.targetPort) && p.targetPort > 0) : [];
}

/** The create body with `ExposedPorts` and `HostConfig.PortBindings` for the instance's host-mode ports. */
export function withHostPorts(inner: TranslateInstance): TranslateInstance {
  return (instance, ctx) => {
    const out = inner(instance, ctx);
    const ports = hostPortsOf(instance);
    if (ports.length === 0) return out;
    const exposed: Record<string, Record<string, never>> = { ...((out.body['ExposedPorts'] ?? {}) as Record<string, Record<string, never>>) };
    const host = (out.body['HostConfig'] ?? {}) as Record<string, unknown>;
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = { ...((host['PortBindings'] ?? {}) as Record<string, { HostIp: string; HostPort: string }[]>) };
    for (const p of ports) {
      const key = `${p.targetPort}/${p.protocol}`;
      exposed[key] = {};
      // 0: the engine picks a free port, as Swarm does for `mode=host` without a number.
      bindings[key] = [...(bindings[key] ?? []), { HostIp: '', HostPort: p.publishedPort > 0 ? String(p.publishedPort) : '' }];
    }
    return { ...out, body: { ...out.body, ExposedPorts: exposed, HostConfig: { ...host, PortBindings: bindings } } };
  };
}
