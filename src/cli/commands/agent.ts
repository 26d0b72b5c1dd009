import http from 'node:http';
import path from 'node:path';
import type { Command } from 'commander';
import { Engine, parseEngineUrl } from '../../engine/index.js';
import { createLogger, silentLogger } from '../../util/log.js';
import { EngineSandboxes } from '../../agent/sandboxes.js';
import { DockerExecutor, hostFilesDir, joinCluster, startAgent, StateDir, systemTmpfs } from '../../agent/index.js';
import { cleanHost, ExecRunner } from '../../agent/network/index.js';
import { ContainerAdapter } from '../../agent/exec/adapter.js';

const defaultSocket = 'unix:///run/stevedore/agent.sock';

/**
 * `stevedore agent` runs the host's agent; `stevedore agent join` joins it to a
 * cluster, through a running agent's Docker endpoint (as `docker swarm join`
 * would) or, with --state-dir, straight into the state directory of an agent
 * that is not running yet.
 */
export function registerAgentCommands(program: Command): void {
  const agent = program
    .command('agent')
    // `agent join --state-dir X` must reach join's own option, not the parent's.
    .enablePositionalOptions()
    .description('Run the agent of this host: joins a cluster and runs its instances on the host\'s Docker engine')
    .option('--engine <url>', 'the host\'s Docker engine', 'unix:///var/run/docker.sock')
    .option('--state-dir <dir>', 'where the node key, certificate, CA and managers are kept', '/var/lib/stevedore/agent')
    .option('--listen-docker <url>', 'the agent\'s Docker endpoint (unix socket)', defaultSocket)
    .option('--listen-docker-tcp <addr:port>', 'also serve the Docker endpoint on TCP with TLS (node certificate, cluster CA)')
    .option('--log-level <level>', 'log level', 'info')
    .option('--no-overlay', 'do not build overlay networks on this host (instances then use the engine\'s default network)')
    .option('--wireguard-interface <name>', 'the WireGuard interface of encrypted overlays', 'stvwg0')
    .option('--no-sandbox', 'leave the network of instances on no cluster network to the engine, even where it has the stevedore runtime (src/agent/sandboxes.ts)')
    .action(async (o: { engine: string; stateDir: string; listenDocker: string; listenDockerTcp?: string; logLevel: string; overlay: boolean; sandbox: boolean; wireguardInterface: string }) => {
      const log = createLogger({ name: 'stevedore-agent', level: o.logLevel });
      const running = await startAgent({
        engine: o.engine,
        stateDir: o.stateDir,
        log,
        listenDocker: o.listenDocker,
        overlay: o.overlay ? { wireguardInterface: o.wireguardInterface } : false,
        ...(o.sandbox ? {} : { sandbox: false }),
        ...(o.listenDockerTcp === undefined ? {} : { listenDockerTcp: o.listenDockerTcp }),
      });
      log.info({ nodeId: running.nodeId() ?? null, engine: o.engine }, 'agent started');
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void running.stop().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });

  agent
    .command('join')
    .description('Join this host to a cluster (as `docker swarm join`)')
    .argument('<manager>', 'a manager\'s address, HOST[:2377]')
    .requiredOption('--token <token>', 'the worker join token (SWMTKN-…)')
    .option('--agent <url>', 'the running agent\'s Docker endpoint', defaultSocket)
    .option('--state-dir <dir>', 'join without a running agent, writing into this state directory')
    .option('--engine <url>', 'with --state-dir: the engine to describe', 'unix:///var/run/docker.sock')
    .option('--advertise-addr <addr>', 'the address this node is reached at')
    .action(async (manager: string, o: { token: string; agent: string; stateDir?: string; engine: string; advertiseAddr?: string }) => {
      const remote = /:\d+$/.test(manager) ? manager : `${manager}:2377`;
      if (o.stateDir !== undefined) {
        const state = new StateDir(o.stateDir);
        if ((await state.load()) !== undefined) throw new Error('This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.');
        const engine = new Engine(parseEngineUrl(o.engine));
        try {
          const description = await new DockerExecutor(engine).describe();
          const id = await joinCluster({ token: o.token, remoteAddrs: [remote], description, ...(o.advertiseAddr === undefined ? {} : { advertiseAddr: o.advertiseAddr }) });
          await state.save(id);
          console.log(`This node joined a swarm as a ${id.role}.`);
        } finally {
          engine.close();
        }
        return;
      }
      const body = JSON.stringify({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: o.advertiseAddr ?? '', RemoteAddrs: [remote], JoinToken: o.token, Availability: 'active' });
      const socketPath = o.agent.replace(/^unix:\/\//, '');
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ socketPath, method: 'POST', path: '/swarm/join', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if ((res.statusCode ?? 500) < 300) {
              console.log('This node joined a swarm as a worker.');
              return resolve();
            }
            const text = Buffer.concat(chunks).toString('utf8');
            let message = text;
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? text;
            } catch {
              /* plain */
            }
            reject(new Error(`Error response from agent: ${message}`));
          });
        });
        req.on('error', reject);
        req.end(body);
      });
    });

  agent
    .command('clean-host')
    .description('Remove this host\'s overlay data plane (our links, iptables chains, mesh table) once its engine is stopped for good, or once the agent\'s containers are gone (--remove-containers)')
    .option('--wireguard-interface <name>', 'the WireGuard interface of encrypted overlays', 'stvwg0')
    .option('--engine <url>', 'the host\'s Docker engine, which must be stopped first', 'unix:///var/run/docker.sock')
    .option('--force', 'clean even though the engine still answers (its containers lose their overlays)', false)
    .option('--remove-containers', 'first remove the containers the agent made and its secrets tmpfs, as leaving the swarm does; the overlays then go even though the engine answers', false)
    .option('--state-dir <dir>', 'with --remove-containers: the agent\'s state directory (its secrets tmpfs is under it)', '/var/lib/stevedore/agent')
    .action(async (o: { wireguardInterface: string; engine: string; force: boolean; removeContainers: boolean; stateDir: string }) => {
      if (o.removeContainers) {
        // What a dead agent could not do on its way out (`stevedore node remove --force`): its tasks' containers go,
        // then the tmpfs their secrets were in (a killed agent leaves it mounted; nothing holds it any more).
        if (await engineAnswers(o.engine)) {
          const removed = await removeManagedContainers(o.engine);
          console.log(`removed: ${removed} container${removed === 1 ? '' : 's'} the agent made`);
          await removeSandboxNetwork(o.engine, o.stateDir);
        }
        const files = hostFilesDir(o.stateDir);
        if (await systemTmpfs.isMounted(files)) {
          await systemTmpfs.unmount(files, false);
          console.log(`removed: the secrets tmpfs at ${files}`);
        }
      }
      // While the engine runs, its containers (live-restored ones too) may sit on these overlays.
      if (!o.force && !o.removeContainers && (await engineAnswers(o.engine))) {
        console.error(`Error: the engine at ${o.engine} still answers; its containers may use this host's overlays. Stop the engine first, or pass --force.`);
        process.exitCode = 1;
        return;
      }
      const r = await cleanHost(new ExecRunner(), { wireguardInterface: o.wireguardInterface });
      console.log(`removed: ${r.links.length} links${r.links.length ? ` (${r.links.join(' ')})` : ''}, ${r.chains.length} chains${r.chains.length ? ` (${r.chains.join(' ')})` : ''}, ${r.nftTable ? 'the mesh table' : 'no mesh table'}`);
    });
}

/** Removes every container carrying the agent's `managed` label, running or not; how many went. */
async function removeManagedContainers(url: string): Promise<number> {
  const engine = new Engine(parseEngineUrl(url));
  try {
    const adapter = new ContainerAdapter(engine);
    const ours = await adapter.listManaged();
    for (const c of ours) await adapter.remove(c.Id);
    return ours.length;
  } finally {
    engine.close();
  }
}

/** The instance sandboxes' Docker network and directories (src/agent/sandboxes.ts), once their containers are gone. */
async function removeSandboxNetwork(url: string, stateDir: string): Promise<void> {
  const engine = new Engine(parseEngineUrl(url));
  try {
    await new EngineSandboxes({ engine, dir: path.join(stateDir, 'sandboxes'), log: silentLogger }).removeNetwork();
  } finally {
    engine.close();
  }
}

/** Whether a Docker engine answers `_ping` at `url` within two seconds. */
async function engineAnswers(url: string): Promise<boolean> {
  const engine = new Engine(parseEngineUrl(url));
  try {
    await Promise.race([engine.docker.ping(), new Promise((_r, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())]);
    return true;
  } catch {
    return false;
  } finally {
    engine.close();
  }
}
