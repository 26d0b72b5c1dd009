import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp } from '../../src/api/docker/app.js';
import type { ApiContext } from '../../src/api/docker/context.js';
import { Engine, type EngineDirectory, type NodeEngine } from '../../src/engine/index.js';
import { assertMatchesDefinition } from '../support/schema.js';
import { ensureImage, inProcessContext, testEngine } from '../support/gateway.js';
import { listenOnLoopback } from '../support/loopback.js';
import { testbedHosts } from '../support/testbed.js';

/**
 * `GET /events` through the facade: live, bounded by since/until, filtered,
 * and merged over a directory where one engine cannot be reached.
 */
const { ctx, engine, close } = inProcessContext();
const prefix = `stvres-ev-${randomBytes(4).toString('hex')}`;

/** The test engine plus an engine whose socket does not exist: it must not stop the others. */
const broken: NodeEngine = { nodeId: 'gone', nodeName: 'gone', engine: new Engine({ kind: 'unix', socketPath: `/tmp/${prefix}-nothing.sock` }) };
const twoEngines: EngineDirectory = {
  local: () => ctx.engines.local(),
  all: () => [ctx.engines.local(), broken],
  byNode: (id) => (id === 'gone' ? broken : ctx.engines.byNode(id)),
};
const app = createApp({ ...ctx, engines: twoEngines } satisfies ApiContext);
let server: http.Server;
let port = 0;

interface Watch {
  readonly events: Record<string, unknown>[];
  waitFor(pred: (e: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  ended: Promise<void>;
  stop(): void;
}

/** Opens GET /events on the served app and collects what it sends. */
function watch(query: string): Promise<Watch> {
  return new Promise((resolve, reject) => {
    const events: Record<string, unknown>[] = [];
    const waiters: { pred: (e: Record<string, unknown>) => boolean; done: (e: Record<string, unknown>) => void }[] = [];
    let endedResolve = (): void => {};
    const ended = new Promise<void>((r) => (endedResolve = r));
    const req = http.get({ host: '127.0.0.1', port, path: `/v1.47/events?${query}` }, (res) => {
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /application\/json/);
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines.filter((l) => l.trim())) {
          const e = JSON.parse(line) as Record<string, unknown>;
          events.push(e);
          for (const w of waiters.filter((x) => x.pred(e))) w.done(e);
        }
      });
      res.on('end', endedResolve);
      res.on('close', endedResolve);
      resolve({
        events,
        ended,
        stop: () => req.destroy(),
        waitFor: (pred, ms = 15_000) =>
          new Promise((done, fail) => {
            const seen = events.find(pred);
            if (seen) return done(seen);
            const timer = setTimeout(() => fail(new Error(`no such event within ${ms} ms; saw ${JSON.stringify(events)}`)), ms);
            waiters.push({ pred, done: (e) => (clearTimeout(timer), done(e)) });
          }),
      });
    });
    req.on('error', reject);
  });
}

describe('events API', () => {
  before(async () => {
    await ensureImage(testEngine().url);
    ({ server, port } = await listenOnLoopback(app));
  });

  after(async () => {
    for (const c of await engine.docker.listContainers({ all: true, filters: { name: [prefix] } })) await engine.docker.getContainer(c.Id).remove({ force: true });
    server.closeAllConnections();
    server.close();
    broken.engine.close();
    close();
  });

  it('streams a container start live, in the EventMessage shape, though one engine is unreachable', async () => {
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'], container: [`${prefix}-live`] }));
    const w = await watch(`filters=${filters}`);
    const container = await engine.docker.createContainer({ Image: 'busybox:latest', Cmd: ['true'], name: `${prefix}-live` });
    await container.start();
    const started = await w.waitFor((e) => e['Action'] === 'start');
    assertMatchesDefinition(started, 'EventMessage');
    assert.equal((started['Actor'] as { ID: string }).ID, container.id);
    for (const e of w.events) assert.equal(e['Type'], 'container'); // the engine applied the filter
    w.stop();
    await w.ended;
    await container.remove({ force: true });
  });

  it('ends by itself when `until` has passed, replaying what happened since `since`', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const container = await engine.docker.createContainer({ Image: 'busybox:latest', Cmd: ['true'], name: `${prefix}-past` });
    await container.remove({ force: true });
    const until = Math.floor(Date.now() / 1000) + 1;
    const filters = encodeURIComponent(JSON.stringify({ container: [`${prefix}-past`] }));
    const w = await watch(`since=${since}&until=${until}&filters=${filters}`);
    await w.ended;
    assert.deepEqual(
      w.events.map((e) => e['Action']),
      ['create', 'destroy'],
    );
  });

  it('refuses malformed filters and bad times with 400, and keeps serving', async () => {
    const bad = await request(app).get('/v1.47/events?filters=%7Bnope');
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.body.message, 'string');
    const badTime = await request(app).get('/v1.47/events?since=yesterday-ish&until=1');
    assert.equal(badTime.status, 400, JSON.stringify(badTime.body));
    assert.equal(typeof badTime.body.message, 'string');
    const ok = await request(app).get(`/v1.47/events?since=1&until=2`);
    assert.equal(ok.status, 200);
  });

  it('lists volumes with a warning for the unreachable engine instead of failing', async () => {
    const res = await request(app).get('/v1.47/volumes');
    assert.equal(res.status, 200);
    assertMatchesDefinition(res.body, 'VolumeListResponse');
    assert.ok((res.body.Warnings as string[]).some((w) => w.includes('gone')), JSON.stringify(res.body.Warnings));
    const images = await request(app).get('/v1.47/images/json');
    assert.equal(images.status, 200);
  });
});

