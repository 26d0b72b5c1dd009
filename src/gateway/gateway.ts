import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { Engine, parseEngineUrl, describeEndpoint, type EngineDirectory } from '../engine/index.js';
import { SwarmEngineDirectory } from '../engine/directory-swarm.js';
import { localAgentComponent } from './local-agent.js';
import { engineInOurNetns } from './engine-netns.js';
import { swarmNodesView } from './swarm-nodes.js';
import type { ApiContext } from '../api/docker/context.js';
import { createDockerApiServer, type DockerApiServer } from '../api/docker/server.js';
import { engineJson } from '../api/docker/engine-call.js';
import { serverTlsOptions } from '../pki/index.js';
import type { Logger } from '../util/log.js';
import { unavailable } from '../util/errors.js';
import { loadOrCreateIdentity } from './identity.js';
import { join } from 'node:path';
import { SqliteStore } from '../store/sqlite.js';
import { startSwarmManager } from '../manager/index.js';
import { systemClock } from '../util/clock.js';
import { randomIds } from '../util/ids.js';

/**
 * The gateway process's composition root: engines → engine directory → API
 * context → Docker API server (mutual TLS) → listening socket. Nothing else
 * builds these; nothing here holds request logic.
 */
export interface GatewayOptions {
  readonly listen: { readonly host: string; readonly port: number };
  /** PKI directory (src/pki layout); ignored with insecureHttp. */
  readonly pkiDir: string;
  /** Plain HTTP without client certificates: for tests only. */
  readonly insecureHttp?: boolean;
  readonly engineUrl: string;
  readonly stateDir: string;
  readonly log: Logger;
  /** Swarm mode: where the dispatcher listens once a swarm exists (default 0.0.0.0:2377). */
  readonly dispatcherListen?: string;
  /** Swarm mode: the address `docker swarm init` advertises by default. */
  readonly advertiseAddr?: string;
  /** Swarm mode: where the first node's agent mounts its tmpfs for secrets (`<state-dir>/agent/run` by default). */
  readonly agentRunDir?: string;
  /**
   * Swarm mode: whether the first node builds overlay networks (its tasks on
   * them, attachable containers through this API). `auto` (the default): when
   * its engine shares this process's network namespace (engine-netns.ts).
   */
  readonly overlay?: 'auto' | 'on' | 'off';
  /** The WireGuard interface of the first node's encrypted overlays (default stvwg0). */
  readonly wireguardInterface?: string;
}

export interface RunningGateway {
  readonly address: AddressInfo;
  readonly engines: EngineDirectory;
  /** Stops accepting, lets requests in flight finish (up to `graceMs`), then closes everything. */
  stop(graceMs?: number): Promise<void>;
}

/** Asks the engine who it is; retried briefly so a gateway may start beside a booting engine. */
async function engineNode(engine: Engine, log: Logger): Promise<{ nodeId: string; nodeName: string }> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const info = await engineJson<{ ID?: string; Name?: string }>(engine, 'GET', '/info');
      return { nodeId: info.ID ?? 'local', nodeName: info.Name ?? 'local' };
    } catch (err) {
      lastErr = err;
      if (attempt === 0) log.warn({ engine: describeEndpoint(engine.endpoint), err: (err as Error).message }, 'engine not answering yet; retrying');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw unavailable(`the engine at ${describeEndpoint(engine.endpoint)} does not answer: ${(lastErr as Error)?.message ?? lastErr}`);
}

