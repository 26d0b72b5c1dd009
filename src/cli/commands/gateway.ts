import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseListenAddress, startGateway } from '../../gateway/index.js';
import { createLogger } from '../../util/log.js';

/**
 * `stevedore gateway`: runs the Docker-compatible endpoint until SIGTERM or
 * SIGINT, then stops gracefully. Thin: flags in, src/gateway does the work.
 */
export function registerGatewayCommands(program: Command): void {
  program
    .command('gateway')
    .description('Serve the Docker Engine API (mutual TLS) in front of the engines')
    .option('--listen <host:port>', 'address to listen on', '0.0.0.0:2376')
    .option('--pki <dir>', 'PKI directory (see `stevedore pki init`)', 'certs')
    .option('--engine <url>', 'the engine behind the gateway (unix:///path or tcp://host:port)', 'unix:///var/run/docker.sock')
    .option('--state-dir <dir>', 'where the gateway keeps its state', '/var/lib/stevedore/gateway')
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'info')
    .option('--insecure-http', 'plain HTTP without client certificates (tests only)', false)
    .option('--dispatcher-listen <host:port>', 'swarm mode: where agents connect once a swarm exists', '0.0.0.0:2377')
    .option('--advertise-addr <ip>', 'swarm mode: the address `docker swarm init` advertises by default')
    .addOption(
      new Option('--overlay <mode>', 'swarm mode: whether the first node builds overlay networks (auto: when its engine shares the gateway\'s network namespace)')
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .option('--wireguard-interface <name>', 'swarm mode: the first node\'s WireGuard interface for encrypted overlays', 'stvwg0')
    .action(async (opts: { listen: string; pki: string; engine: string; stateDir: string; logLevel: string; insecureHttp: boolean; dispatcherListen: string; advertiseAddr?: string; overlay: 'auto' | 'on' | 'off'; wireguardInterface: string }) => {
      let listen: { host: string; port: number };
      try {
        listen = parseListenAddress(opts.listen);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
      const log = createLogger({ level: opts.logLevel, name: 'stevedore-gateway' });
      const gateway = await startGateway({
        listen,
        pkiDir: opts.pki,
        insecureHttp: opts.insecureHttp,
        engineUrl: opts.engine,
        stateDir: opts.stateDir,
        log,
        dispatcherListen: opts.dispatcherListen,
        overlay: opts.overlay,
        wireguardInterface: opts.wireguardInterface,
        ...(opts.advertiseAddr === undefined ? {} : { advertiseAddr: opts.advertiseAddr }),
      });
      const shutdown = (signal: string): void => {
        log.info({ signal }, 'signal received');
        gateway.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
}
