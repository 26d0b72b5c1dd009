import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import type { NetworkAssignment, NetworkServices } from '../dispatcher/protocol.js';
import type { Instance } from '../model/index.js';
import { silentLogger } from '../util/log.js';
import { AgentDiscovery, withNameservers } from './discovery.js';
import { HostResolvers, udpExchange } from './network/dns-upstream.js';
import { LB_TABLE } from './network/lb-planner.js';
import { systemTimers } from './timers.js';
import { testInstance } from './testing.js';

const network = (gateway: string): NetworkAssignment => ({
  name: 'front', driver: 'overlay', vni: 4097, subnet: '10.0.1.0/24', gateway, encrypted: false, internal: false, attachable: false, mode: 'vxlan', peers: [],
});

const task = (id: string, address: string) => ({ id, name: `web.${id}`, address, nodeId: 'n1' });
const services = (tasks: ReturnType<typeof task>[]): NetworkServices => ({ network: 'front', services: [{ id: 'w1', name: 'web', mode: 'vip', vip: '10.0.1.2', aliases: ['www'], tasks }] });

function client(address = '10.0.1.7/24', dns: string[] = []): Instance {
  const base = testInstance({ id: 'c1', state: 'running', container: { dns: { nameservers: dns, search: [], options: [] } } });
  return { ...base, networks: [{ networkId: 'net1', addresses: [address], aliases: [] }] };
}

class FakeFirewall {
  readonly applied: { pid: number; script: string }[] = [];
  async apply(pid: number, script: string): Promise<void> {
    this.applied.push({ pid, script });
  }
}

class FakeUpstream extends HostResolvers {
  readonly asked: { name: string; servers: readonly string[] }[] = [];
  override async resolve(_raw: Buffer, query: DecodedPacket, _t: 'udp' | 'tcp', servers?: readonly string[]): Promise<Buffer | undefined> {
    const q = query.questions?.[0];
    this.asked.push({ name: q?.name ?? '', servers: servers ?? [] });
    return dnsPacket.encode({ type: 'response', id: query.id ?? 0, questions: q ? [q] : [], answers: [{ type: 'A', name: q?.name ?? '', ttl: 1, data: '192.0.2.9' }] });
  }
}

function setup(opts: { gateway?: string; dnsPort?: number; locals?: Instance[]; drainMs?: number } = {}) {
  const firewall = new FakeFirewall();
  const upstream = new FakeUpstream();
  const locals = opts.locals ?? [client()];
  const d = new AgentDiscovery({
    log: silentLogger,
    timers: systemTimers,
    network: (id) => (id === 'net1' ? network(opts.gateway ?? '10.0.1.1') : undefined),
    localInstances: () => locals,
    firewall,
    upstream,
    drainMs: opts.drainMs ?? 0,
    dnsPort: opts.dnsPort ?? 0,
    listenRetryMs: 50_000,
  });
  return { d, firewall, upstream, locals };
}

