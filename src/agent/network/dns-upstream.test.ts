import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import { answerFromHosts, HostResolvers, parseHosts, parseResolvConf, udpExchange } from './dns-upstream.js';

test('resolv.conf: nameserver lines in order, IPv4 and IPv6, zone ids dropped, junk ignored', () => {
  assert.deepEqual(parseResolvConf('# c\nsearch lan\nnameserver 10.255.255.53\nnameserver fe80::1%eth0\nnameserver nope\n  nameserver 127.0.0.53\noptions ndots:0\n'), ['10.255.255.53', 'fe80::1', '127.0.0.53']);
});

test('hosts: names to addresses per family, comments ignored, lowercased', () => {
  const h = parseHosts('127.0.0.1 localhost Runsc # comment\n::1 localhost ip6-localhost\n# 10.0.0.1 hidden\n10.0.0.9\tdb.lan db\n');
  assert.deepEqual(h.get('localhost'), { v4: ['127.0.0.1'], v6: ['::1'] });
  assert.deepEqual(h.get('runsc'), { v4: ['127.0.0.1'], v6: [] });
  assert.deepEqual(h.get('db'), { v4: ['10.0.0.9'], v6: [] });
  assert.equal(h.get('hidden'), undefined);
});

test('a name in the hosts file is answered from it; other names are not', () => {
  const hosts = parseHosts('127.0.0.1 localhost\n');
  const q = (name: string, type: 'A' | 'AAAA') => dnsPacket.decode(dnsPacket.encode({ type: 'query', id: 7, questions: [{ type, name }] }));
  const a = answerFromHosts(q('LOCALHOST', 'A'), hosts);
  assert.deepEqual(a?.answers?.map((x) => (x.type === 'A' ? x.data : '')), ['127.0.0.1']);
  assert.deepEqual(answerFromHosts(q('localhost', 'AAAA'), hosts)?.answers, []);
  assert.equal(answerFromHosts(q('example.com', 'A'), hosts), undefined);
});

test('forwarding: the first nameserver that answers, with the query\'s id; none answering gives undefined', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'stv-dns-'));
  const server = dgram.createSocket('udp4');
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
  const port = server.address().port;
  server.on('message', (msg, rinfo) => {
    const query = dnsPacket.decode(msg);
    const q = query.questions?.[0];
    if (!q) return;
    server.send(dnsPacket.encode({ type: 'response', id: query.id ?? 0, questions: [q], answers: [{ type: 'A', name: q.name, ttl: 1, data: '192.0.2.1' }] }), rinfo.port, rinfo.address);
  });
  try {
    const raw = dnsPacket.encode({ type: 'query', id: 99, questions: [{ type: 'A', name: 'example.test' }] });
    const answer = await udpExchange(raw, '127.0.0.1', 2_000, port);
    assert.ok(answer);
    const d = dnsPacket.decode(answer);
    assert.equal(d.id, 99);
    assert.deepEqual(d.answers?.map((x) => (x.type === 'A' ? x.data : '')), ['192.0.2.1']);
    // An empty resolv.conf and a name not in the hosts file: nobody to ask.
    await writeFile(path.join(dir, 'resolv.conf'), '');
    await writeFile(path.join(dir, 'hosts'), '127.0.0.1 localhost\n');
    const r = new HostResolvers({ resolvConf: path.join(dir, 'resolv.conf'), hostsFile: path.join(dir, 'hosts'), timeoutMs: 200 });
    assert.equal(await r.resolve(raw, dnsPacket.decode(raw), 'udp'), undefined);
    const local = dnsPacket.encode({ type: 'query', id: 5, questions: [{ type: 'A', name: 'localhost' }] });
    const fromHosts = await r.resolve(local, dnsPacket.decode(local), 'udp');
    assert.ok(fromHosts);
    assert.deepEqual(dnsPacket.decode(fromHosts).answers?.map((x) => (x.type === 'A' ? x.data : '')), ['127.0.0.1']);
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
