import { Router } from 'express';
import type { ApiContext } from '../context.js';
import { conflict } from '../../../util/errors.js';
import { passThrough } from '../passthrough.js';
import { callEngine, expectOk, listEverywhere, locate, readJsonBody } from '../resources-engine.js';
import { parseFilters } from '../resources-filters.js';
import { mergeNetworkLists, normalizeNetwork } from '../networks-merge.js';
import { parseNetworkConnect, parseNetworkCreate, parseNetworkDisconnect } from '../networks-validate.js';
import { createNetwork, findClusterNetwork, isSwarmScopedCreate, listClusterNetworks, networkToDocker, parseNetworkSpec, removeNetwork } from '../../../manager/controlapi/networks.js';
import type { ControlDeps } from '../../../manager/controlapi/cluster.js';

/**
 * Networks. Without swarm mode only local-scope drivers exist, and they are
 * created on the local engine, where standalone containers run. Listing merges
 * every engine; inspect and remove find the network on whichever engine has it.
 */
export function networksRoutes(ctx: ApiContext): Router {
  const router = Router();
  const local = () => ctx.engines.local();
  /** Swarm mode: the cluster's store while a swarm exists (its networks are scope "swarm", see controlapi/networks.ts). */
  const cluster = (): ControlDeps | undefined => (ctx.swarm?.isActive() ? ctx.swarm.controlDeps() : undefined);

  router.get('/networks', async (req, res) => {
    const filters = parseFilters(req.query['filters']);
    const swarm = cluster();
    const clusterNetworks = swarm ? swarm.store.view((tx) => listClusterNetworks(tx, filters).map(networkToDocker)) : [];
    const { lists, unreachable } = await listEverywhere(ctx.engines, { method: 'GET', path: req.url, apiVersion: req.apiVersion });
    for (const u of unreachable) ctx.log.warn({ node: u.node.nodeName, err: u.error }, 'network list: engine left out');
    // An engine's realisation of a cluster network (the agents' overlay data plane labels it with the network's id) is the cluster network itself.
    const realised = (n: unknown): boolean => swarm !== undefined && isRealisation(n, (id) => swarm.store.view((tx) => tx.get('network', id) !== undefined));
    res.json(mergeNetworkLists([...lists.map((l) => (Array.isArray(l.body) ? l.body.filter((n) => !realised(n)) : [])), clusterNetworks]));
  });

  router.post('/networks/create', async (req, res) => {
    const body = await readJsonBody(req);
    const swarm = cluster();
    if (swarm && isSwarmScopedCreate(body)) {
      // A swarm network's name is unique among the cluster's (createNetwork) and the gateway engine's networks.
      const { name } = parseNetworkSpec(body); // its refusals come before the engine is asked
      if (await localNetworkNamed(name, req.apiVersion)) throw conflict(`network with name ${name} already exists`);
      res.status(201).json({ Id: await createNetwork(swarm, body), Warning: '' });
      return;
    }
    const spec = parseNetworkCreate(body);
    if (swarm?.store.view((tx) => tx.byName('network', spec.Name))) throw conflict(`network with name ${spec.Name} already exists`);
    // The engine only refuses duplicates when asked to (CheckDuplicate), and
    // compose does not always ask: the gateway always does, as Docker ≥ 25 does.
    const existing = expectOk(
      await callEngine(local(), {
        method: 'GET',
        path: `/networks?filters=${encodeURIComponent(JSON.stringify({ name: { [spec.Name]: true } }))}`,
        apiVersion: req.apiVersion,
      }),
    );
    if (Array.isArray(existing) && existing.some((n) => (n as { Name?: unknown }).Name === spec.Name)) {
      throw conflict(`network with name ${spec.Name} already exists`);
    }
    const { CheckDuplicate: _ignored, ...rest } = spec;
    await passThrough(local().engine, req, res, { body: { ...rest, CheckDuplicate: true } });
  });

  router.post('/networks/prune', async (req, res) => {
    parseFilters(req.query['filters']);
    await passThrough(local().engine, req, res);
  });

  router.get('/networks/:id', async (req, res) => {
    const swarmNetwork = cluster()?.store.view((tx) => findClusterNetwork(tx, req.params.id));
    if (swarmNetwork) {
      res.json(networkToDocker(swarmNetwork));
      return;
    }
    const { reply } = await locate(ctx.engines, { method: 'GET', path: req.url, apiVersion: req.apiVersion });
    const body = expectOk(reply);
    res.status(reply.status).json(body && typeof body === 'object' ? normalizeNetwork(body as Record<string, unknown>) : body);
  });

  router.delete('/networks/:id', async (req, res) => {
    const swarm = cluster();
    if (swarm?.store.view((tx) => findClusterNetwork(tx, req.params.id))) {
      await removeNetwork(swarm, req.params.id);
      res.status(204).end();
      return;
    }
    const found = await locate(ctx.engines, { method: 'GET', path: `/networks/${encodeURIComponent(req.params.id)}`, apiVersion: req.apiVersion });
    expectOk(found.reply);
    await passThrough(found.node.engine, req, res);
  });

  router.post('/networks/:id/connect', async (req, res) => {
    const body = parseNetworkConnect(await readJsonBody(req));
    const attachments = ctx.localAttachments?.();
    if (attachments === undefined) {
      await passThrough(local().engine, req, res, { body });
      return;
    }
    await attachments.connect(req.params.id, body, async (sent, dockerNetwork) => {
      const path = dockerNetwork === undefined ? undefined : `/networks/${encodeURIComponent(dockerNetwork)}/connect`;
      await passThrough(local().engine, req, res, { body: sent, ...(path === undefined ? {} : { path }) });
      return res.statusCode;
    });
  });

  router.post('/networks/:id/disconnect', async (req, res) => {
    const body = parseNetworkDisconnect(await readJsonBody(req));
    const attachments = ctx.localAttachments?.();
    if (attachments === undefined) {
      await passThrough(local().engine, req, res, { body });
      return;
    }
    await attachments.disconnect(req.params.id, body, async () => {
      await passThrough(local().engine, req, res, { body });
      return res.statusCode;
    });
  });

  /** An engine network labelled `io.stevedore.network.id` with the id of a cluster network. */
  function isRealisation(n: unknown, isClusterNetwork: (id: string) => boolean): boolean {
    const labels = n && typeof n === 'object' ? (n as { Labels?: unknown }).Labels : undefined;
    const id = labels && typeof labels === 'object' ? (labels as Record<string, unknown>)['io.stevedore.network.id'] : undefined;
    return typeof id === 'string' && isClusterNetwork(id);
  }

  /** Whether the gateway's engine has a network of exactly this name. */
  async function localNetworkNamed(name: string, apiVersion: string): Promise<boolean> {
    const found = expectOk(
      await callEngine(local(), { method: 'GET', path: `/networks?filters=${encodeURIComponent(JSON.stringify({ name: { [name]: true } }))}`, apiVersion }),
    );
    return Array.isArray(found) && found.some((n) => (n as { Name?: unknown }).Name === name);
  }

  return router;
}
