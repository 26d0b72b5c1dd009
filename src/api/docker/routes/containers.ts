import { Router, type Request, type Response } from 'express';
import { conflict } from '../../../util/errors.js';
import type { ApiContext } from '../context.js';
import { jsonBody, requireObject } from '../body.js';
import { engineJson } from '../engine-call.js';
import { CONTAINER_LIST_FILTERS, CONTAINER_PRUNE_FILTERS, parseFilters } from '../filters.js';
import { locatorFor } from '../locate.js';
import { validateContainerName } from '../names.js';
import { passThrough } from '../passthrough.js';

/**
 * Standalone containers. They are created on the local engine (on an
 * attachable overlay through the local agent's attachments); everything
 * else finds the container's engine (locate.ts) and passes the call through,
 * so streams (logs -f, stats, export, archives) flow without buffering. Only
 * listings and prune fan out over all engines and merge.
 *
 * Attach and exec start with `Upgrade: tcp` never get here: hijack.ts.
 */

/** Calls on one container: method, sub-path after /containers/{id}. */
const perContainer: ReadonlyArray<readonly ['get' | 'post' | 'put' | 'head' | 'delete', string]> = [
  ['get', '/json'],
  ['get', '/top'],
  ['get', '/logs'],
  ['get', '/changes'],
  ['get', '/export'],
  ['get', '/stats'],
  ['post', '/resize'],
  ['post', '/start'],
  ['post', '/stop'],
  ['post', '/restart'],
  ['post', '/kill'],
  ['post', '/update'],
  ['post', '/pause'],
  ['post', '/unpause'],
  ['post', '/attach'], // without Upgrade: the engine answers 200 and streams the output
  ['post', '/wait'],
  ['head', '/archive'],
  ['get', '/archive'],
  ['put', '/archive'],
];

export function containersRoutes(ctx: ApiContext): Router {
  const router = Router();
  const locator = locatorFor(ctx.engines);

  /** Path on the engine: the request's own, with the located id in place of the client's reference. */
  const enginePath = (req: Request, ref: string, given: string): string | undefined => {
    if (ref === given) return undefined; // unchanged: passThrough uses req.url
    const prefix = `/containers/${encodeURIComponent(given)}`;
    const rest = req.url.startsWith(prefix) ? req.url.slice(prefix.length) : req.url.slice(req.url.indexOf('/', '/containers/'.length));
    return `/containers/${encodeURIComponent(ref)}${rest}`;
  };

  const forward = async (req: Request, res: Response): Promise<void> => {
    const given = String(req.params['id']);
    const { node, ref } = await locator.container(given);
    const path = enginePath(req, ref, given);
    await passThrough(node.engine, req, res, path === undefined ? {} : { path });
  };

  router.post('/containers/create', jsonBody(), async (req, res) => {
    const name = typeof req.query['name'] === 'string' ? req.query['name'] : '';
    validateContainerName(name);
    const body = requireObject(req.body, 'config');
    const local = ctx.engines.local();
    if (name && ctx.engines.all().length > 1) {
      const other = await locator.nameTaken(name, local);
      if (other) {
        throw conflict(
          `Conflict. The container name "/${name.replace(/^\//, '')}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      }
    }
    const send = async (sent: unknown): Promise<{ readonly id?: string }> => {
      let created: string | undefined;
      await passThrough(local.engine, req, res, {
        body: sent,
        mapJson: (answer, status) => {
          const id = (answer as { Id?: unknown } | null)?.Id;
          if (status === 201 && typeof id === 'string') {
            locator.rememberContainer(id, local.nodeId);
            created = id;
          }
          return answer;
        },
      });
      return created === undefined ? {} : { id: created };
    };
    const attachments = ctx.localAttachments?.();
    if (attachments === undefined) await send(body);
    else await attachments.create(body, name === '' ? undefined : name, send);
  });

  router.get('/containers/json', async (req, res) => {
    parseFilters(queryString(req, 'filters'), CONTAINER_LIST_FILTERS);
    const nodes = ctx.engines.all();
    if (nodes.length === 1 && nodes[0]) {
      await passThrough(nodes[0].engine, req, res);
      return;
    }
    const lists = await Promise.all(
      nodes.map(async (n) => {
        const list = await engineJson<Array<{ Id: string; Created?: number }>>(n.engine, 'GET', req.url, { apiVersion: req.apiVersion });
        for (const c of list) locator.rememberContainer(c.Id, n.nodeId);
        return list;
      }),
    );
    const merged = lists.flat().sort((a, b) => (b.Created ?? 0) - (a.Created ?? 0));
    const limit = Number(queryString(req, 'limit') ?? '0');
    res.json(limit > 0 ? merged.slice(0, limit) : merged);
  });

  router.post('/containers/prune', async (req, res) => {
    parseFilters(queryString(req, 'filters'), CONTAINER_PRUNE_FILTERS);
    const nodes = ctx.engines.all();
    if (nodes.length === 1 && nodes[0]) {
      await passThrough(nodes[0].engine, req, res);
      return;
    }
    const reports = await Promise.all(
      nodes.map((n) =>
        engineJson<{ ContainersDeleted?: string[] | null; SpaceReclaimed?: number }>(n.engine, 'POST', req.url, { apiVersion: req.apiVersion }),
      ),
    );
    const deleted = reports.flatMap((r) => r.ContainersDeleted ?? []);
    for (const id of deleted) locator.forgetContainer(id);
    res.json({ ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reports.reduce((n, r) => n + (r.SpaceReclaimed ?? 0), 0) });
  });

  for (const [method, sub] of perContainer) router[method](`/containers/:id${sub}`, forward);

  router.post('/containers/:id/rename', async (req, res) => {
    const name = queryString(req, 'name') ?? '';
    validateContainerName(name);
    const given = String(req.params['id']);
    const { node, ref } = await locator.container(given);
    if (name && ctx.engines.all().length > 1) {
      const other = await locator.nameTaken(name, node);
      if (other) throw conflict(`Error when allocating new name: Conflict. The container name "/${name.replace(/^\//, '')}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    const path = enginePath(req, ref, given);
    await passThrough(node.engine, req, res, path === undefined ? {} : { path });
  });

  router.delete('/containers/:id', async (req, res) => {
    const given = String(req.params['id']);
    const { node, ref } = await locator.container(given);
    const path = enginePath(req, ref, given);
    const send = async (): Promise<number> => {
      await passThrough(node.engine, req, res, path === undefined ? {} : { path });
      return res.statusCode;
    };
    // Another node's engine is reached through its agent, which gives the attachments back itself.
    const attachments = node.nodeId === ctx.engines.local().nodeId ? ctx.localAttachments?.() : undefined;
    if (attachments === undefined) await send();
    else await attachments.remove(ref, send);
    if (res.statusCode === 204) locator.forgetContainer(ref);
  });

  return router;
}

function queryString(req: Request, name: string): string | undefined {
  const v = req.query[name];
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}
