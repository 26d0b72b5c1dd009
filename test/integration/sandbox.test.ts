import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine, parseEngineUrl } from '../../src/engine/index.js';
import type { Instance, InstanceStatus } from '../../src/model/index.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { DockerExecutor } from '../../src/agent/exec/executor.js';
import { step } from '../../src/agent/exec/do.js';
import type { Controller } from '../../src/agent/exec/controller.js';
import { EngineSandboxes } from '../../src/agent/sandboxes.js';
import { contains } from '../../src/agent/network/addressing.js';
import { SANDBOX_ADDRESS_LABEL, SANDBOX_BRIDGE, SANDBOX_NETWORK, SANDBOX_RUNTIME } from '../../src/agent/network/sandbox.js';
import { testInstance } from '../../src/agent/testing.js';
import { registryAddress, testbedHost } from '../support/testbed.js';

/**
 * Instance sandboxes on a real engine (a test-bed host, whose engine has the
 * `stevedore` runtime registered: scripts/testbed.sh): the network is there
 * before the task's process runs, it reaches the gateway, its peer and the
 * world outside the host (through the engine's NAT), a restart of the
 * container plugs it in again, a new agent adopts the addresses in use, and
 * removal gives the address and the files back.
 */
const host = testbedHost('tb2');
const engine = new Engine(parseEngineUrl(host.dockerHost));
const dir = mkdtempSync(path.join(tmpdir(), 'stv-sandbox-test-'));
const sandboxes = new EngineSandboxes({ engine, dir, log: silentLogger, hostResolvConf: 'nameserver 127.0.0.53\nsearch lab.example\n' });
const executor = new DockerExecutor(engine, { sandboxes });
const image = `${registryAddress()}/library/busybox:latest`;
const controllers: Controller[] = [];

