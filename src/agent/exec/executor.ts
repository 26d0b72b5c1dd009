import type { Engine } from '../../engine/index.js';
import type { Instance, NodeDescription } from '../../model/index.js';
import { describeNode, type EngineInfo, type EngineVersion } from '../describe.js';
import { Labels, recoverFromLabels, taskNameOf, type RecoveredContainer } from '../labels.js';
import type { HostFiles } from '../secrets.js';
import type { Sandboxes } from '../sandboxes.js';
import { ContainerAdapter } from './adapter.js';
import type { TranslateInstance } from './container-config.js';
import { ContainerController, type Controller } from './controller.js';
import { swarmContainerConfig } from './translate.js';

/**
 * Swarm's exec.Executor: what the agent asks of its host. Describe the node,
 * make a controller for an instance, and find what is already running
 * (live-restore). One implementation drives a Docker engine; tests may bring
 * their own.
 */
export interface Executor {
  describe(): Promise<NodeDescription>;
  controller(instance: Instance, nodeId: string, containerId?: string): Controller & { readonly id: string | undefined };
  /** Containers this agent made on its engine for `nodeId` (all of them when undefined). */
  recover(nodeId: string | undefined): Promise<RecoveredContainer[]>;
  /** Stop (with the grace it was created with) and remove a container no instance claims any more. */
  removeContainer(containerId: string): Promise<void>;
}

export interface DockerExecutorOptions {
  /** Instance → container-create request; src/translate's by default. */
  readonly translate?: TranslateInstance;
  /** Where secrets and configs are written (a tmpfs); without it instances that use them are rejected. */
  readonly files?: HostFiles;
  /** Instance sandboxes (src/agent/sandboxes.ts); without them instances use the engine's default network. */
  readonly sandboxes?: Sandboxes;
}

export class DockerExecutor implements Executor {
  readonly adapter: ContainerAdapter;
  private readonly translate: TranslateInstance;
  private hostname: string | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly opts: DockerExecutorOptions = {},
  ) {
    this.adapter = new ContainerAdapter(engine);
    this.translate = opts.translate ?? swarmContainerConfig;
  }

  async describe(): Promise<NodeDescription> {
    const [info, version] = await Promise.all([this.engine.docker.info() as Promise<EngineInfo>, this.engine.docker.version() as Promise<EngineVersion>]);
    const d = describeNode(info, version);
    this.hostname = d.hostname;
    return d;
  }

  controller(instance: Instance, nodeId: string, containerId?: string): ContainerController {
    const hostname = this.hostname;
    return new ContainerController({
      adapter: this.adapter,
      instance,
      name: taskNameOf(instance, nodeId),
      request: (files) => this.translate(instance, { nodeId, files, ...(hostname === undefined ? {} : { nodeHostname: hostname }) }),
      ...(this.opts.files === undefined ? {} : { files: this.opts.files }),
      ...(containerId === undefined ? {} : { containerId }),
      ...(this.opts.sandboxes === undefined ? {} : { sandboxes: this.opts.sandboxes }),
    });
  }

  async recover(nodeId: string | undefined): Promise<RecoveredContainer[]> {
    return recoverFromLabels(await this.adapter.listManaged(), nodeId);
  }

  async removeContainer(containerId: string): Promise<void> {
    const instanceId = this.opts.sandboxes === undefined ? undefined : (await this.adapter.inspect(containerId))?.labels[Labels.taskId];
    await this.adapter.stop(containerId);
    await this.adapter.remove(containerId);
    if (instanceId !== undefined) await this.opts.sandboxes?.release(instanceId);
  }
}
