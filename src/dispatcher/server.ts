import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { peerIdentity } from '../pki/peer.js';
import { StevedoreError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { Dispatcher, PeerCertificate } from './dispatcher.js';
import { CA_PATH } from './protocol.js';
import { parseAttach, parseAttachmentContainer, parseDetach, parseHeartbeat, parseJoin, parseRenew, parseRestartNotice, parseSession, parseStatus } from './validate.js';

/**
 * The dispatcher on the wire: HTTP/2 over TLS on port 2377. The TLS layer asks
 * for a client certificate but does not insist, so `/join` and `/ca` work for a
 * host that has none yet; every other route authenticates the certificate the
 * handshake verified (Dispatcher.authenticate). Each connection that carries a
 * session is pinged; one that stops answering is torn down, which ends the
 * session and marks the node down without waiting for the heartbeat deadline.
 */

export interface DispatcherServerOptions {
  readonly dispatcher: Dispatcher;
  readonly log: Logger;
  /** The server's key and certificate chain (leaf, then the root, so joiners can pin the digest). */
  readonly keyPem: string;
  readonly certChainPem: string;
  readonly caPem: string;
  readonly host?: string; // default 0.0.0.0
  readonly port?: number; // 0 = a free port (tests)
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
}

export interface DispatcherServer {
  readonly port: number;
  /** New TLS material for the connections to come (root rotation); open ones keep theirs. */
  setTls(m: { readonly keyPem: string; readonly certChainPem: string; readonly caPem: string }): void;
  close(): Promise<void>;
}

const BODY_LIMIT = 4 * 1024 * 1024;

async function readBody(stream: http2.ServerHttp2Stream): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > BODY_LIMIT) throw new StevedoreError('payloadTooLarge', `request body larger than ${BODY_LIMIT} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StevedoreError('invalidParameter', `invalid JSON: ${(err as Error).message}`);
  }
}

function respondJson(stream: http2.ServerHttp2Stream, status: number, body: unknown): void {
  if (stream.destroyed || stream.closed) return;
  if (!stream.headersSent) stream.respond({ ':status': status, 'content-type': 'application/json' });
  stream.end(JSON.stringify(body));
}

function peerOf(socket: TLSSocket): PeerCertificate {
  const err = socket.authorizationError;
  const known = peerIdentity(socket); // undefined: the client sent no certificate
  return {
    authorized: socket.authorized,
    ...(err ? { authorizationError: String(err) } : {}),
    ...(known ? { identity: known } : {}),
  };
}

function remoteIpOf(socket: TLSSocket): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export async function startDispatcherServer(opts: DispatcherServerOptions): Promise<DispatcherServer> {
  const { dispatcher, log } = opts;
  const pingInterval = opts.pingIntervalMs ?? 1000;
  const pingTimeout = opts.pingTimeoutMs ?? 2000;
  const sessions = new Set<http2.ServerHttp2Session>();
  const pinged = new WeakSet<http2.Http2Session>();

  const server = http2.createSecureServer({
    key: opts.keyPem,
    cert: opts.certChainPem,
    ca: opts.caPem,
    requestCert: true,
    rejectUnauthorized: false,
    allowHTTP1: false,
    minVersion: 'TLSv1.2',
  });

  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', (err) => log.debug({ err }, 'dispatcher connection error'));
  });
  server.on('tlsClientError', (err) => log.debug({ err }, 'dispatcher TLS handshake failed'));

  /** PING the connection that carries a session; no answer in time tears it down. */
  const watchConnection = (s: http2.Http2Session): void => {
    if (pinged.has(s)) return;
    pinged.add(s);
    let outstanding: NodeJS.Timeout | undefined;
    const tick = setInterval(() => {
      if (s.destroyed || s.closed) return;
      if (outstanding) return; // still waiting for the previous one
      outstanding = setTimeout(() => {
        log.info({ remote: s.socket?.remoteAddress }, 'dispatcher connection did not answer PING; closing it');
        s.destroy();
      }, pingTimeout);
      try {
        s.ping((err) => {
          if (outstanding) clearTimeout(outstanding);
          outstanding = undefined;
          if (err && !s.destroyed) s.destroy();
        });
      } catch {
        s.destroy();
      }
    }, pingInterval);
    s.on('close', () => {
      clearInterval(tick);
      if (outstanding) clearTimeout(outstanding);
    });
  };

  const handle = async (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): Promise<void> => {
    const method = headers[':method'];
    const path = (headers[':path'] ?? '').split('?')[0];
    const socket = stream.session?.socket as TLSSocket | undefined;
    if (!socket) throw new StevedoreError('system', 'stream without a connection');

    if (method === 'GET' && path === CA_PATH) {
      stream.respond({ ':status': 200, 'content-type': 'application/x-pem-file' });
      stream.end(opts.caPem);
      return;
    }
    if (method !== 'POST') throw new StevedoreError('notFound', `${method ?? ''} ${path ?? ''}: no such dispatcher call`);

    if (path === '/join') {
      const req = parseJoin(await readBody(stream));
      respondJson(stream, 200, await dispatcher.join(req, remoteIpOf(socket)));
      return;
    }

    const peer = dispatcher.authenticate(peerOf(socket));
    switch (path) {
      case '/session': {
        const req = parseSession(await readBody(stream));
        const opened: { sessionId?: string } = {};
        let ended = false;
        stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
        const onEnd = (): void => {
          if (ended) return;
          ended = true;
          if (opened.sessionId !== undefined) void dispatcher.closeSession(opened.sessionId).catch((err: unknown) => log.error({ err }, 'closing session failed'));
        };
        stream.on('close', onEnd);
        stream.on('error', onEnd);
        const sessionId = await dispatcher.openSession(peer.nodeId, req, remoteIpOf(socket), {
          send: (m) => {
            if (!stream.destroyed && !stream.closed) stream.write(`${JSON.stringify(m)}\n`);
          },
          close: () => {
            if (!stream.destroyed && !stream.closed) stream.end();
          },
        });
        opened.sessionId = sessionId;
        // The stream may have ended while the session was being opened.
        if (ended || stream.destroyed) void dispatcher.closeSession(sessionId);
        if (stream.session) watchConnection(stream.session);
        return;
      }
      case '/heartbeat':
        respondJson(stream, 200, dispatcher.heartbeat(peer.nodeId, parseHeartbeat(await readBody(stream))));
        return;
      case '/session/restart':
        dispatcher.restartNotice(peer.nodeId, parseRestartNotice(await readBody(stream)));
        respondJson(stream, 200, {});
        return;
      case '/status':
        await dispatcher.updateStatus(peer.nodeId, parseStatus(await readBody(stream)));
        respondJson(stream, 200, {});
        return;
      case '/attach':
        respondJson(stream, 200, await dispatcher.attachNetwork(peer.nodeId, parseAttach(await readBody(stream))));
        return;
      case '/attach/container':
        await dispatcher.attachmentContainer(peer.nodeId, parseAttachmentContainer(await readBody(stream)));
        respondJson(stream, 200, {});
        return;
      case '/detach':
        await dispatcher.detachNetwork(peer.nodeId, parseDetach(await readBody(stream)));
        respondJson(stream, 200, {});
        return;
      case '/renew':
        respondJson(stream, 200, await dispatcher.renew(peer.nodeId, parseRenew(await readBody(stream))));
        return;
      default:
        throw new StevedoreError('notFound', `POST ${path ?? ''}: no such dispatcher call`);
    }
  };

  server.on('stream', (stream, headers) => {
    stream.on('error', (err) => log.debug({ err }, 'dispatcher stream error'));
    handle(stream, headers).catch((err: unknown) => {
      const status = err instanceof StevedoreError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (status >= 500) log.error({ err, path: headers[':path'] }, 'dispatcher call failed');
      else log.debug({ path: headers[':path'], status, message }, 'dispatcher call refused');
      if (stream.headersSent) {
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        return;
      }
      respondJson(stream, status, { message });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 2377, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, host: opts.host ?? '0.0.0.0' }, 'dispatcher listening');

  return {
    port,
    setTls: (m) => server.setSecureContext({ key: m.keyPem, cert: m.certChainPem, ca: m.caPem, minVersion: 'TLSv1.2' }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
}
