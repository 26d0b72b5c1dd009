import { Router, type Request, type Response } from 'express';
import type { ApiContext } from '../context.js';
import { invalidParameter } from '../../../util/errors.js';
import { passThrough } from '../passthrough.js';
import { expectOk, listEverywhere, locate } from '../resources-engine.js';
import { parseFilters, singleQuery } from '../resources-filters.js';
import { mergeImageLists, normalizeImageInspect } from '../images-merge.js';

/**
 * Images. Listing merges every engine's images; everything else works on the
 * local engine, where standalone containers run (distribution inspect too: it
 * asks the registry, through the engine's mirrors and credentials). Image names may hold slashes
 * (`localhost:5000/team/app:1.0`), hence the `*name` wildcards, and the request
 * path goes to the engine as the client wrote it.
 */
export function imagesRoutes(ctx: ApiContext): Router {
  const router = Router();
  const local = () => ctx.engines.local().engine;

  router.get('/images/json', async (req, res) => {
    parseFilters(req.query['filters']);
    const { lists, unreachable } = await listEverywhere(ctx.engines, { method: 'GET', path: req.url, apiVersion: req.apiVersion });
    for (const u of unreachable) ctx.log.warn({ node: u.node.nodeName, err: u.error }, 'image list: engine left out');
    res.json(mergeImageLists(lists.map((l) => (Array.isArray(l.body) ? l.body : []))));
  });

  // Pull (fromImage) or import (fromSrc, body is a tarball): progress streams back live.
  router.post('/images/create', async (req, res) => {
    const fromImage = singleQuery(req.query, 'fromImage');
    const fromSrc = singleQuery(req.query, 'fromSrc');
    if (!fromImage && !fromSrc) throw invalidParameter('fromImage or fromSrc is required');
    await passThrough(local(), req, res);
  });

  // docker save of several images: GET /images/get?names=a&names=b.
  router.get('/images/get', async (req, res) => {
    if (req.query['names'] === undefined) throw invalidParameter('names is required');
    await passThrough(local(), req, res);
  });

  // docker load: the tarball streams through to the engine.
  router.post('/images/load', async (req, res) => {
    await passThrough(local(), req, res);
  });

  router.post('/images/prune', async (req, res) => {
    parseFilters(req.query['filters']);
    await passThrough(local(), req, res);
  });

  // Searching needs Docker Hub, which the gateway's engines may not reach; the
  // local engine answers (or fails) as it would for a direct client.
  router.get('/images/search', async (req, res) => {
    if (!singleQuery(req.query, 'term')) throw invalidParameter('term is required');
    parseFilters(req.query['filters']);
    await passThrough(local(), req, res);
  });

  // Inspect and history: the local engine's copy, else any engine that has it.
  const lookup = async (req: Request, res: Response): Promise<void> => {
    imageName(req);
    const { reply } = await locate(ctx.engines, { method: 'GET', path: req.url, apiVersion: req.apiVersion });
    res.status(reply.status).json(normalizeImageInspect(expectOk(reply)));
  };
  router.get('/images/*name/json', lookup);
  router.get('/images/*name/history', async (req, res) => {
    imageName(req);
    const { reply } = await locate(ctx.engines, { method: 'GET', path: req.url, apiVersion: req.apiVersion });
    res.status(reply.status).json(expectOk(reply));
  });

  // The registry's manifest digest and platforms: `docker service create/update`
  // pin the image by digest with it (and warn that they could not, without it).
  router.get('/distribution/*name/json', async (req, res) => {
    imageName(req);
    await passThrough(local(), req, res);
  });

  router.get('/images/*name/get', async (req, res) => {
    imageName(req);
    await passThrough(local(), req, res);
  });

  router.post('/images/*name/push', async (req, res) => {
    imageName(req);
    await passThrough(local(), req, res);
  });

  router.post('/images/*name/tag', async (req, res) => {
    imageName(req);
    const repo = singleQuery(req.query, 'repo');
    if (!repo) throw invalidParameter('repo is required');
    if (!referencePattern.test(repo)) throw invalidParameter(`invalid reference format: repository name (${repo}) must be lowercase`);
    const tag = singleQuery(req.query, 'tag');
    if (tag !== undefined && tag !== '' && !tagPattern.test(tag)) throw invalidParameter(`invalid tag format: ${JSON.stringify(tag)}`);
    await passThrough(local(), req, res);
  });

  router.delete('/images/*name', async (req, res) => {
    imageName(req);
    await passThrough(local(), req, res);
  });

  return router;
}

/** `req.params.name` of a `*name` route, joined back into the image reference. */
function imageName(req: Request): string {
  const raw: unknown = (req.params as Record<string, unknown>)['name'];
  const name = Array.isArray(raw) ? raw.join('/') : typeof raw === 'string' ? raw : '';
  if (!name) throw invalidParameter('image name is required');
  return name;
}

// A repository path: optional registry host[:port], then lowercase path components.
const referencePattern = /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
