import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import Docker from 'dockerode';

/**
 * Where a Docker engine listens. The only folder that imports dockerode is this
 * one: everything else talks to an Engine.
 */
export type EngineEndpoint =
  | { readonly kind: 'unix'; readonly socketPath: string }
  | {
      readonly kind: 'tcp';
      readonly host: string;
      readonly port: number;
      /** `servername`: the name the engine's certificate must carry when it is not the host (a node id). */
      readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string; readonly servername?: string };
    };

/** The Engine API version the test hosts' engines (Debian's docker.io 20.10) speak. */
export const ENGINE_API_VERSION = '1.41';

export function parseEngineUrl(url: string): EngineEndpoint {
  if (url.startsWith('unix://')) return { kind: 'unix', socketPath: url.slice('unix://'.length) };
  if (url.startsWith('/')) return { kind: 'unix', socketPath: url };
  const m = /^(?:tcp|https?):\/\/([^:/]+):(\d+)\/?$/.exec(url);
  if (!m || !m[1] || !m[2]) throw new Error(`unsupported engine address ${JSON.stringify(url)} (want unix:///path or tcp://host:port)`);
  return { kind: 'tcp', host: m[1], port: Number(m[2]) };
}

export function describeEndpoint(e: EngineEndpoint): string {
  return e.kind === 'unix' ? `unix://${e.socketPath}` : `tcp://${e.host}:${e.port}`;
}

/**
 * docker-modem reads DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY and
 * DOCKER_PATH_PREFIX on construction, and a `host` from there beats our
 * `socketPath`: a gateway started from a shell that sourced the admin bundle
 * would call itself. An engine's address is always explicit, so dockerode is
 * built with those variables hidden (construction is synchronous, so nothing
 * else can observe the gap).
 */
const dockerEnvironment = ['DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY', 'DOCKER_PATH_PREFIX', 'DOCKER_CLIENT_TIMEOUT'] as const;

function newDocker(options: Docker.DockerOptions): Docker {
  const saved = dockerEnvironment.map((k) => [k, process.env[k]] as const);
  for (const [k] of saved) delete process.env[k];
  try {
    return new Docker(options);
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}

/**
 * Kept-alive sockets, as many as there are requests in flight. A cap would be
 * reached by requests that last (`docker wait`, `logs -f`, `stats`: one per
 * user, per attached compose service), and every other call to the engine
 * would then queue behind them; the engine is the only server here and bounds
 * itself. Idle sockets are capped by Node's default (256).
 */
const pooled: http.AgentOptions = { keepAlive: true, maxSockets: Infinity };

/** One Docker engine: dockerode for calls, raw HTTP for pass-through streams. */
export class Engine {
  readonly docker: Docker;
  private readonly agent: http.Agent;

  constructor(readonly endpoint: EngineEndpoint) {
    if (endpoint.kind === 'unix') {
      this.docker = newDocker({ socketPath: endpoint.socketPath, version: `v${ENGINE_API_VERSION}` });
      this.agent = new http.Agent(pooled);
    } else if (endpoint.tls) {
      const servername = endpoint.tls.servername;
      const identity = servername === undefined ? undefined : (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(servername, cert);
      this.docker = newDocker({
        host: endpoint.host,
        port: endpoint.port,
        protocol: 'https',
        ca: endpoint.tls.ca,
        cert: endpoint.tls.cert,
        key: endpoint.tls.key,
        version: `v${ENGINE_API_VERSION}`,
        ...(identity ? { checkServerIdentity: identity } : {}),
      });
      this.agent = new https.Agent({ ...pooled, ca: endpoint.tls.ca, cert: endpoint.tls.cert, key: endpoint.tls.key, ...(identity ? { checkServerIdentity: identity } : {}) });
    } else {
      this.docker = newDocker({ host: endpoint.host, port: endpoint.port, protocol: 'http', version: `v${ENGINE_API_VERSION}` });
      this.agent = new http.Agent(pooled);
    }
  }

  /**
   * A raw request to the engine, for pass-through of streams and of bodies we do
   * not need to look into. `path` must already carry the engine's API version.
   * Kept-alive sockets make a pass-through cost a fraction of a millisecond.
   */
  request(options: { method: string; path: string; headers?: http.OutgoingHttpHeaders; keepAlive?: boolean }): http.ClientRequest {
    const base: http.RequestOptions = {
      method: options.method,
      path: options.path,
      headers: options.headers ?? {},
      agent: options.keepAlive === false ? false : this.agent,
    };
    const ep = this.endpoint;
    if (ep.kind === 'unix') return http.request({ ...base, socketPath: ep.socketPath });
    if (ep.tls) {
      const servername = ep.tls.servername;
      return https.request({
        ...base,
        host: ep.host,
        port: ep.port,
        ca: ep.tls.ca,
        cert: ep.tls.cert,
        key: ep.tls.key,
        ...(servername === undefined ? {} : { checkServerIdentity: (_h: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(servername, cert) }),
      });
    }
    return http.request({ ...base, host: ep.host, port: ep.port });
  }

  close(): void {
    this.agent.destroy();
  }
}
