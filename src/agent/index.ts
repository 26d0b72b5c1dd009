import { Agent, type AgentOptions, type JoinParams } from './agent.js';
import { DockerEndpoint } from './docker-endpoint.js';
import type { SwarmInfo } from './swarm-info.js';

export { Agent, engineEndpointFor, AlreadyInSwarmMessage, NotInSwarmMessage, type AgentOptions, type JoinParams } from './agent.js';
export { DockerEndpoint, interceptedRoute, WorkerNotManagerMessage } from './docker-endpoint.js';
export { DockerExecutor, type Executor } from './exec/executor.js';
export type { Controller } from './exec/controller.js';
export { minimalContainerConfig, type TranslateInstance, type TranslateContext, type ContainerCreateRequest, type HostFilePaths } from './exec/container-config.js';
export { swarmContainerConfig, swarmTranslation, type NetworksOf } from './exec/translate.js';
export { hostFilesDir, TmpfsHostFiles, systemTmpfs, type HostFiles, type TmpfsMounter } from './secrets.js';
export { Labels as AgentLabels, instanceLabels, recoverFromLabels } from './labels.js';
export { StateDir, type NodeIdentity } from './state-dir.js';
export { joinCluster } from './join.js';

export interface StartAgentOptions extends AgentOptions {
  /** The agent's Docker endpoint on its host: a unix socket (unix:///path). */
  readonly listenDocker?: string;
  /** And/or TCP with TLS from the node certificate, "ADDR:PORT" (served once joined). */
  readonly listenDockerTcp?: string;
}

export interface RunningAgent {
  readonly agent: Agent;
  readonly endpoint: DockerEndpoint | undefined;
  nodeId(): string | undefined;
  swarmInfo(): SwarmInfo;
  join(params: JoinParams): Promise<void>;
  leave(): Promise<void>;
  /** Stops the agent and its endpoint; containers keep running (live-restore). */
  stop(): Promise<void>;
}

/**
 * One agent, in this process: the `stevedore agent` command runs one, and the
 * gateway runs one for its own engine (the first node), through the very same
 * protocol a remote agent speaks.
 */
export async function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  const agent = new Agent(opts.listenDockerTcp === undefined || opts.dockerTcpListen !== undefined ? opts : { ...opts, dockerTcpListen: opts.listenDockerTcp });
  await agent.start();
  let endpoint: DockerEndpoint | undefined;
  if (opts.listenDocker !== undefined || opts.listenDockerTcp !== undefined) {
    endpoint = new DockerEndpoint({
      agent,
      engine: agent.engine,
      log: agent.log,
      ...(opts.listenDocker === undefined ? {} : { unixSocket: opts.listenDocker }),
      ...(opts.listenDockerTcp === undefined ? {} : { tcp: opts.listenDockerTcp }),
    });
    try {
      await endpoint.listen();
    } catch (err) {
      await agent.stop();
      throw err;
    }
  }
  return {
    agent,
    endpoint,
    nodeId: () => agent.nodeId(),
    swarmInfo: () => agent.swarmInfo(),
    join: (p) => agent.join(p),
    leave: () => agent.leave(),
    stop: async () => {
      await endpoint?.close();
      await agent.stop();
    },
  };
}
