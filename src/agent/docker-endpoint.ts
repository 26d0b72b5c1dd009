import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Engine } from '../engine/index.js';
import { peerIdentity, serverTlsOptionsFromPems, SwarmRoles, ClientOrganizationalUnit } from '../pki/index.js';
import { StevedoreError, forbidden, invalidParameter, notASwarmManager, unavailable } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { Agent } from './agent.js';
import { pingSwarmHeader } from './swarm-info.js';
import { attachmentRoute, type AttachmentRoute } from './attachment-plan.js';

/**
 * The agent's Docker endpoint on its host: everything goes through to the
 * host's engine byte for byte (streams, hijacked attach/exec included) except
 * what makes the host a Swarm node: `POST /swarm/join`, `POST /swarm/leave`,
 * the `Swarm` section of `GET /info`, the `Swarm` header of `/_ping`, and the
 * manager-only Swarm endpoints, which a worker refuses with Docker's message.
 * So `docker -H unix:///run/stevedore/agent.sock swarm join …` behaves as on a
 * Docker host.
 */
export interface DockerEndpointOptions {
  readonly agent: Agent;
  readonly engine: Engine;
  readonly log: Logger;
  /** unix:///path or /path */
  readonly unixSocket?: string;
  /** "ADDR:PORT": TLS with the node certificate, clients verified against the cluster CA. */
  readonly tcp?: string;
}

const versionPrefix = /^\/v\d+\.\d+(?=\/)/;
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/** The endpoint's own routes, version prefix stripped; undefined means "pass it through". */
export function interceptedRoute(method: string, url: string): 'join' | 'leave' | 'info' | 'ping' | 'manager-only' | undefined {
  const path = (url.split('?')[0] ?? '/').replace(versionPrefix, '');
  if (method === 'POST' && path === '/swarm/join') return 'join';
  if (method === 'POST' && path === '/swarm/leave') return 'leave';
  if (method === 'GET' && path === '/info') return 'info';
  if ((method === 'GET' || method === 'HEAD') && path === '/_ping') return 'ping';
  if (/^\/(swarm|nodes|services|tasks|secrets|configs)(\/|$)/.test(path)) return 'manager-only';
  return undefined;
}

/** Docker's message on a worker for anything only a manager answers (503). */
export const WorkerNotManagerMessage =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";

/** Refusal of a TLS client that is neither a manager node nor an admin: another node's agent has no business here. */
export const EndpointForbiddenMessage = 'Permission denied: remote certificate not part of OUs: [swarm-manager client]';

/**
 * Who may use the TLS endpoint: the cluster's managers (the gateway drives
 * every node's engine through it with its manager certificate) and admin
 * client bundles. Any certificate of the cluster passes the handshake, so a
 * worker node's own certificate is refused here (403), by its role (OU).
 * Plain transports (the unix socket) carry no certificate and are the host's.
 */
export function endpointCallerAllowed(socket: unknown): boolean {
  if (typeof (socket as Partial<tls.TLSSocket>).getPeerX509Certificate !== 'function') return true;
  const peer = peerIdentity(socket);
  if (peer === undefined || !peer.ok) return false;
  return peer.identity.role === SwarmRoles.manager || peer.identity.role === ClientOrganizationalUnit;
}