/** Whether the first node's agent builds overlays (GatewayOptions.overlay), said in the log either way. */
async function firstNodeOverlay(options: GatewayOptions, engine: Engine, log: Logger): Promise<boolean> {
  const mode = options.overlay ?? 'auto';
  if (mode !== 'auto') return mode === 'on';
  const shared = await engineInOurNetns(engine.endpoint);
  if (shared) log.info('the first node builds overlay networks: its engine shares the gateway\'s network namespace');
  else log.warn({ engine: describeEndpoint(engine.endpoint) }, 'the first node takes no part in overlay networks: its engine is in another network namespace (tasks there ignore their overlays; run the gateway in that namespace, or attach through another node)');
  return shared;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { log } = options;
  const engine = new Engine(parseEngineUrl(options.engineUrl));
  const node = await engineNode(engine, log);
  const identity = await loadOrCreateIdentity(options.stateDir);
  // ---- Swarm mode (src/manager): the store in the state dir, the manager over the gateway's CA.
  const store = new SqliteStore({ path: join(options.stateDir, 'store.db'), keyPath: join(options.stateDir, 'store.key') });
  const swarm = await startSwarmManager({
    store,
    pkiDir: options.pkiDir,
    clock: systemClock,
    ids: randomIds,
    log,
    engine,
    engineUrl: options.engineUrl,
    ...(options.dispatcherListen === undefined ? {} : { listen: options.dispatcherListen }),
    ...(options.advertiseAddr === undefined ? {} : { advertiseAddr: options.advertiseAddr }),
  }).catch(async (err: unknown) => {
    if (!options.insecureHttp) throw err;
    log.warn({ err: (err as Error).message }, 'swarm mode unavailable (no CA)');
    return undefined;
  });
  // The first node's agent (in this process, same protocol as every host's), and the
  // engines of all nodes through their agents, with its node certificate.
  const overlay = swarm ? await firstNodeOverlay(options, engine, log) : false;
  const localAgent = swarm
    ? localAgentComponent({
        manager: swarm.manager,
        store,
        engine,
        stateDir: join(options.stateDir, 'agent'),
        runDir: options.agentRunDir ?? join(options.stateDir, 'agent', 'run'),
        overlay: overlay ? { ...(options.wireguardInterface === undefined ? {} : { wireguardInterface: options.wireguardInterface }) } : false,
        log,
      })
    : undefined;
  const swarmCtx = swarm
    ? {
        swarm: swarm.manager,
        infoContributors: [swarm.manager.contributeInfo],
        swarmStatus: swarm.manager.pingStatus,
        localAttachments: () => localAgent?.running()?.agent.attachments,
      }
    : {};
  if (swarm && localAgent) await swarm.manager.use(localAgent);
  const engines = new SwarmEngineDirectory({
    local: { ...node, engine },
    nodes: () => swarmNodesView(store),
    tls: () => localAgent?.identity(),
  });
  // ---- end of Swarm mode wiring
  const ctx: ApiContext = { engines, log: log.child({ component: 'docker-api' }), identity, ...swarmCtx };

  const tls = options.insecureHttp ? undefined : serverTlsOptions(options.pkiDir);
  const server: DockerApiServer = createDockerApiServer(ctx, tls ? { tls } : {});
  // A root rotation changes what the API trusts (both roots while it runs) and, at its end, its own certificate.
  const unRootCa =
    tls && swarm
      ? swarm.manager.onRootCaChange((change) => {
          try {
            if ('setSecureContext' in server) server.setSecureContext(serverTlsOptions(options.pkiDir));
            log.info({ change }, 'API TLS follows the root CA');
          } catch (err) {
            log.error({ err }, 'the API could not follow the root CA change');
          }
        })
      : undefined;

  // Hijacked sockets leave the server's bookkeeping; track every socket so stop() can end them.
  const sockets = new Set<Socket>();
  server.on(options.insecureHttp ? 'connection' : 'secureConnection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  if (!options.insecureHttp) {
    server.on('tlsClientError', (err: Error) => log.debug({ err: err.message }, 'TLS handshake refused'));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'server error'));
  const address = server.address() as AddressInfo;
  log.info(
    {
      listen: `${address.address}:${address.port}`,
      tls: !options.insecureHttp,
      engine: describeEndpoint(engine.endpoint),
      node: node.nodeName,
      id: identity.id,
    },
    options.insecureHttp ? 'gateway listening (plain HTTP, no client certificates: tests only)' : 'gateway listening (mutual TLS)',
  );

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5_000): Promise<void> =>
    (stopping ??= new Promise<void>((resolve) => {
      log.info('gateway stopping');
      unRootCa?.();
      const timer = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, graceMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        // Swarm mode: the dispatcher goes first, then the store it writes to.
        void (swarm?.stop() ?? Promise.resolve())
          .then(() => store.close())
          .catch((err: unknown) => log.error({ err }, 'closing swarm mode failed'))
          .finally(() => {
            engines.close();
            engine.close();
            log.info('gateway stopped');
            resolve();
          });
      });
      // Idle keep-alive connections go now; requests in flight (and streams
      // such as logs -f or attach, which never end by themselves) get the grace.
      server.closeIdleConnections();
    }));

  return { address, engines, stop };
}
