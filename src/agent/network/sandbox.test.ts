import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AddressPool, hostsBase, plumbFile, resolvConf, SANDBOX_ADDRESS_LABEL, SANDBOX_RUNTIME, sandboxCreate, sandboxEligible, vethName } from './sandbox.js';

test('a body on the default network takes a sandbox; networks, published ports, a MAC, another runtime or our files bound over do not', () => {
  assert.equal(sandboxEligible({ Image: 'busybox' }), true);
  assert.equal(sandboxEligible({ Image: 'busybox', HostConfig: { NetworkMode: 'default', Mounts: [{ Target: '/data' }] } }), true);
  assert.equal(sandboxEligible({ HostConfig: { NetworkMode: 'bridge' } }), true);
  assert.equal(sandboxEligible({ HostConfig: { NetworkMode: 'front' } }), false);
  assert.equal(sandboxEligible({ HostConfig: { NetworkMode: 'host' } }), false);
  assert.equal(sandboxEligible({ HostConfig: { NetworkMode: 'container:abc' } }), false);
  assert.equal(sandboxEligible({ NetworkingConfig: { EndpointsConfig: { front: {} } } }), false);
  assert.equal(sandboxEligible({ HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } } }), false);
  assert.equal(sandboxEligible({ HostConfig: { PublishAllPorts: true } }), false);
  assert.equal(sandboxEligible({ MacAddress: '02:42:ac:11:00:02' }), false);
  assert.equal(sandboxEligible({ NetworkDisabled: true }), false);
  assert.equal(sandboxEligible({ HostConfig: { Runtime: 'runsc' } }), false);
  assert.equal(sandboxEligible({ HostConfig: { Binds: ['/x/hosts:/etc/hosts:ro'] } }), false);
  assert.equal(sandboxEligible({ HostConfig: { Mounts: [{ Type: 'bind', Target: '/etc/resolv.conf' }] } }), false);
});

test('the sandboxed body: our runtime, no engine network, our two files bound, the address labelled; the rest kept', () => {
  const body = { Image: 'busybox', Labels: { a: 'b' }, HostConfig: { Mounts: [{ Type: 'volume', Target: '/data' }], Memory: 5 } };
  const out = sandboxCreate(body, { dir: '/var/lib/stevedore-agent/sandboxes/t1', address: '172.18.0.7/16' });
  assert.deepEqual(out, {
    Image: 'busybox',
    NetworkDisabled: true,
    Labels: { a: 'b', [SANDBOX_ADDRESS_LABEL]: '172.18.0.7/16' },
    HostConfig: {
      Memory: 5,
      Runtime: SANDBOX_RUNTIME,
      Mounts: [
        { Type: 'volume', Target: '/data' },
        { Type: 'bind', Source: '/var/lib/stevedore-agent/sandboxes/t1/hosts', Target: '/etc/hosts' },
        { Type: 'bind', Source: '/var/lib/stevedore-agent/sandboxes/t1/resolv.conf', Target: '/etc/resolv.conf' },
      ],
    },
  });
  assert.deepEqual(body.HostConfig.Mounts, [{ Type: 'volume', Target: '/data' }], 'the input is not touched');
});

test("resolv.conf as Docker derives a bridge container's: loopback resolvers dropped, the fallback when none are left, the container's own lines win", () => {
  const host = '# generated\nnameserver 127.0.0.53\nnameserver 10.1.2.3\nsearch corp.example\noptions edns0\n';
  assert.equal(resolvConf(host), 'search corp.example\nnameserver 10.1.2.3\noptions edns0\n');
  assert.equal(resolvConf('nameserver 127.0.0.53\n'), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(resolvConf(host, { dns: ['1.1.1.1'], search: ['a.example'], options: ['ndots:2'] }), 'search a.example\nnameserver 1.1.1.1\noptions ndots:2\n');
});

test('/etc/hosts: the defaults, then the extra hosts as "ip<TAB>name"', () => {
  const h = hostsBase(['db:10.0.0.9', 'v6:fe80::1']);
  assert.match(h, /^127\.0\.0\.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n/);
  assert.match(h, /\n10\.0\.0\.9\tdb\nfe80::1\tv6\n$/);
});

test('the veth name fits the kernel limit and the plumbing file is plain key=value lines', () => {
  assert.equal(vethName('x7f3k2m9q1w8e5r4t6y0u2i3o'), 'svbx7f3k2m9q1w8');
  assert.ok(vethName('x7f3k2m9q1w8e5r4t6y0u2i3o').length <= 15);
  assert.equal(plumbFile({ veth: 'svbabc', bridge: 'stv-sbx', address: '172.18.0.7/16', gateway: '172.18.0.1', mtu: 1450 }), 'veth=svbabc\nbridge=stv-sbx\naddress=172.18.0.7/16\ngateway=172.18.0.1\nmtu=1450\n');
});

test('the address pool: in turn after the last one given, never the gateway, adopted ones kept, full is an error', () => {
  const pool = new AddressPool('10.9.0.0/29', '10.9.0.1'); // .2 … .6 usable
  assert.equal(pool.take('a'), '10.9.0.2/29');
  assert.equal(pool.take('a'), '10.9.0.2/29', 'the same instance keeps its address');
  assert.equal(pool.adopt('b', '10.9.0.4/29'), true);
  assert.equal(pool.adopt('c', '10.9.0.4/29'), false, "another's address");
  assert.equal(pool.adopt('c', '10.9.0.1/29'), false, 'the gateway');
  assert.equal(pool.adopt('c', '10.10.0.3/29'), false, 'outside the subnet');
  assert.equal(pool.take('c'), '10.9.0.3/29');
  assert.equal(pool.take('d'), '10.9.0.5/29');
  pool.release('a');
  assert.equal(pool.take('e'), '10.9.0.6/29', 'a released address is not the next one given');
  assert.equal(pool.take('f'), '10.9.0.2/29', 'but it is given again in turn');
  assert.throws(() => pool.take('g'), /no free address/);
});

const runtime = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'bin', 'stevedore-runc');

test('bin/stevedore-runc hands every command to runc untouched, and a create with no plumbing file too', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'stv-runc-'));
  try {
    const calls = path.join(dir, 'calls');
    const fake = path.join(dir, 'runc');
    writeFileSync(fake, `#!/bin/sh\nprintf '%s|' "$@" >>${calls}\necho >>${calls}\n`, { mode: 0o755 });
    const bundle = path.join(dir, 'bundle');
    execFileSync('mkdir', ['-p', bundle]);
    writeFileSync(path.join(bundle, 'config.json'), '{"mounts":[{"destination":"/etc/hosts","type":"bind","source":"/nowhere/hosts","options":["rbind"]}]}');
    const env = { ...process.env, STEVEDORE_RUNC: fake };
    execFileSync(runtime, ['--root', '/run/x', '--log', `${dir}/log.json`, '--log-format', 'json', 'start', 'abc'], { env });
    execFileSync(runtime, ['--root', '/run/x', 'create', '--bundle', bundle, '--pid-file', `${dir}/pid`, 'abc'], { env });
    assert.deepEqual(readFileSync(calls, 'utf8').trim().split('\n'), [
      `--root|/run/x|--log|${dir}/log.json|--log-format|json|start|abc|`,
      `--root|/run/x|create|--bundle|${bundle}|--pid-file|${dir}/pid|abc|`,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
