import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { authorizeClusterCall } from '../../../manager/authorization.js';
import { alreadyInSwarm, parseVersion } from '../../../manager/controlapi/common.js';
import type { SwarmManager } from '../../../manager/manager.js';
import { peerIdentity } from '../../../pki/index.js';
import { forbidden, notASwarmManager, unavailable } from '../../../util/errors.js';
import { jsonBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { queryBool, singleQuery } from '../resources-filters.js';

/**
 * Swarm's own endpoints: /swarm (init, inspect, update, leave, unlock key).
 * Every handler only parses and calls the SwarmManager; it writes specs, the
 * rest of the cluster reacts to the store.
 */

/** The SwarmManager, or Docker's 503 when this gateway runs without one. */
export function swarmOf(ctx: ApiContext): SwarmManager {
  if (!ctx.swarm) throw notASwarmManager();
  return ctx.swarm;
}

/**
 * One middleware for the whole API: reads the client certificate of the TLS
 * connection and refuses a worker node's certificate on manager-only paths.
 * Mounted before every route. Plain HTTP (tests) and unix sockets carry no
 * certificate and pass.
 */
export function clusterAuthorization(): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const peer = peerIdentity(req.socket);
    if (peer === undefined) {
      next();
      return;
    }
    try {
      if (!peer.ok) throw peer.error;
      authorizeClusterCall(req.path, peer.identity.role);
      next();
    } catch (err) {
      next(err instanceof Error ? err : forbidden(String(err)));
    }
  };
}

export function swarmRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.post('/swarm/init', jsonBody(), async (req, res) => {
    const nodeId = await swarmOf(ctx).init(req.body);
    res.status(200).json(nodeId);
  });

  router.post('/swarm/join', jsonBody(), (_req, _res) => {
    const swarm = swarmOf(ctx);
    if (swarm.isActive()) throw alreadyInSwarm();
    // The gateway is a manager of its own swarm or of none; hosts join it with `stevedore agent join`.
    throw unavailable('This gateway cannot join another swarm: it manages its own. Use "docker swarm init" here, and "stevedore agent join" on the hosts.');
  });

  router.get('/swarm', (_req, res) => {
    res.json(swarmOf(ctx).inspect());
  });

  router.post('/swarm/update', jsonBody(), async (req, res) => {
    const q = req.query as Record<string, unknown>;
    await swarmOf(ctx).update({
      version: parseVersion(singleQuery(q, 'version'), 'swarm'),
      spec: req.body,
      rotateWorkerToken: queryBool(q, 'rotateWorkerToken'),
      rotateManagerToken: queryBool(q, 'rotateManagerToken'),
    });
    res.status(200).end();
  });

  router.post('/swarm/leave', async (req, res) => {
    await swarmOf(ctx).leave(queryBool(req.query as Record<string, unknown>, 'force'));
    res.status(200).end();
  });

  router.get('/swarm/unlockkey', (_req, res) => {
    res.json(swarmOf(ctx).unlockKey());
  });

  router.post('/swarm/unlock', jsonBody(), (_req, _res) => {
    swarmOf(ctx).unlockKey();
    throw unavailable('swarm is not locked!');
  });

  return router;
}
