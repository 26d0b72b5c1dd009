import { Router } from 'express';
import type { Instance } from '../../../model/index.js';
import type { ReadTx } from '../../../store/index.js';
import { getTask, listTasks } from '../../../manager/controlapi/tasks.js';
import { instanceToSwarmTask } from '../../../translate/swarm/service.js';
import { notImplemented } from '../../../util/errors.js';
import type { ApiContext } from '../context.js';
import { parseFilters, singleQuery } from '../resources-filters.js';
import { jsonArray, SerializedObjects } from '../serialized.js';
import { swarmOf } from './swarm.js';

/** `docker service ps`, `docker inspect <task>`: reads of the instances, as Swarm's Task JSON. */
export function tasksRoutes(ctx: ApiContext): Router {
  const router = Router();
  const store = () => swarmOf(ctx).controlDeps().store;

  const serialized = new SerializedObjects<Instance>();
  /** The task's JSON text; its networks (whose specs it embeds) are inputs too. */
  const taskText = (tx: ReadTx, i: Instance): string => {
    const networks = i.networks.map((a) => tx.get('network', a.networkId));
    return serialized.text(i, networks, () => instanceToSwarmTask(i, { network: (id) => tx.get('network', id) }));
  };

  router.get('/tasks', (req, res) => {
    const filters = parseFilters(singleQuery(req.query as Record<string, unknown>, 'filters'));
    res.type('json').send(jsonArray(store().view((tx) => listTasks(tx, filters).map((i) => taskText(tx, i)))));
  });

  router.get('/tasks/:id', (req, res) => {
    res.type('json').send(store().view((tx) => taskText(tx, getTask(tx, String(req.params['id'])))));
  });

  router.get('/tasks/:id/logs', (req, _res) => {
    store().view((tx) => getTask(tx, String(req.params['id'])));
    throw notImplemented('task logs are not available yet: use "docker logs" on the task\'s container');
  });

  return router;
}