function docker(...args: string[]): string {
  return execFileSync('docker', ['-H', host.dockerHost, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

after(async () => {
  for (const c of controllers) await c.remove().catch(() => undefined);
  await sandboxes.removeNetwork();
  engine.close();
  rmSync(dir, { recursive: true, force: true });
});

async function running(instance: Instance): Promise<{ ctlr: Controller; id: string }> {
  const ctlr = executor.controller(instance, 'nodesbx');
  controllers.push(ctlr);
  let status: InstanceStatus = instance.status;
  for (let i = 0; i < 10 && status.state !== 'running'; i++) {
    const r = await step(instance, status, ctlr, systemClock, AbortSignal.timeout(60_000));
    if (r.idle) break;
    status = r.status;
  }
  assert.equal(status.state, 'running', status.err);
  return { ctlr, id: status.container?.containerId ?? '' };
}

/** The script's output once it printed `done` (it then sleeps, so the container stays for the next checks). */
async function output(id: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const out = docker('logs', id);
    if (out.includes('done')) return out;
    await new Promise((r) => setTimeout(r, 100));
  }
  return docker('logs', id);
}

test('a task on no network gets a sandbox: its network is up before it runs, it reaches its gateway, its peer and the lab outside', async () => {
  assert.equal(await sandboxes.enabled(), true, `tb2's engine has the ${SANDBOX_RUNTIME} runtime (scripts/testbed.sh registers it)`);
  const probe = 'ip -o -4 addr show eth0; ip route; cat /etc/resolv.conf /etc/hosts; hostname';
  const a = await running(
    testInstance({ id: 'sbxtest1', name: 'stv-sbx', slot: 1, container: { image, args: ['sh', '-c', `${probe}; echo done; sleep 60`], stopGracePeriodMs: 1_000 } }),
  );
  const out = await output(a.id);
  const addr = /inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(out);
  assert.ok(addr, `eth0 had its address when the process started:\n${out}`);
  const gateway = /default via (\S+) dev eth0/.exec(out)?.[1];
  assert.ok(gateway, `a default route when the process started:\n${out}`);
  // The host's loopback resolver is unreachable from the container: Docker's fallback, and the host's search domain.
  assert.match(out, /search lab\.example\nnameserver 8\.8\.8\.8\nnameserver 8\.8\.4\.4/);
  assert.match(out, /127\.0\.0\.1\tlocalhost/);
  assert.match(out, new RegExp(`${addr[1]?.replaceAll('.', '\\.')}\\t${a.id.slice(0, 12)}`), 'its own line in /etc/hosts, with its hostname');

  const inspect = JSON.parse(docker('inspect', a.id)) as [{ Config: { NetworkDisabled?: boolean; Labels: Record<string, string> }; HostConfig: { Runtime: string } }];
  assert.equal(inspect[0].HostConfig.Runtime, SANDBOX_RUNTIME);
  assert.equal(inspect[0].Config.NetworkDisabled, true);
  assert.equal(inspect[0].Config.Labels[SANDBOX_ADDRESS_LABEL], `${addr[1]}/${addr[2]}`);

  const b = await running(testInstance({ id: 'sbxtest2', name: 'stv-sbx', slot: 2, container: { image, args: ['sh', '-c', `${probe}; echo done; sleep 60`], stopGracePeriodMs: 1_000 } }));
  const bAddr = /inet (\d+\.\d+\.\d+\.\d+)/.exec(await output(b.id))?.[1];
  assert.ok(bAddr !== undefined && bAddr !== addr[1], 'each instance its own address');
  docker('exec', b.id, 'ping', '-c', '1', '-W', '2', gateway);
  docker('exec', b.id, 'ping', '-c', '1', '-W', '2', addr[1] ?? '');
  // Out through the engine's NAT, to the lab bridge (the registry's address).
  docker('exec', b.id, 'sh', '-c', `echo | nc -w 2 ${registryAddress().split(':')[0] ?? ''} ${registryAddress().split(':')[1] ?? ''}`);
  const veths = execFileSync('nsenter', [`--net=/run/netns/${host.namespace}`, 'ip', '-o', 'link', 'show', 'master', SANDBOX_BRIDGE], { encoding: 'utf8' });
  assert.equal(veths.split('\n').filter((l) => /svbsbxtest/.test(l)).length, 2, veths);

  // Restarted by hand: runc creates a new namespace, and the runtime plugs it in again.
  docker('restart', '-t', '0', a.id);
  assert.match(docker('exec', a.id, 'ip', '-o', '-4', 'addr', 'show', 'eth0'), new RegExp(`inet ${addr[1]?.replaceAll('.', '\\.')}/`));
  docker('exec', a.id, 'ping', '-c', '1', '-W', '2', bAddr);

  // A new agent adopts the addresses in use: a third instance gets neither.
  const again = new EngineSandboxes({ engine, dir, log: silentLogger });
  const req = await again.prepare('sbxtest3', { name: 'x', body: { Image: image } });
  const third = (req.body['Labels'] as Record<string, string>)[SANDBOX_ADDRESS_LABEL]?.split('/')[0];
  assert.ok(third !== undefined && third !== addr[1] && third !== bAddr, `${third} is free`);
  await again.release('sbxtest3');

  // Removal gives back the files (and the address).
  await a.ctlr.shutdown();
  await a.ctlr.remove();
  assert.equal(existsSync(path.join(dir, 'sbxtest1')), false);
  assert.equal(existsSync(path.join(dir, 'sbxtest2')), true);
});

test('plumbing that fails fails the task with the runtime\'s reason, and leaves no running container', async () => {
  const instance = testInstance({ id: 'sbxtest8', name: 'stv-sbx', slot: 8, container: { image, args: ['sleep', '60'], stopGracePeriodMs: 1_000 } });
  const ctlr = executor.controller(instance, 'nodesbx');
  controllers.push(ctlr);
  let status: InstanceStatus = instance.status;
  while (status.state !== 'ready') {
    const r = await step(instance, status, ctlr, systemClock, AbortSignal.timeout(60_000));
    assert.equal(r.idle, false, `stuck at ${status.state}: ${status.err ?? ''}`);
    status = r.status;
  }
  // Between prepare and start: the bridge the plumbing names does not exist.
  const plumb = path.join(dir, 'sbxtest8', 'stevedore-plumb');
  writeFileSync(plumb, readFileSync(plumb, 'utf8').replace(/^bridge=.*$/m, 'bridge=stv-nosuch'));
  for (let i = 0; i < 5 && status.state !== 'failed' && status.state !== 'rejected'; i++) {
    status = (await step(instance, status, ctlr, systemClock, AbortSignal.timeout(60_000))).status;
  }
  assert.equal(status.state, 'failed');
  assert.match(status.err ?? '', /stevedore: the network of container [0-9a-f]{64}: .*stv-nosuch/);
  const id = status.container?.containerId ?? '';
  assert.equal(docker('inspect', '-f', '{{.State.Running}}', id), 'false');
});

test('a task with a published host port, or on a network, keeps the engine network; a pruned network is made again; the Docker network goes at leave', async () => {
  const req = { name: 'x', body: { Image: image, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } } } };
  assert.deepEqual(await sandboxes.prepare('sbxtest4', req), req);
  const onNet = { name: 'x', body: { Image: image, HostConfig: { NetworkMode: 'somenet' } } };
  assert.deepEqual(await sandboxes.prepare('sbxtest5', onNet), onNet);
  for (const c of controllers.splice(0)) {
    await c.shutdown().catch(() => undefined);
    await c.remove();
  }

  // `docker network prune` on the host removes the network (the engine sees no endpoint on it): the next create makes it again.
  const watchful = new EngineSandboxes({ engine, dir, log: silentLogger, networkCheckMs: 0 });
  assert.equal(await watchful.enabled(), true);
  docker('network', 'rm', SANDBOX_NETWORK);
  const req6 = await watchful.prepare('sbxtest6', { name: 'x', body: { Image: image } });
  const subnet = docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', SANDBOX_NETWORK);
  const addr6 = (req6.body['Labels'] as Record<string, string>)[SANDBOX_ADDRESS_LABEL] ?? '';
  assert.ok(contains(subnet, addr6), `${addr6} is on the new network ${subnet}`);
  await watchful.release('sbxtest6');

  await sandboxes.removeNetwork();
  assert.throws(() => docker('network', 'inspect', SANDBOX_NETWORK), /No such network|not found/);
});
