/**
 * Swarm-scoped networks through the Docker API, with the network allocator
 * running over the same MemoryStore (no dispatcher, no orchestrator): `swarm
 * init` makes the ingress network, `docker network create -d overlay` writes
 * a cluster network that the allocator gives a subnet, gateway and VXLAN id,
 * `ls`/`inspect` show cluster networks merged with the engine's, `rm` refuses
 * a network in use. Bodies are checked against the v1.47 `Network` schema.
 * The engine is only read (listings); nothing is created on it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startAllocator } from '../../src/allocator/allocator.js';
import { ManualClock } from '../../src/util/clock.js';
import { assertMatchesDefinition } from '../support/schema.js';
import { testNodeDescription } from '../support/swarm-manager.js';
import { assertRefused, inProcessSwarmApi } from '../support/swarm-api.js';

const clock = new ManualClock();
const api = inProcessSwarmApi({ clock, description: testNodeDescription('gateway', { nanoCpus: 2e9, memoryBytes: 4 << 30 }) });
const { base, store, manager, app, noSwarm } = api;
const allocator = startAllocator({ store, clock, log: base.ctx.log });
const prefix = `stvalloc${Date.now().toString(36)}`;

/** Polls until `fn` holds (the allocator reacts to the store asynchronously). */
async function eventually(what: string, fn: () => boolean | Promise<boolean>): Promise<void> {
  const until = Date.now() + 5000;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function snapshot(): string {
  return JSON.stringify(store.view((tx) => ({ n: tx.list('network'), v: tx.version })));
}

function refused(call: () => request.Test, status: number, message: string | RegExp): Promise<void> {
  return assertRefused(call, status, message, snapshot);
}

const create = (body: Record<string, unknown>) => request(app).post('/v1.47/networks/create').send(body);

before(async () => {
  await manager.init({});
});

after(async () => {
  allocator.stop();
  await api.close();
});

test('outside a swarm an overlay network is still refused with the bridge route’s message', async () => {
  const res = await request(noSwarm).post('/v1.47/networks/create').send({ Name: `${prefix}-x`, Driver: 'overlay' }).expect(400);
  assert.match(res.body.message, /overlay networks need swarm mode/);
});

test('swarm init makes the ingress network: 10.0.0.0/24, gateway 10.0.0.1, VXLAN id 4096', async () => {
  await eventually('ingress allocation', () => store.view((tx) => tx.byName('network', 'ingress')?.allocation !== undefined));
  const res = await request(app).get('/v1.47/networks/ingress').expect(200);
  assertMatchesDefinition(res.body, 'Network');
  assert.equal(res.body.Name, 'ingress');
  assert.equal(res.body.Scope, 'swarm');
  assert.equal(res.body.Driver, 'overlay');
  assert.equal(res.body.Ingress, true);
  assert.deepEqual(res.body.IPAM.Config, [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
  assert.equal(res.body.Options['com.docker.network.driver.overlay.vxlanid_list'], '4096');
});

let netId = '';
const name = `${prefix}-front`;

test('docker network create -d overlay: Docker’s answer, allocated, inspected, listed with the engine’s networks', async () => {
  const res = await create({
    Name: name,
    Driver: 'overlay',
    Attachable: true,
    Internal: false,
    Labels: { 'com.example.team': 'web' },
    Options: { encrypted: '' },
    IPAM: { Driver: 'default', Config: [{ Subnet: '10.50.0.0/16', Gateway: '10.50.0.1', IPRange: '10.50.1.0/24' }] },
  }).expect(201);
  assertMatchesDefinition(res.body, 'NetworkCreateResponse');
  assert.equal(res.body.Warning, '');
  assert.match(res.body.Id, /^[0-9a-z]{25}$/);
  netId = res.body.Id;
  await eventually('allocation', () => store.view((tx) => tx.get('network', netId)?.allocation !== undefined));

  for (const ref of [netId, name, netId.slice(0, 8)]) {
    const inspect = await request(app).get(`/v1.47/networks/${ref}`).expect(200);
    assertMatchesDefinition(inspect.body, 'Network');
    assert.equal(inspect.body.Id, netId);
  }
  const inspect = await request(app).get(`/v1.47/networks/${name}`).expect(200);
  assert.equal(inspect.body.Attachable, true);
  assert.deepEqual(inspect.body.Labels, { 'com.example.team': 'web' });
  assert.deepEqual(inspect.body.IPAM.Config, [{ Subnet: '10.50.0.0/16', Gateway: '10.50.0.1', IPRange: '10.50.1.0/24' }]);
  assert.equal(inspect.body.Options.encrypted, '');
  assert.equal(inspect.body.Options['com.docker.network.driver.overlay.vxlanid_list'], '4097');

  // An automatic one after it: the next /24 of the default pool.
  const auto = await create({ Name: `${prefix}-auto`, Driver: 'overlay' }).expect(201);
  await eventually('auto allocation', () => store.view((tx) => tx.get('network', auto.body.Id)?.allocation !== undefined));
  const autoInspect = await request(app).get(`/v1.47/networks/${auto.body.Id}`).expect(200);
  assert.deepEqual(autoInspect.body.IPAM.Config, [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }]);

  const list = await request(app).get('/v1.47/networks').expect(200);
  for (const n of list.body) assertMatchesDefinition(n, 'Network');
  const names = list.body.map((n: { Name: string }) => n.Name);
  for (const want of ['bridge', 'host', 'none', 'ingress', name, `${prefix}-auto`]) assert.ok(names.includes(want), `${want} in ${names.join(',')}`);
  assert.equal(names.filter((n: string) => n === name).length, 1);

  const filtered = await request(app)
    .get('/v1.47/networks')
    .query({ filters: JSON.stringify({ scope: ['swarm'], label: ['com.example.team=web'] }) })
    .expect(200);
  assert.deepEqual(
    filtered.body.map((n: { Name: string }) => n.Name),
    [name],
  );
  // The agents realise a cluster network as an engine network labelled with its id: listed once, as the cluster's.
  const real = await base.engine.docker.createNetwork({ Name: `${prefix}-real`, Driver: 'bridge', Labels: { 'io.stevedore.network.id': netId } });
  try {
    const merged = await request(app).get('/v1.47/networks').expect(200);
    assert.ok(!merged.body.some((n: { Name: string }) => n.Name === `${prefix}-real`));
    assert.equal(merged.body.filter((n: { Id: string }) => n.Id === netId).length, 1);
  } finally {
    await real.remove();
  }
  const byDriver = await request(app)
    .get('/v1.47/networks')
    .query({ filters: JSON.stringify({ driver: { overlay: true } }) })
    .expect(200);
  assert.ok(byDriver.body.every((n: { Driver: string }) => n.Driver === 'overlay'));
  assert.ok(byDriver.body.some((n: { Name: string }) => n.Name === 'ingress'));
});

test('refusals in Docker’s words and statuses, nothing written', async () => {
  await refused(() => create({ Name: name, Driver: 'overlay' }), 409, `network with name ${name} already exists`);
  await refused(() => create({ Name: name, Driver: 'bridge' }), 409, `network with name ${name} already exists`);
  await refused(() => create({ Name: 'bridge', Driver: 'overlay' }), 403, 'bridge is a pre-defined network and cannot be created');
  await refused(() => create({ Name: `${prefix}-bad`, Driver: 'overlay', IPAM: { Config: [{ Subnet: '10.60.0/24' }] } }), 400, 'rpc error: code = InvalidArgument desc = ipam configuration: invalid subnet 10.60.0/24');
  await refused(() => create({ Name: `${prefix}-bad`, Driver: 'overlay', IPAM: { Config: [{ Subnet: '10.60.0.1/24' }] } }), 400, 'invalid network config:\ninvalid subnet 10.60.0.1/24: it should be 10.60.0.0/24');
  await refused(
    () => create({ Name: `${prefix}-bad`, Driver: 'overlay', IPAM: { Config: [{ Subnet: '10.60.0.0/24', Gateway: '10.61.0.1' }] } }),
    400,
    "invalid network config:\ninvalid gateway 10.61.0.1: parent subnet 10.60.0.0/24 doesn't contain this address",
  );
  await refused(() => create({ Name: `${prefix}-bad`, Driver: 'overlay', IPAM: { Config: [{ Subnet: '10.0.0.0/16' }] } }), 403, 'invalid pool request: Pool overlaps with other one on this address space');
  await refused(() => create({ Name: `${prefix}-bad`, Driver: 'overlay', Ingress: true, Attachable: true }), 400, 'rpc error: code = InvalidArgument desc = ingress network cannot be attachable');
  await refused(() => create({ Name: `${prefix}-bad`, Driver: 'overlay', Ingress: true }), 409, /^rpc error: code = AlreadyExists desc = ingress network \([0-9a-z]{25}\) is already present$/);
  await refused(() => request(app).delete(`/v1.47/networks/${prefix}-nope`), 404, /not found/);
});

test('a service on the network gets a VIP on it and on ingress; rm is refused while the service uses the network', async () => {
  const svc = await request(app)
    .post('/v1.47/services/create')
    .send({
      Name: `${prefix}-web`,
      TaskTemplate: { ContainerSpec: { Image: 'busybox:latest' }, Networks: [{ Target: name }] },
      EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 80 }] },
    })
    .expect(201);
  const serviceId: string = svc.body.ID;
  await eventually('service endpoint', () => store.view((tx) => (tx.get('workload', serviceId)?.endpoint?.virtualIps.length ?? 0) === 2));
  const inspect = await request(app).get(`/v1.47/services/${serviceId}`).expect(200);
  assertMatchesDefinition(inspect.body, 'Service');
  const ingressId = store.view((tx) => tx.byName('network', 'ingress')?.id);
  const [onIngress, onNet] = inspect.body.Endpoint.VirtualIPs as { NetworkID: string; Addr: string }[];
  // On ingress: inside its /24, neither its gateway nor a node's own ingress address (the routing mesh's).
  assert.equal(onIngress?.NetworkID, ingressId);
  assert.match(onIngress?.Addr ?? '', /^10\.0\.0\.\d+\/24$/);
  const nodeAddrs = store.view((tx) => tx.list('node').map((n) => n.ingressAddress?.address.split('/')[0]));
  assert.ok(onIngress?.Addr !== '10.0.0.1/24' && !nodeAddrs.includes(onIngress?.Addr.split('/')[0]), onIngress?.Addr);
  assert.deepEqual(onNet, { NetworkID: netId, Addr: '10.50.1.0/16' }); // the ip-range's first address: inside the /16, as libnetwork hands it out
  assert.equal(inspect.body.Endpoint.Ports[0].PublishedPort, 30000);

  await refused(() => request(app).delete(`/v1.47/networks/${name}`), 400, `rpc error: code = FailedPrecondition desc = network ${netId} is in use by service ${serviceId}`);
  await refused(() => request(app).delete('/v1.47/networks/ingress'), 400, `rpc error: code = FailedPrecondition desc = ingress network cannot be removed because service ${serviceId} depends on it`);
  await request(app).delete(`/v1.47/services/${serviceId}`).expect(200);
  await request(app).delete(`/v1.47/networks/${name}`).expect(204);
  await request(app).get(`/v1.47/networks/${netId}`).expect(404);
  // Its subnet is free again.
  const again = await create({ Name: `${prefix}-again`, Driver: 'overlay', IPAM: { Config: [{ Subnet: '10.50.0.0/16' }] } }).expect(201);
  await eventually('re-allocation', () => store.view((tx) => tx.get('network', again.body.Id)?.allocation?.subnets[0]?.subnet === '10.50.0.0/16'));
});

test('swarm leave --force takes the cluster networks away', async () => {
  await request(app).post('/v1.47/swarm/leave?force=true').expect(200);
  const list = await request(app).get('/v1.47/networks').expect(200);
  assert.ok(!list.body.some((n: { Scope: string }) => n.Scope === 'swarm'));
});