/**
 * Two test bed engines behind one directory (tb1 local, tb2 remote): events of
 * both arrive on one stream, and listings merge (one busybox, one bridge, a
 * volume of tb2 listed beside tb1's).
 */
describe('events and listings merged over two test bed engines', () => {
  const hosts = testbedHosts(2);
  const nodes: NodeEngine[] = hosts.slice(0, 2).map((h) => ({ nodeId: h.name, nodeName: h.name, engine: new Engine({ kind: 'unix', socketPath: h.socketPath }) }));
  const [tb1, tb2] = nodes as [NodeEngine, NodeEngine];
  const directory: EngineDirectory = { local: () => tb1, all: () => nodes, byNode: (id) => nodes.find((n) => n.nodeId === id) };
  const merged = createApp({ ...ctx, engines: directory });
  const volume = `${prefix}-tb2vol`;
  let mergedServer: http.Server;

  before(async () => {
    for (const h of hosts.slice(0, 2)) await ensureImage(h.dockerHost);
    ({ server: mergedServer } = await listenOnLoopback(merged));
  });

  after(async () => {
    for (const n of nodes) {
      for (const c of await n.engine.docker.listContainers({ all: true, filters: { name: [prefix] } })) await n.engine.docker.getContainer(c.Id).remove({ force: true });
      await n.engine.docker.getVolume(volume).remove().catch(() => {});
      n.engine.close();
    }
    mergedServer.closeAllConnections();
    mergedServer.close();
  });

  it('streams container events of both engines on one connection', async () => {
    const saved = port;
    port = (mergedServer.address() as AddressInfo).port;
    try {
      const filters = encodeURIComponent(JSON.stringify({ type: ['container'], event: ['start'] }));
      const w = await watch(`filters=${filters}`);
      const ids: string[] = [];
      for (const n of nodes) {
        const c = await n.engine.docker.createContainer({ Image: 'busybox:latest', Cmd: ['true'], name: `${prefix}-${n.nodeName}` });
        await c.start();
        ids.push(c.id);
      }
      for (const id of ids) await w.waitFor((e) => (e['Actor'] as { ID?: string } | undefined)?.ID === id);
      w.stop();
      await w.ended;
    } finally {
      port = saved;
    }
  });

  it('lists an image both engines hold once, the predefined networks once, and volumes of both', async () => {
    await tb2.engine.docker.createVolume({ Name: volume });
    const images = await request(merged).get('/v1.47/images/json');
    assert.equal(images.status, 200);
    const busyboxes = (images.body as { RepoTags: string[] }[]).filter((i) => i.RepoTags.includes('busybox:latest'));
    assert.equal(busyboxes.length, 1, JSON.stringify(images.body));

    const networks = await request(merged).get('/v1.47/networks');
    assert.equal((networks.body as { Name: string }[]).filter((n) => n.Name === 'bridge').length, 1);

    const volumes = await request(merged).get(`/v1.47/volumes?filters=${encodeURIComponent(JSON.stringify({ name: [volume] }))}`);
    assert.deepEqual(
      (volumes.body.Volumes as { Name: string }[]).map((v) => v.Name),
      // Across several engines a volume is listed as <node>/<name>, as classic Swarm did (routes/volumes.ts).
      [`${tb2.nodeName}/${volume}`],
    );
    // Inspect finds it on tb2 although tb1 is the local engine; remove goes there too.
    assert.equal((await request(merged).get(`/v1.47/volumes/${volume}`)).status, 200);
    assert.equal((await request(merged).delete(`/v1.47/volumes/${volume}`)).status, 204);
  });
});
