import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { Engine } from '../../engine/index.js';
import { system } from '../../util/errors.js';
import { engineVersionFor } from './version.js';

// Hop-by-hop headers are the proxy's own business (RFC 9110 §7.6.1).
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

export function forwardableHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const k in headers) {
    const v = headers[k];
    if (v !== undefined && !hopByHop.has(k)) out[k] = v;
  }
  return out;
}

export interface PassThroughOptions {
  /** Path on the engine without version prefix; defaults to the request's own (query included). */
  readonly path?: string;
  /** A body to send instead of the request's own stream (already parsed and checked). */
  readonly body?: unknown;
  /** Rewrites a JSON response body before it goes back (the response is buffered then). */
  readonly mapJson?: (body: unknown, status: number) => unknown;
}

/**
 * Sends a request on to an engine and streams its answer back unchanged:
 * status, headers and body. Used for calls whose shape the engine already gets
 * right and for every stream (logs, pull progress, build output, export).
 */
export function passThrough(engine: Engine, req: Request, res: Response, options: PassThroughOptions = {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const path = `/v${engineVersionFor(req.apiVersion)}${options.path ?? req.url}`;
    const headers = forwardableHeaders(req.headers);
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const upstream = engine.request({ method: req.method, path, headers });
    upstream.on('error', (err) => reject(system(`engine ${describe(engine)} did not answer: ${err.message}`, err)));
    upstream.on('response', (answer: IncomingMessage) => {
      const status = answer.statusCode ?? 502;
      if (options.mapJson && isJson(answer)) {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('error', reject);
        answer.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = options.mapJson ? options.mapJson(text ? JSON.parse(text) : null, status) : text;
          } catch {
            body = text;
          }
          res.status(status);
          copyResponseHeaders(answer, res, ['content-length']);
          // The docker CLI reads an error's message only when Content-Type is exactly
          // application/json (no charset, which res.json would add); else it prints the raw body.
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify(body));
          resolve();
        });
        return;
      }
      res.status(status);
      copyResponseHeaders(answer, res);
      // A stream of unknown length (logs -f, wait, attach, stats) must show its
      // headers at once; a sized body goes out with its headers in one write.
      if (answer.headers['content-length'] === undefined) res.flushHeaders();
      answer.pipe(res);
      answer.on('end', () => resolve());
      answer.on('error', reject);
      // The client went away (docker logs -f interrupted): stop reading from the engine.
      res.on('close', () => {
        if (!answer.complete) upstream.destroy();
        resolve();
      });
    });
    if (payload) upstream.end(payload);
    else if (req.readableEnded || req.body !== undefined) upstream.end();
    else req.pipe(upstream);
  });
}

/** Engine answer headers we never relay: our own identity headers (Api-Version, Server, …) stay ours; hop-by-hop ones are the proxy's. */
export const notCopied: ReadonlySet<string> = new Set([...hopByHop, 'api-version', 'server', 'docker-experimental', 'ostype']);

function copyResponseHeaders(from: IncomingMessage, to: ServerResponse, skip: readonly string[] = []): void {
  const headers = from.headers;
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || notCopied.has(k) || skip.includes(k)) continue;
    to.setHeader(k, v);
  }
}

/** Past this many bytes relayBounded stops holding the answer back and streams it. */
export const BOUNDED_HOLD_BYTES = 1 << 20;

/**
 * The fast path's pass-through for small, finite JSON answers (inspect, list):
 * plain node:http on both sides, callbacks rather than promises. The answer is
 * collected and sent with a Content-Length in one write (headers included)
 * instead of one TLS record per chunk (Go chunks anything past 2 KiB) plus
 * one for the end; past BOUNDED_HOLD_BYTES it streams like passThrough.
 * Never use it for streams of unknown duration (logs -f, wait, stats, events).
 * `fail` gets an engine that does not answer, before or after the headers.
 */
export function relayBounded(engine: Engine, req: IncomingMessage, res: ServerResponse, path: string, fail: (err: unknown) => void): void {
  let failed = false;
  const once = (err: unknown): void => {
    if (failed) return;
    failed = true;
    fail(err);
  };
  const upstream = engine.request({ method: req.method ?? 'GET', path, headers: forwardableHeaders(req.headers) });
  upstream.on('error', (err) => once(system(`engine ${describe(engine)} did not answer: ${err.message}`, err)));
  upstream.on('response', (answer: IncomingMessage) => {
    res.statusCode = answer.statusCode ?? 502;
    copyResponseHeaders(answer, res);
    res.on('close', () => {
      if (!answer.complete) upstream.destroy();
    });
    answer.on('error', once);
    let held: Buffer[] | undefined = [];
    let size = 0;
    answer.on('data', (c: Buffer) => {
      if (held === undefined) {
        if (!res.write(c)) answer.pause();
        return;
      }
      held.push(c);
      size += c.length;
      if (size > BOUNDED_HOLD_BYTES) {
        for (const h of held) res.write(h);
        held = undefined;
      }
    });
    res.on('drain', () => answer.resume());
    answer.on('end', () => {
      if (held === undefined) {
        res.end();
        return;
      }
      res.setHeader('Content-Length', size); // the engine's own, or the one chunking left out
      res.end(held.length === 1 ? held[0] : Buffer.concat(held, size));
    });
  });
  upstream.end();
}

function isJson(m: IncomingMessage): boolean {
  return (m.headers['content-type'] ?? '').includes('application/json');
}

function describe(engine: Engine): string {
  const e = engine.endpoint;
  return e.kind === 'unix' ? e.socketPath : `${e.host}:${e.port}`;
}