export class DockerEndpoint {
  private unixServer: http.Server | undefined;
  private tcpServer: https.Server | undefined;
  private readonly sockets = new Set<Duplex>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly opts: DockerEndpointOptions) {}

  async listen(): Promise<void> {
    const o = this.opts;
    if (o.unixSocket !== undefined) {
      const path = o.unixSocket.replace(/^unix:\/\//, '');
      await mkdir(dirname(path), { recursive: true });
      await rm(path, { force: true });
      const server = http.createServer((req, res) => this.handle(req, res));
      this.wire(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
      await chmod(path, 0o660);
      this.unixServer = server;
      o.log.info({ socket: path }, 'docker endpoint listening');
    }
    if (o.tcp !== undefined) {
      // TLS needs the node certificate: listen once joined, follow renewals, close on leave.
      const apply = () => void this.applyTcp().catch((err: unknown) => o.log.error({ err }, 'docker TLS endpoint failed'));
      this.unsubscribe = o.agent.onIdentity(apply);
      await this.applyTcp();
    }
  }

  private wire(server: http.Server): void {
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.splice(req, socket, head));
    server.on('connection', (s: Duplex) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  private async applyTcp(): Promise<void> {
    const o = this.opts;
    const id = o.agent.currentIdentity();
    if (id === undefined) {
      await this.closeTcp();
      return;
    }
    const options = serverTlsOptionsFromPems({ caPem: id.caPem, certPem: id.certPem, keyPem: id.keyPem });
    if (this.tcpServer !== undefined) {
      this.tcpServer.setSecureContext(options);
      return;
    }
    const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(o.tcp ?? '');
    if (!m?.[2]) throw invalidParameter(`invalid --listen-docker-tcp ${JSON.stringify(o.tcp)} (want ADDR:PORT)`);
    // allowHalfOpen: a hijacked exec whose client closes stdin (a TLS close_notify) still gets its output.
    const server = https.createServer({ ...options, allowHalfOpen: true }, (req, res) => this.handle(req, res));
    this.wire(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(m[2]), m[1] || '0.0.0.0', () => resolve());
    });
    this.tcpServer = server;
    o.log.info({ addr: o.tcp }, 'docker TLS endpoint listening');
  }

  private async closeTcp(): Promise<void> {
    const s = this.tcpServer;
    this.tcpServer = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  get tcpAddress(): net.AddressInfo | undefined {
    const a = this.tcpServer?.address();
    return typeof a === 'object' && a !== null ? a : undefined;
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    const servers = [this.unixServer, this.tcpServer].filter((s): s is http.Server => s !== undefined);
    this.unixServer = undefined;
    this.tcpServer = undefined;
    for (const s of this.sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!this.allowed(req.socket)) {
      req.resume();
      this.fail(res, forbidden(EndpointForbiddenMessage));
      return;
    }
    const route = interceptedRoute(req.method ?? 'GET', req.url ?? '/');
    const run = async () => {
      switch (route) {
        case 'join':
          return this.join(req, res);
        case 'leave':
          return this.leave(req, res);
        case 'info':
          return this.info(req, res);
        case 'ping':
          return this.passThrough(req, res, (headers) => ({ ...headers, swarm: pingSwarmHeader(this.opts.agent.view()) }));
        case 'manager-only':
          throw this.opts.agent.currentIdentity() === undefined ? notASwarmManager() : unavailable(WorkerNotManagerMessage);
        case undefined: {
          const attaching = this.opts.agent.attachments === undefined ? undefined : attachmentRoute(req.method ?? 'GET', stripVersion(req.url ?? '/'));
          if (attaching !== undefined) return this.withAttachments(attaching, req, res);
          await this.passThrough(req, res);
          return;
        }
      }
    };
    run().catch((err: unknown) => this.fail(res, err));
  }

  private fail(res: http.ServerResponse, err: unknown): void {
    const status = err instanceof StevedoreError ? err.status : 500;
    const message = err instanceof Error ? err.message : String(err);
    if (status >= 500 && !(err instanceof StevedoreError && err.kind === 'unavailable')) this.opts.log.error({ err }, 'docker endpoint request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify({ message });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private async join(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = (await readJson(req)) as {
      ListenAddr?: string;
      AdvertiseAddr?: string;
      RemoteAddrs?: string[] | null;
      JoinToken?: string;
      Availability?: string;
    };
    const availability = body.Availability;
    if (availability !== undefined && availability !== '' && availability !== 'active' && availability !== 'pause' && availability !== 'drain') {
      throw invalidParameter(`invalid Availability ${JSON.stringify(availability)}`);
    }
    const remoteAddrs = (body.RemoteAddrs ?? []).map((a) => (/:\d+$/.test(a) ? a : `${a}:2377`));
    if (remoteAddrs.length === 0) throw invalidParameter('at least 1 RemoteAddr is required to join');
    const advertise = body.AdvertiseAddr ?? '';
    await this.opts.agent.join({
      token: body.JoinToken ?? '',
      remoteAddrs,
      ...(advertise === '' ? {} : { advertiseAddr: advertise }),
      ...(availability === undefined || availability === '' ? {} : { availability }),
    });
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  }

  private async leave(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    req.resume();
    await this.opts.agent.leave('docker swarm leave');
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  }

  private async info(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    await this.passThrough(req, res, undefined, (body) => {
      if (typeof body !== 'object' || body === null) return body;
      return { ...(body as Record<string, unknown>), Swarm: this.opts.agent.swarmInfo() };
    });
  }

  /**
   * A request on to the engine unchanged; the answer back unchanged, with
   * `mapHeaders` applied, or (for JSON answers, buffered then) `mapJson`.
   */
  private passThrough(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    mapHeaders?: (h: http.OutgoingHttpHeaders) => http.OutgoingHttpHeaders,
    mapJson?: (body: unknown) => unknown,
    body?: { readonly bytes: Buffer; readonly path?: string },
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !hopByHop.has(k)) headers[k] = v;
      if (body !== undefined) headers['content-length'] = body.bytes.length;
      const upstream = this.opts.engine.request({ method: req.method ?? 'GET', path: body?.path ?? req.url ?? '/', headers });
      upstream.on('error', (err) => reject(new StevedoreError('system', `engine did not answer: ${err.message}`, { cause: err })));
      upstream.on('response', (answer) => {
        let out: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined && !hopByHop.has(k)) out[k] = v;
        if (mapHeaders) out = mapHeaders(out);
        const status = answer.statusCode ?? 502;
        if (mapJson && status < 300 && String(answer.headers['content-type'] ?? '').includes('application/json')) {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('error', reject);
          answer.on('end', () => {
            let text = Buffer.concat(chunks).toString('utf8');
            try {
              text = JSON.stringify(mapJson(JSON.parse(text)));
            } catch {
              /* not JSON after all: as it came */
            }
            delete out['content-length'];
            res.writeHead(status, { ...out, 'content-length': Buffer.byteLength(text) });
            res.end(text);
            resolve(status);
          });
          return;
        }
        res.writeHead(status, answer.statusMessage ?? '', out);
        res.flushHeaders();
        answer.pipe(res);
        answer.on('end', () => resolve(status));
        answer.on('error', reject);
        res.on('close', () => {
          if (!answer.complete) upstream.destroy();
          resolve(status);
        });
      });
      if (body !== undefined) upstream.end(body.bytes);
      else req.pipe(upstream);
    });
  }

  /**
   * Standalone containers on attachable overlays (src/agent/attachments.ts):
   * a create or connect naming one gets the cluster's address first; a
   * removal or disconnect gives it back once the engine has done it.
   * Everything else about these calls is the engine's.
   */
  private async withAttachments(route: AttachmentRoute, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const attachments = this.opts.agent.attachments;
    if (attachments === undefined) {
      await this.passThrough(req, res);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://engine');
    switch (route.kind) {
      case 'create': {
        const raw = await readRaw(req);
        const parsed = parseOrUndefined(raw);
        if (parsed === undefined) {
          await this.passThrough(req, res, undefined, undefined, { bytes: raw }); // the engine says what is wrong with it
          return;
        }
        await attachments.create(parsed, url.searchParams.get('name') ?? undefined, async (body) => {
          let id: string | undefined;
          await this.passThrough(
            req,
            res,
            undefined,
            (answer) => {
              const given = (answer as { Id?: unknown }).Id;
              if (typeof given === 'string') id = given;
              return answer;
            },
            { bytes: body === parsed ? raw : Buffer.from(JSON.stringify(body)) },
          );
          return id === undefined ? {} : { id };
        });
        return;
      }
      case 'delete':
        await attachments.remove(route.container, () => this.passThrough(req, res));
        return;
      case 'connect': {
        const raw = await readRaw(req);
        const parsed = parseOrUndefined(raw);
        if (parsed === undefined) {
          await this.passThrough(req, res, undefined, undefined, { bytes: raw });
          return;
        }
        await attachments.connect(route.network, parsed, (body, dockerNetwork) => {
          if (dockerNetwork === undefined) return this.passThrough(req, res, undefined, undefined, { bytes: raw });
          const path = url.pathname.replace(/\/networks\/[^/]+\/connect$/, `/networks/${encodeURIComponent(dockerNetwork)}/connect`) + url.search;
          return this.passThrough(req, res, undefined, undefined, { bytes: Buffer.from(JSON.stringify(body)), path });
        });
        return;
      }
      case 'disconnect': {
        const raw = await readRaw(req);
        await attachments.disconnect(route.network, parseOrUndefined(raw), () => this.passThrough(req, res, undefined, undefined, { bytes: raw }));
        return;
      }
    }
  }

  /**
   * Hijacked requests (`Upgrade: tcp`: attach, exec start): a raw connection to
   * the engine, the request head written as received, then bytes both ways
   * with half-closes carried through. The engine's own 101 goes back as is.
   */
  /** The role check once per connection (a TLS connection's certificate never changes). */
  private readonly allowedBySocket = new WeakMap<object, boolean>();
  private allowed(socket: object): boolean {
    let ok = this.allowedBySocket.get(socket);
    if (ok === undefined) {
      ok = endpointCallerAllowed(socket);
      this.allowedBySocket.set(socket, ok);
    }
    return ok;
  }

  private splice(req: http.IncomingMessage, client: Duplex, head: Buffer): void {
    if (!this.allowed(client)) {
      const body = JSON.stringify({ message: EndpointForbiddenMessage });
      client.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    const route = interceptedRoute(req.method ?? 'GET', req.url ?? '/');
    if (route !== undefined) {
      client.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const ep = this.opts.engine.endpoint;
    const engine: net.Socket =
      ep.kind === 'unix'
        ? net.connect({ path: ep.socketPath, allowHalfOpen: true })
        : ep.tls
          ? tls.connect({ host: ep.host, port: ep.port, ca: ep.tls.ca, cert: ep.tls.cert, key: ep.tls.key })
          : net.connect({ host: ep.host, port: ep.port, allowHalfOpen: true });
    let text = `${req.method ?? 'POST'} ${req.url ?? '/'} HTTP/1.1\r\n`;
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    engine.write(`${text}\r\n`);
    if (head.length > 0) engine.write(head);
    client.on('error', () => engine.destroy());
    engine.on('error', (err) => {
      this.opts.log.debug({ err }, 'engine side of a hijacked connection failed');
      client.destroy();
    });
    engine.pipe(client);
    client.pipe(engine);
    engine.on('close', () => client.destroy());
    client.on('close', () => engine.destroy());
  }
}

const stripVersion = (url: string): string => (url.split('?')[0] ?? '/').replace(versionPrefix, '');

function parseOrUndefined(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined; // the engine says what is wrong with it
  }
}

function readRaw(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 16 << 20) {
        reject(invalidParameter('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) {
        reject(invalidParameter('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(invalidParameter('invalid JSON body'));
      }
    });
  });
}
