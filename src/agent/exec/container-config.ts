import type { Instance } from '../../model/index.js';
import { instanceLabels, taskNameOf } from '../labels.js';

/**
 * A container-create request: the engine's name and body, and the networks to
 * connect after create (the v1.41 create joins one). `swarmContainerConfig`
 * (./translate.ts, over src/translate) is the agent's translation;
 * `minimalContainerConfig` maps only what hand-written instances need and
 * stays for tests that drive an engine without a manager.
 */
export interface ContainerCreateRequest {
  readonly name: string;
  readonly body: Readonly<Record<string, unknown>>;
  readonly connect?: readonly { readonly name: string; readonly addresses: readonly string[]; readonly aliases: readonly string[] }[];
}

/** Where the agent wrote each secret's and config's data on the host (its tmpfs), by reference id. */
export interface HostFilePaths {
  readonly secrets: Readonly<Record<string, string>>;
  readonly configs: Readonly<Record<string, string>>;
}

export interface TranslateContext {
  readonly nodeId: string;
  readonly nodeHostname?: string;
  readonly files: HostFilePaths;
}

export type TranslateInstance = (instance: Instance, ctx: TranslateContext) => ContainerCreateRequest;

export const noHostFiles: HostFilePaths = { secrets: {}, configs: {} };

/**
 * The engine binds the agent's secret and config files by path, so it must see
 * the agent's tmpfs where the agent mounted it. When it cannot (the agent runs
 * in another mount namespace: a container, a unit with private mounts, a test
 * bed host's sshd), the engine only says the bind source does not exist; this
 * says why, so `docker service ps --no-trunc` points at the cause.
 */
export function explainHostFilesError(message: string, files: HostFilePaths): string {
  const m = /bind source path does not exist: (\S+)/.exec(message);
  if (!m?.[1]) return message;
  const missing = m[1];
  const ours = [...Object.values(files.secrets), ...Object.values(files.configs)].some((p) => p === missing);
  if (!ours) return message;
  return `${message} (the engine cannot see the agent's secrets and configs tmpfs: the agent and the engine must share one mount namespace)`;
}

/** `busybox` means `busybox:latest`; a bare repository would make the engine pull every tag. */
export function normaliseImage(image: string): string {
  if (image.includes('@')) return image;
  const lastSlash = image.lastIndexOf('/');
  return image.slice(lastSlash + 1).includes(':') ? image : `${image}:latest`;
}

export const minimalContainerConfig: TranslateInstance = (instance, { nodeId }) => {
  const c = instance.template.containers[0];
  if (c === undefined) throw new Error(`instance ${instance.id} has no container template`);
  const body: Record<string, unknown> = {
    Image: normaliseImage(c.image),
    Env: [...c.env],
    // Our labels last: a template cannot pretend to be another task.
    Labels: { ...c.labels, ...instanceLabels(instance, nodeId) },
    Tty: c.tty,
    OpenStdin: c.openStdin,
    HostConfig: { ...(c.init === undefined ? {} : { Init: c.init }), ReadonlyRootfs: c.readOnly },
  };
  if (c.command.length > 0) body['Entrypoint'] = [...c.command];
  if (c.args.length > 0) body['Cmd'] = [...c.args];
  if (c.workingDir !== '') body['WorkingDir'] = c.workingDir;
  if (c.user !== '') body['User'] = c.user;
  if (c.hostname !== '') body['Hostname'] = c.hostname;
  if (c.stopSignal !== '') body['StopSignal'] = c.stopSignal;
  // Kept on the container so whoever stops it later (a restarted agent cleaning up) uses the same grace.
  body['StopTimeout'] = Math.max(0, Math.ceil(c.stopGracePeriodMs / 1000));
  return { name: taskNameOf(instance, nodeId), body };
};
