/**
 * The Swarm endpoints through the real express app (createApp + routes) with
 * a MemoryStore and a real engine behind /info: init, inspect, update,
 * join-token rotation, nodes, leave, and the worker-certificate refusal over
 * real mutual TLS. Bodies are checked against the Engine API document.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Express } from 'express';
import { createApp } from '../../src/api/docker/app.js';
import type { ApiContext } from '../../src/api/docker/context.js';
import { engineJson } from '../../src/api/docker/engine-call.js';
import { SwarmManager } from '../../src/manager/manager.js';
import { WorkerRefusedMessage } from '../../src/manager/authorization.js';
import { nodeDescriptionFromEngineInfo } from '../../src/manager/local-node.js';
import { MemoryStore } from '../../src/store/index.js';
import {
  createNodeKeyAndCsr,
  createRootCa,
  issueClientCertificate,
  issueServerCertificate,
  signNodeCsr,
  SwarmRoles,
  type CaMaterial,
} from '../../src/pki/index.js';
import { randomIds } from '../../src/util/ids.js';
import { systemClock } from '../../src/util/clock.js';
import { assertMatchesDefinition } from '../support/schema.js';
import { inProcessContext, testEngine } from '../support/gateway.js';

let ca: CaMaterial;
let store: MemoryStore;
let swarm: SwarmManager;
let app: Express;
let closeEngine: () => void;

const NOT_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

function engineUrl(): string {
  try {
    return testEngine().url;
  } catch {
    return 'unix:///var/run/docker.sock'; // no test bed: the machine's development engine
  }
}

before(() => {
  ca = createRootCa({ now: Date.now() });
  store = new MemoryStore();
  const { ctx: base, engine, close } = inProcessContext(engineUrl());
  closeEngine = close;
  swarm = new SwarmManager({
    store,
    clock: systemClock,
    ids: randomIds,
    log: base.log,
    ca,
    describeLocalNode: async () => nodeDescriptionFromEngineInfo(await engineJson<Record<string, unknown>>(engine, 'GET', '/info')),
    dispatcherListen: '127.0.0.1:0',
  });
  const ctx: ApiContext = { ...base, swarm, infoContributors: [swarm.contributeInfo], swarmStatus: swarm.pingStatus };
  app = createApp(ctx);
});

after(async () => {
  await swarm.stop();
  await store.close();
  closeEngine();
});

test('outside a swarm: Docker\'s 503 on cluster endpoints, inactive in /info and /_ping', async () => {
  for (const path of ['/v1.47/swarm', '/v1.47/nodes', '/v1.47/swarm/unlockkey']) {
    const r = await request(app).get(path);
    assert.equal(r.status, 503, path);
    assert.equal(r.body.message, NOT_MANAGER);
  }
  const ping = await request(app).get('/_ping');
  assert.equal(ping.headers['swarm'], 'inactive');
  const info = await request(app).get('/v1.47/info');
  assert.equal(info.body.Swarm.LocalNodeState, 'inactive');
});

test('swarm init, inspect, info, ping, a second init', async () => {
  const init = await request(app).post('/v1.47/swarm/init').send({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '127.0.0.1', Spec: {} });
  assert.equal(init.status, 200, JSON.stringify(init.body));
  const nodeId = init.body as string;
  assert.match(nodeId, /^[0-9a-z]{25}$/);

  const again = await request(app).post('/v1.47/swarm/init').send({});
  assert.equal(again.status, 503);
  assert.equal(again.body.message, 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.');

  const sw = await request(app).get('/v1.47/swarm');
  assert.equal(sw.status, 200);
  assertMatchesDefinition(sw.body, 'Swarm');
  assert.match(sw.body.JoinTokens.Worker, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  assert.notEqual(sw.body.JoinTokens.Worker, sw.body.JoinTokens.Manager);
  assert.equal(sw.body.Spec.Dispatcher.HeartbeatPeriod, 5_000_000_000);
  assert.equal(sw.body.Spec.CAConfig.NodeCertExpiry, 7_776_000_000_000_000);
  assert.equal(sw.body.Spec.Orchestration.TaskHistoryRetentionLimit, 5);
  assert.deepEqual(sw.body.DefaultAddrPool, ['10.0.0.0/8']);
  assert.equal(sw.body.SubnetSize, 24);
  assert.equal(sw.body.DataPathPort, 4789);
  assert.equal(sw.body.TLSInfo.TrustRoot, ca.certPem);

  const info = await request(app).get('/v1.47/info');
  assertMatchesDefinition(info.body, 'SystemInfo');
  const s = info.body.Swarm;
  assert.equal(s.LocalNodeState, 'active');
  assert.equal(s.NodeID, nodeId);
  assert.equal(s.NodeAddr, '127.0.0.1');
  assert.equal(s.ControlAvailable, true);
  assert.equal(s.Nodes, 1);
  assert.equal(s.Managers, 1);
  assert.equal(s.Cluster.ID, sw.body.ID);
  assert.equal(s.RemoteManagers[0].NodeID, nodeId);
  assert.match(s.RemoteManagers[0].Addr, /^127\.0\.0\.1:\d+$/);

  const ping = await request(app).get('/_ping');
  assert.equal(ping.headers['swarm'], 'active/manager');
});

test('swarm update: spec changes, token rotation, a stale version', async () => {
  const before = (await request(app).get('/v1.47/swarm')).body;
  const spec = { ...before.Spec, Dispatcher: { HeartbeatPeriod: 2_000_000_000 }, Labels: { env: 'test' } };
  const r = await request(app).post(`/v1.47/swarm/update?version=${before.Version.Index}&rotateWorkerToken=true&rotateManagerToken=false`).send(spec);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const after = (await request(app).get('/v1.47/swarm')).body;
  assertMatchesDefinition(after, 'Swarm');
  assert.equal(after.Spec.Dispatcher.HeartbeatPeriod, 2_000_000_000);
  assert.deepEqual(after.Spec.Labels, { env: 'test' });
  assert.notEqual(after.JoinTokens.Worker, before.JoinTokens.Worker);
  assert.equal(after.JoinTokens.Manager, before.JoinTokens.Manager);
  // the digest part stays: it names the same root
  assert.equal(after.JoinTokens.Worker.split('-')[2], before.JoinTokens.Worker.split('-')[2]);

  const stale = await request(app).post(`/v1.47/swarm/update?version=${before.Version.Index}`).send(spec);
  assert.equal(stale.status, 409);
  assert.equal(stale.body.message, 'rpc error: code = Unknown desc = update out of sequence');
  const bad = await request(app).post('/v1.47/swarm/update?version=x').send(spec);
  assert.equal(bad.status, 400);
  const expiry = await request(app).post(`/v1.47/swarm/update?version=${after.Version.Index}`).send({ ...spec, CAConfig: { NodeCertExpiry: 1_000_000_000 } });
  assert.equal(expiry.body.message, 'rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s');

  const key = await request(app).get('/v1.47/swarm/unlockkey');
  assert.deepEqual(key.body, { UnlockKey: '' });
});

test('nodes: list with filters, inspect by id, prefix and hostname, update, refusals', async () => {
  const list = await request(app).get('/v1.47/nodes');
  assert.equal(list.status, 200);
  assert.equal(list.body.length, 1);
  const n = list.body[0];
  assertMatchesDefinition(n, 'Node');
  assert.equal(n.Status.State, 'ready');
  assert.equal(n.Spec.Availability, 'active');
  assert.equal(n.Spec.Role, 'manager');
  assert.equal(n.ManagerStatus.Leader, true);
  assert.equal(n.ManagerStatus.Reachability, 'reachable');
  assert.ok(n.Description.Hostname);
  assert.ok(n.Description.Engine.EngineVersion);
  assert.equal(n.Description.TLSInfo.TrustRoot, ca.certPem);

  const f = (x: object) => request(app).get(`/v1.47/nodes?filters=${encodeURIComponent(JSON.stringify(x))}`);
  assert.equal((await f({ role: ['manager'] })).body.length, 1);
  assert.equal((await f({ role: ['worker'] })).body.length, 0);
  assert.equal((await f({ 'node.label': ['nope'] })).body.length, 0);
  const badFilter = await f({ colour: ['red'] });
  assert.equal(badFilter.status, 400);
  assert.equal(badFilter.body.message, "invalid filter 'colour'");

  for (const ref of [n.ID, n.ID.slice(0, 5), n.Description.Hostname]) {
    const r = await request(app).get(`/v1.47/nodes/${ref}`);
    assert.equal(r.status, 200, ref);
    assert.equal(r.body.ID, n.ID);
  }
  const missing = await request(app).get('/v1.47/nodes/zzzz');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.message, 'node zzzz not found');

  const upd = await request(app)
    .post(`/v1.47/nodes/${n.ID}/update?version=${n.Version.Index}`)
    .send({ ...n.Spec, Labels: { zone: 'a' }, Availability: 'drain' });
  assert.equal(upd.status, 200, JSON.stringify(upd.body));
  const after = (await request(app).get(`/v1.47/nodes/${n.ID}`)).body;
  assert.deepEqual(after.Spec.Labels, { zone: 'a' });
  assert.equal(after.Spec.Availability, 'drain');
  assert.equal((await f({ 'node.label': ['zone=a'] })).body.length, 1);

  const stale = await request(app).post(`/v1.47/nodes/${n.ID}/update?version=${n.Version.Index}`).send(n.Spec);
  assert.equal(stale.status, 409);
  const demote = await request(app).post(`/v1.47/nodes/${n.ID}/update?version=${after.Version.Index}`).send({ ...after.Spec, Role: 'worker' });
  assert.equal(demote.status, 400);
  assert.match(demote.body.message, /attempting to demote the last manager of the swarm/);
  const rm = await request(app).delete(`/v1.47/nodes/${n.ID}`);
  assert.equal(rm.status, 400);
  assert.match(rm.body.message, /is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal/);
});

test('a ready worker cannot be removed without force', async () => {
  const clusterId = (await request(app).get('/v1.47/swarm')).body.ID as string;
  await store.update((tx) =>
    tx.create('node', {
      id: 'w0000000000000000000000001',
      spec: { name: '', labels: {}, role: 'worker', availability: 'active' },
      status: { state: 'ready', message: '', addr: '10.0.0.9' },
      endpoints: {},
    }),
  );
  const rm = await request(app).delete('/v1.47/nodes/w0000000000000000000000001');
  assert.equal(rm.status, 400);
  assert.equal(rm.body.message, "rpc error: code = FailedPrecondition desc = node w0000000000000000000000001 is not down and can't be removed");
  assert.equal((await request(app).delete('/v1.47/nodes/w0000000000000000000000001?force=true')).status, 200);
  assert.ok(clusterId);
});

test("over mutual TLS: a worker node's certificate is refused on cluster endpoints; managers and admins pass", async () => {
  const clusterId = (await request(app).get('/v1.47/swarm')).body.ID as string;
  const server = issueServerCertificate({ ca, now: Date.now(), sans: { dns: ['localhost'], ips: ['127.0.0.1'] } });
  const srv = https.createServer({ key: server.keyPem, cert: server.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, app);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const nodeCert = (role: 'swarm-worker' | 'swarm-manager') => {
    const { keyPem, csrPem } = createNodeKeyAndCsr();
    return { key: keyPem, cert: signNodeCsr({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, csrPem, nodeId: `n-${role}`, clusterId, role, now: Date.now() }) };
  };
  const admin = issueClientCertificate({ ca, name: 'admin', now: Date.now() });
  const get = (path: string, creds: { key: string; cert: string }) =>
    new Promise<{ status: number; body: { message?: string } }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, path, ca: ca.certPem, ...creds, agent: false }, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(t) as { message?: string } }));
      });
      req.on('error', reject);
      req.end();
    });
  try {
    const worker = nodeCert(SwarmRoles.worker);
    for (const path of ['/v1.47/nodes', '/v1.47/swarm', '/v1.47/services', '/v1.47/tasks', '/v1.47/secrets', '/v1.47/configs']) {
      const r = await get(path, worker);
      assert.equal(r.status, 403, path);
      assert.equal(r.body.message, WorkerRefusedMessage);
    }
    assert.equal((await get('/v1.47/nodes', nodeCert(SwarmRoles.manager))).status, 200);
    assert.equal((await get('/v1.47/nodes', { key: admin.keyPem, cert: admin.certPem })).status, 200);
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test('swarm leave: refused without force, then everything goes', async () => {
  const noForce = await request(app).post('/v1.47/swarm/leave');
  assert.equal(noForce.status, 503);
  assert.match(noForce.body.message, /Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message./);
  assert.equal((await request(app).post('/v1.47/swarm/leave?force=1')).status, 200);
  assert.equal((await request(app).get('/v1.47/swarm')).status, 503);
  assert.equal((await request(app).get('/v1.47/info')).body.Swarm.LocalNodeState, 'inactive');
  assert.equal(swarm.dispatcherPort(), undefined);
  // and a fresh swarm can be made again
  assert.equal((await request(app).post('/v1.47/swarm/init').send({ AdvertiseAddr: '127.0.0.1' })).status, 200);
  assert.equal((await request(app).post('/v1.47/swarm/leave?force=true')).status, 200);
});
