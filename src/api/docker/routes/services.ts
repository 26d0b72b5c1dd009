import { Router } from 'express';
import type { Workload } from '../../../model/index.js';
import { parseVersion } from '../../../manager/controlapi/common.js';
import { createService, findWorkload, instancesOf, listServices, removeService, updateService } from '../../../manager/controlapi/services.js';
import { serviceStatusCounts, workloadToSwarm } from '../../../translate/swarm/service.js';
import { invalidParameter, notImplemented } from '../../../util/errors.js';
import { jsonBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { parseFilters, queryBool, singleQuery } from '../resources-filters.js';
import { jsonArray, SerializedObjects } from '../serialized.js';
import { swarmOf } from './swarm.js';

/**
 * `docker service create/ls/inspect/update/rollback/rm`. Handlers parse the
 * request and call the control API, which writes the workload's spec; the
 * orchestrator makes the tasks. Answers are Swarm's JSON.
 */
export function servicesRoutes(ctx: ApiContext): Router {
  const router = Router();
  const deps = () => swarmOf(ctx).controlDeps();
  /** A service's JSON without ServiceStatus depends on its workload alone (`docker service ps` asks for it three times per run). */
  const serialized = new SerializedObjects<Workload>();
  const serviceText = (w: Workload): string => serialized.text(w, [], () => workloadToSwarm(w));

  router.get('/services', (req, res) => {
    const q = req.query as Record<string, unknown>;
    const filters = parseFilters(singleQuery(q, 'filters'));
    const withStatus = queryBool(q, 'status');
    const body = deps().store.view((tx) => {
      const workloads = listServices(tx, filters);
      if (!withStatus) return jsonArray(workloads.map(serviceText));
      const instances = instancesOf(tx, workloads);
      return JSON.stringify(workloads.map((w) => workloadToSwarm(w, { status: serviceStatusCounts(w, instances) })));
    });
    res.type('json').send(body);
  });

  router.post('/services/create', jsonBody(), async (req, res) => {
    const r = await createService(deps(), req.body, req.apiVersion);
    res.status(201).json({ ID: r.id, ...(r.warnings.length ? { Warnings: r.warnings } : {}) });
  });

  // Every default is written out whatever `insertDefaults` says: the model keeps resolved values.
  router.get('/services/:id', (req, res) => {
    res.type('json').send(serviceText(deps().store.view((tx) => findWorkload(tx, String(req.params['id'])))));
  });

  router.post('/services/:id/update', jsonBody(), async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const rollback = singleQuery(q, 'rollback') ?? '';
    if (rollback !== '' && rollback !== 'none' && rollback !== 'previous') throw invalidRollback(rollback);
    await updateService(deps(), {
      ref: String(req.params['id']),
      version: parseVersion(singleQuery(q, 'version'), 'service'),
      body: req.body,
      rollback: rollback === 'previous',
      apiVersion: req.apiVersion,
    });
    res.status(200).json({});
  });

  router.delete('/services/:id', async (req, res) => {
    await removeService(deps(), String(req.params['id']));
    res.status(200).end();
  });

  router.get('/services/:id/logs', (req, _res) => {
    deps().store.view((tx) => findWorkload(tx, String(req.params['id'])));
    throw notImplemented('service logs are not available yet: use "docker logs" on the task\'s container (docker service ps shows where it runs)');
  });

  return router;
}

// The daemon's words (cluster/services.go).
const invalidRollback = (value: string): Error => invalidParameter(`unrecognized rollback option ${value}`);
