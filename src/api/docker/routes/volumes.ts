import { Router, type Request, type Response } from 'express';
import type { NodeEngine } from '../../../engine/index.js';
import type { ApiContext } from '../context.js';
import { notFound, notImplemented } from '../../../util/errors.js';
import { passThrough } from '../passthrough.js';
import { callEngine, enginesLocalFirst, expectOk, listEverywhere, locate, readJsonBody } from '../resources-engine.js';
import { parseFilters } from '../resources-filters.js';
import { mergeVolumeLists, normalizeVolume, parseVolumeRef, withNode, type VolumeNode } from '../volumes-merge.js';
import { parseVolumeCreate } from '../volumes-validate.js';

/**
 * Volumes with the local driver. Created on the local engine (where standalone
 * containers mount them), or on the node named in `<node>/<name>`; a service's
 * volumes are made by the engine of the host its task lands on. In a cluster
 * (more than one engine) the listing shows every node's volumes as
 * `<node>/<name>` with the node in `Status.Node`, and takes classic Swarm's
 * `node` filter; an unreachable node becomes a warning. Inspect and remove
 * take `<node>/<name>`, or a bare name found on the local engine first, then
 * the others.
 */
export function volumesRoutes(ctx: ApiContext): Router {
  const router = Router();
  const local = () => ctx.engines.local();
  const nodeOf = (n: NodeEngine): VolumeNode => ({ id: n.nodeId, name: n.nodeName });

  /** The engine of a node named by hostname or id; 404 when the cluster has no such node within reach. */
  const findNode = (ref: string): NodeEngine | undefined => enginesLocalFirst(ctx.engines).find((n) => n.nodeName === ref || n.nodeId === ref) ?? ctx.engines.byNode(ref);
  const engineNamed = (ref: string): NodeEngine => {
    const found = findNode(ref);
    if (found === undefined) throw notFound(`node ${ref} not found or not reachable`);
    return found;
  };

  router.get('/volumes', async (req, res) => {
    const filters = parseFilters(req.query['filters']);
    const { node: nodes, ...forwarded } = filters;
    const query = new URLSearchParams(req.query as Record<string, string>);
    if (nodes !== undefined) {
      if (Object.keys(forwarded).length > 0) query.set('filters', JSON.stringify(forwarded));
      else query.delete('filters');
    }
    const qs = query.toString();
    const { lists, unreachable } = await listEverywhere(ctx.engines, { method: 'GET', path: `/volumes${qs ? `?${qs}` : ''}`, apiVersion: req.apiVersion });
    const warnings = unreachable.map((u) => `node ${u.node.nodeName} did not list its volumes: ${u.error}`);
    const cluster = lists.length + unreachable.length > 1;
    res.json(mergeVolumeLists(lists.map((l) => ({ node: nodeOf(l.node), body: l.body })), warnings, { cluster, ...(nodes === undefined ? {} : { nodes }) }));
  });

  router.post('/volumes/create', async (req, res) => {
    const body = await readJsonBody(req);
    const parsed = body && typeof body === 'object' && typeof (body as { Name?: unknown }).Name === 'string' ? parseVolumeRef((body as { Name: string }).Name) : undefined;
    // `<node>/<name>` only when that node exists; otherwise the slash is an invalid character (Docker's 400).
    const on = parsed?.node === undefined ? undefined : findNode(parsed.node);
    const target = on ?? local();
    const spec = parseVolumeCreate(on === undefined || parsed === undefined ? body : { ...(body as object), Name: parsed.name });
    const cluster = ctx.engines.all().length > 1;
    await passThrough(target.engine, req, res, {
      body: spec,
      mapJson: (answer, status) => {
        if (status >= 300 || !answer || typeof answer !== 'object') return answer;
        const v = normalizeVolume(answer as Record<string, unknown>);
        return cluster ? withNode(v, nodeOf(target)) : v;
      },
    });
  });

  router.post('/volumes/prune', async (req, res) => {
    parseFilters(req.query['filters']);
    await passThrough(local().engine, req, res);
  });

  /** A volume by `<node>/<name>` or bare name, with the node that has it. */
  const find = async (req: Request, ref: string) => {
    const { node, name } = parseVolumeRef(ref);
    const call = { method: 'GET', path: `/volumes/${encodeURIComponent(name)}`, apiVersion: req.apiVersion };
    if (node === undefined) return locate(ctx.engines, call);
    const target = engineNamed(node);
    return { node: target, reply: await callEngine(target, call) };
  };

  const inspect = async (req: Request, ref: string, res: Response) => {
    const { node, reply } = await find(req, ref);
    const v = normalizeVolume(expectOk(reply) as Record<string, unknown>);
    res.status(reply.status).json(ctx.engines.all().length > 1 ? withNode(v, nodeOf(node)) : v);
  };
  router.get('/volumes/:name', (req, res) => inspect(req, String(req.params['name']), res));
  // `docker volume inspect tb2/data`: the CLI sends the slash as it is.
  router.get('/volumes/:node/:name', (req, res) => inspect(req, `${String(req.params['node'])}/${String(req.params['name'])}`, res));

  // Cluster volumes (API 1.42+) are swarm-and-CSI only.
  router.put('/volumes/:name', () => {
    throw notImplemented('updating cluster volumes is not supported: this gateway offers local volumes only');
  });

  const remove = async (req: Request, ref: string, res: Response) => {
    const found = await find(req, ref);
    expectOk(found.reply);
    const { name } = parseVolumeRef(ref);
    const force = req.query['force'] === undefined ? '' : `?force=${encodeURIComponent(String(req.query['force']))}`;
    await passThrough(found.node.engine, req, res, { path: `/volumes/${encodeURIComponent(name)}${force}` });
  };
  router.delete('/volumes/:name', (req, res) => remove(req, String(req.params['name']), res));
  router.delete('/volumes/:node/:name', (req, res) => remove(req, `${String(req.params['node'])}/${String(req.params['name'])}`, res));

  return router;
}
