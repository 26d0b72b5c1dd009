import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { Express } from 'express';
import { peerIdentity } from '../../pki/index.js';
import type { ApiContext } from './context.js';
import { sendError } from './error-handler.js';
import { CONTAINER_LIST_FILTERS, parseFilters } from './filters.js';
import { IDENTITY_HEADERS } from './identity.js';
import { wirePool, type EngineAnswer } from './fast-path-engine.js';
import { forwardableHeaders, notCopied, relayBounded } from './passthrough.js';
import { answerPing, versionAnswer } from './routes/system.js';
import { engineVersionFor, splitApiVersion } from './version.js';

/**
 * The hottest read-only calls answered straight on node:http's request event,
 * before express: the CLI pings before every command, `docker ps` lists and
 * `docker inspect` inspects. Express walks its middlewares and every route
 * module's router for each request, swaps the request's prototypes and wraps
 * handlers in promises; here a call costs one URL match and the engine's
 * round trip, over a kept-open engine socket (fast-path-engine.ts) when it can.
 *
 * The answers are the same as express's (same headers, version rules, error
 * shape: routes/system.ts and error-handler.ts are shared). Anything this file
 * is not sure about goes to express unchanged — a version out of range, bad
 * filters, a certificate the cluster authorisation would refuse, a path in
 * another spelling (case, trailing slash), several engines (locating and
 * merging live in the routes) — so errors are still made in one place.
 */
export type FastCall =
  | { readonly kind: 'ping' }
  | { readonly kind: 'version'; readonly apiVersion: string }
  /** `url`: the version-less URL, query included, as the engine gets it. */
  | { readonly kind: 'containerList'; readonly apiVersion: string; readonly url: string }
  | { readonly kind: 'containerInspect'; readonly apiVersion: string; readonly url: string };

const inspectPath = /^\/containers\/[^/]+\/json$/;

/**
 * Pure: whether the fast path takes a request, and as what. `engines` is how
 * many engines the directory has: with more than one, listings merge and
 * references are located, which the container routes do.
 */
export function fastCall(method: string | undefined, rawUrl: string | undefined, engines: number): FastCall | undefined {
  if ((method !== 'GET' && method !== 'HEAD') || rawUrl === undefined) return undefined;
  let apiVersion: string;
  let url: string;
  try {
    ({ apiVersion, url } = splitApiVersion(rawUrl));
  } catch {
    return undefined; // express answers Docker's 400 for the version
  }
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path === '/_ping') return { kind: 'ping' };
  if (method !== 'GET' || engines !== 1) return undefined;
  if (path === '/version') return { kind: 'version', apiVersion };
  if (path === '/containers/json') {
    if (q !== -1 && !filtersAccepted(url.slice(q + 1))) return undefined;
    return { kind: 'containerList', apiVersion, url };
  }
  if (inspectPath.test(path)) return { kind: 'containerInspect', apiVersion, url };
  return undefined;
}

/** The `filters` parameter as express's "simple" query parser reads it (the first one), checked like the route does. */
function filtersAccepted(query: string): boolean {
  if (!query.includes('filters')) return true;
  const v = parseQuery(query)['filters'];
  const raw = Array.isArray(v) ? v[0] : v;
  try {
    parseFilters(raw, CONTAINER_LIST_FILTERS);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a connection's client certificate passes the cluster authorisation
 * middleware on the paths we take (none is manager-only, so only a certificate
 * it cannot read is refused; express makes that 403).
 */
function connectionOk(req: IncomingMessage): boolean {
  return peerIdentity(req.socket)?.ok !== false;
}

export type FastHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** A request listener step: answers a fast call and returns true, or returns false and touches nothing. */
export function fastPath(ctx: ApiContext): FastHandler {
  return (req, res) => {
    const call = fastCall(req.method, req.url, ctx.engines.all().length);
    if (call === undefined || !connectionOk(req)) return false;
    for (const [k, v] of IDENTITY_HEADERS) res.setHeader(k, v);
    const fail = (err: unknown): void => sendError(ctx.log, err, req, res);
    switch (call.kind) {
      case 'ping':
        answerPing(ctx, req.method, res);
        break;
      case 'version':
        versionAnswer(ctx, call.apiVersion).then((body) => {
          const text = JSON.stringify(body);
          res.setHeader('Content-Type', 'application/json; charset=utf-8');
          res.setHeader('Content-Length', Buffer.byteLength(text));
          res.end(text);
        }, fail);
        break;
      case 'containerList':
      case 'containerInspect': {
        const engine = ctx.engines.local().engine;
        const path = `/v${engineVersionFor(call.apiVersion)}${call.url}`;
        const viaNodeHttp = (): void => relayBounded(engine, req, res, path, fail);
        const pool = wirePool(engine);
        if (pool === undefined) viaNodeHttp();
        // A GET can be asked again: whatever the wire path does not read goes through node:http.
        else pool.request('GET', path, forwardableHeaders(req.headers), (answer) => (answer === undefined ? viaNodeHttp() : sendAnswer(answer, res)));
        break;
      }
    }
    return true;
  };
}

/** An engine's whole answer, relayed as passThrough would: its status and headers (not ours, not hop-by-hop), one write. */
function sendAnswer(answer: EngineAnswer, res: ServerResponse): void {
  res.statusCode = answer.status;
  const headers = new Map<string, string | string[]>();
  for (const [k, v] of answer.headers) {
    if (notCopied.has(k) || k === 'content-length') continue;
    const had = headers.get(k);
    headers.set(k, had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v]);
  }
  for (const [k, v] of headers) res.setHeader(k, v);
  res.setHeader('Content-Length', answer.body.length);
  res.end(answer.body);
}

/**
 * Puts the fast path in front of an express app. Patching `app.handle` (what
 * the app function calls) rather than wrapping the function keeps the value an
 * Express app, so supertest and servers built on `createApp` get it too.
 */
export function withFastPath(ctx: ApiContext, app: Express): Express {
  const fast = fastPath(ctx);
  type Handle = (req: IncomingMessage, res: ServerResponse, next?: unknown) => void;
  const patched = app as unknown as { handle: Handle };
  const slow = patched.handle.bind(app);
  patched.handle = (req, res, next) => {
    if (!fast(req, res)) slow(req, res, next);
  };
  return app;
}