const settle = () => new Promise((r) => setTimeout(r, 20));
const query = (name: string, type: 'A' | 'AAAA' = 'A') => dnsPacket.encode({ type: 'query', id: 1234, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
const addressesIn = (b: Buffer | undefined) => (b === undefined ? undefined : dnsPacket.decode(b).answers?.map((a) => (a.type === 'A' ? a.data : '')));

test('a running container gets the VIP table; a change of pool re-plans it; an unchanged pool is not applied again', async () => {
  const { d, firewall } = setup({ gateway: '203.0.113.1' }); // not on this host: the responder cannot listen, which is fine here
  const c = client();
  d.update('net1', services([task('a', '10.0.1.10'), task('b', '10.0.1.9')]));
  d.running(c, 4242);
  await settle();
  assert.equal(firewall.applied.length, 1);
  assert.equal(firewall.applied[0]?.pid, 4242);
  assert.match(firewall.applied[0]?.script ?? '', /ip daddr 10\.0\.1\.2 dnat to numgen random mod 2 map \{ 0 : 10\.0\.1\.9, 1 : 10\.0\.1\.10 \}/);
  d.running(c, 4242); // wait() after start registers again: nothing new
  d.update('net1', services([task('a', '10.0.1.10'), task('b', '10.0.1.9')]));
  await settle();
  assert.equal(firewall.applied.length, 1);
  // b turns unhealthy: the manager drops it.
  d.update('net1', services([task('a', '10.0.1.10')]));
  await settle();
  assert.equal(firewall.applied.length, 2);
  assert.match(firewall.applied[1]?.script ?? '', /ip daddr 10\.0\.1\.2 dnat to 10\.0\.1\.10 comment "web"/);
  // The network leaves: the table goes.
  d.remove('net1');
  await settle();
  assert.equal(firewall.applied[2]?.script, `table ip ${LB_TABLE}\ndelete table ip ${LB_TABLE}\n`);
  // A restarted agent (a new AgentDiscovery) applies once more: the script replaces, never duplicates.
  await d.close();
});

test('queries: ours answered from the records, others forwarded (to the task\'s own --dns when it has some)', async () => {
  const me = client('10.0.1.7/24', ['10.9.9.9']);
  const { d, upstream } = setup({ locals: [me] });
  d.update('net1', services([task('a', '10.0.1.10'), task('b', '10.0.1.9')]));
  d.running(me, 4242); // its VIP table is in: lookups are answered at once
  // The responder cannot bind 10.0.1.1 here: once its attempts have failed, tell it which network the gateway is.
  const listening = (d as unknown as { listening: Map<string, string> }).listening;
  for (let i = 0; i < 250 && listening.has('10.0.1.1'); i++) await settle();
  listening.set('10.0.1.1', 'net1');
  const ctx = { source: '10.0.1.7', local: '10.0.1.1', transport: 'udp' as const };
  assert.deepEqual(addressesIn(await d.handle(query('web'), ctx)), ['10.0.1.2']);
  assert.deepEqual(addressesIn(await d.handle(query('www'), ctx)), ['10.0.1.2']);
  assert.deepEqual([...(addressesIn(await d.handle(query('tasks.web'), ctx)) ?? [])].sort(), ['10.0.1.10', '10.0.1.9']);
  assert.deepEqual(addressesIn(await d.handle(query('web', 'AAAA'), ctx)), []);
  assert.deepEqual(addressesIn(await d.handle(query('localhost'), ctx)), ['192.0.2.9']);
  assert.deepEqual(upstream.asked, [{ name: 'localhost', servers: ['10.9.9.9'] }]);
  // An unknown sender (not a local task): the host's resolvers.
  await d.handle(query('example.test'), { ...ctx, source: '10.0.1.99' });
  assert.deepEqual(upstream.asked[1], { name: 'example.test', servers: [] });
  await d.close();
});

test('the responder answers over UDP on the gateway address (127.0.0.1 here)', async () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const me = client('127.0.0.1/8');
  const { d } = setup({ gateway: '127.0.0.1', dnsPort: port, locals: [me] });
  d.update('net1', services([task('a', '10.0.1.10')]));
  d.running(me, 4242);
  let answer: Buffer | undefined;
  for (let i = 0; i < 50 && answer === undefined; i++) {
    await settle();
    answer = await udpExchange(query('tasks.web'), '127.0.0.1', 200, port);
  }
  assert.deepEqual(addressesIn(answer), ['10.0.1.10']);
  await d.close();
});

test('a local container\'s lookup waits for its VIP table, so its first connection to the VIP is balanced too', async () => {
  const me = client();
  const { d } = setup({ locals: [me], gateway: '203.0.113.1' });
  d.update('net1', services([task('a', '10.0.1.10')]));
  (d as unknown as { listening: Map<string, string> }).listening.set('203.0.113.1', 'net1');
  const ctx = { source: '10.0.1.7', local: '203.0.113.1', transport: 'udp' as const };
  let answered = false;
  const pending = d.handle(query('web'), ctx).then((a) => ((answered = true), a));
  await settle();
  assert.equal(answered, false, 'no answer before the container runs with its table');
  d.running(me, 4242);
  assert.deepEqual(addressesIn(await pending), ['10.0.1.2']);
  await d.close();
});

test('a bind still in flight when the agent closes (or the network goes) is closed once it lands: no socket outlives close()', async () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const { d } = setup({ gateway: '127.0.0.1', dnsPort: port, locals: [client('127.0.0.1/8')] });
  d.update('net1', services([task('a', '10.0.1.10')]));
  await d.close(); // before the bind's callback
  await settle();
  // The port is free again: binding it here succeeds.
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.bind(port, '127.0.0.1', () => resolve());
  });
  probe.close();
});

test('a task that was taking connections waits drainMs before its container is stopped; others do not', async () => {
  const { d } = setup({ drainMs: 150, gateway: '203.0.113.1' });
  const c = client();
  d.update('net1', services([task('a', '10.0.1.7')]));
  let t = Date.now();
  await d.beforeStop(c); // never ran here
  assert.ok(Date.now() - t < 100);
  d.running(c, 99);
  t = Date.now();
  await d.beforeStop(c);
  assert.ok(Date.now() - t >= 140, `waited ${Date.now() - t} ms`);
  await d.close();
});

test('containers get our responder as DNS server: the gateway of their first overlay', () => {
  const { d } = setup();
  const translate = withNameservers(() => ({ name: 'x', body: { Image: 'busybox', HostConfig: { Dns: ['8.8.8.8'], DnsSearch: ['lan'] } } }), (i) => d.nameserversFor(i));
  const out = translate(client(), { nodeId: 'n1', files: { secrets: {}, configs: {} } });
  assert.deepEqual(out.body['HostConfig'], { Dns: ['10.0.1.1'], DnsSearch: ['lan'] });
  const none = translate({ ...client(), networks: [] }, { nodeId: 'n1', files: { secrets: {}, configs: {} } });
  assert.deepEqual(none.body['HostConfig'], { Dns: ['8.8.8.8'], DnsSearch: ['lan'] });
});
