import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Assignment, NetworkAssignment } from '../dispatcher/protocol.js';
import type { Instance } from '../model/index.js';
import { systemClock } from '../util/clock.js';
import { conflict, unavailable } from '../util/errors.js';
import { silentLogger } from '../util/log.js';
import { FatalStepError, type Controller } from './exec/controller.js';
import type { Executor } from './exec/executor.js';
import type { EnsureResult, OverlayDriver, OverlayNetworkDesired, TeardownResult } from './network/index.js';
import { AgentOverlays } from './overlay.js';
import { testInstance } from './testing.js';
import { systemTimers, type Timers } from './timers.js';
import { Worker } from './worker.js';

const net: NetworkAssignment = {
  name: 'front',
  driver: 'overlay',
  vni: 4097,
  subnet: '10.0.1.0/24',
  gateway: '10.0.1.1',
  encrypted: false,
  internal: false,
  attachable: false,
  mode: 'vxlan',
  peers: [{ nodeId: 'n2', underlay: '10.211.0.17', endpoints: ['10.0.1.3/24'] }],
};

function onNetwork(id: string, addr = '10.0.1.2/24'): Instance {
  return { ...testInstance({ id, nodeId: 'n1', state: 'assigned' }), networks: [{ networkId: 'net1', addresses: [addr], aliases: ['web'] }] };
}

class FakeDriver implements OverlayDriver {
  readonly ensured: OverlayNetworkDesired[] = [];
  readonly tornDown: string[] = [];
  ensureError: Error | undefined;
  /** Teardowns refused with a conflict before one succeeds. */
  busy = 0;
  constructor(private readonly log: string[] = []) {}
  async ensure(desired: OverlayNetworkDesired): Promise<EnsureResult> {
    this.log.push(`ensure:${desired.networkId}`);
    if (this.ensureError) throw this.ensureError;
    this.ensured.push(desired);
    return { mode: 'vxlan', mtu: 1450, dockerNetworkName: desired.name, applied: [] };
  }
  async teardown(networkId: string): Promise<TeardownResult> {
    if (this.busy > 0) {
      this.busy--;
      throw conflict('overlay front: 1 container(s) on this host still use it');
    }
    this.log.push(`teardown:${networkId}`);
    this.tornDown.push(networkId);
    return { applied: [{ op: 'link.del', name: 'stvx-4097' }] };
  }
  async wireguardPublicKey(): Promise<string> {
    return 'KEY=';
  }
}

/** Timers the test fires by hand. */
function manualTimers(): Timers & { fire(): void; pending(): number } {
  const waiting = new Map<number, () => void>();
  let next = 0;
  return {
    setTimeout: (fn) => {
      waiting.set(++next, fn);
      return next;
    },
    clearTimeout: (h) => void waiting.delete(h as number),
    fire: () => {
      const all = [...waiting.values()];
      waiting.clear();
      for (const f of all) f();
    },
    pending: () => waiting.size,
  };
}

function overlays(driver: FakeDriver, timers: Timers = manualTimers(), onEngine: readonly string[] = []): AgentOverlays {
  return new AgentOverlays({ driver: async () => driver, listOnEngine: async () => onEngine, log: silentLogger, timers, retryMs: 1 });
}

const tick = () => new Promise((r) => setImmediate(r));

test('an assigned network is ensured with its peers; the instance then joins it at its address', async () => {
  const d = new FakeDriver();
  const o = overlays(d);
  o.update('net1', net);
  const i = onNetwork('i1');
  assert.deepEqual(o.attached(i).length <= 1, true);
  await o.prepare(i);
  assert.equal(d.ensured.length, 1);
  assert.deepEqual(d.ensured[0], {
    networkId: 'net1',
    name: 'front',
    vni: 4097,
    subnet: '10.0.1.0/24',
    gateway: '10.0.1.1',
    mode: 'vxlan',
    encrypted: false,
    internal: false,
    peers: [{ nodeId: 'n2', underlay: '10.211.0.17', endpoints: [{ address: '10.0.1.3/24' }] }],
  });
  assert.deepEqual(o.attached(i), [{ name: 'front', networkId: 'net1', addresses: ['10.0.1.2/24'], aliases: ['web'] }]);
  // A network without a data plane here (the ingress network is never assigned) is left out, not waited for.
  const other: Instance = { ...i, networks: [...i.networks, { networkId: 'ingress', addresses: ['10.0.0.9/24'], aliases: [] }] };
  await o.prepare(other);
  assert.deepEqual(o.attached(other).map((n) => n.networkId), ['net1']);
});

test('an overlay that cannot be made (no WireGuard, a foreign network) rejects the instance with the reason; a passing failure is retried', async () => {
  const d = new FakeDriver();
  const o = overlays(d);
  d.ensureError = unavailable('encrypted overlay: kernel WireGuard is unavailable and wireguard-go could not start');
  o.update('net1', { ...net, encrypted: true });
  await assert.rejects(o.prepare(onNetwork('i1')), (err: unknown) => err instanceof FatalStepError && /network front: encrypted overlay: kernel WireGuard is unavailable/.test(err.message));

  d.ensureError = new Error('ip: command timed out');
  o.update('net1', net);
  await assert.rejects(o.prepare(onNetwork('i1')), (err: unknown) => !(err instanceof FatalStepError));
  d.ensureError = undefined;
  await o.prepare(onNetwork('i1')); // a fresh attempt, not the failed one again
  assert.equal(d.ensured.length, 1);
});

test('teardown waits out containers still attached, and a network wanted again is not torn down', async () => {
  const d = new FakeDriver();
  const timers = manualTimers();
  const o = overlays(d, timers);
  o.update('net1', net);
  d.busy = 2;
  await o.remove('net1');
  assert.deepEqual(d.tornDown, []);
  assert.equal(timers.pending(), 1);
  timers.fire();
  await tick();
  assert.deepEqual(d.tornDown, []);
  timers.fire();
  await tick();
  assert.deepEqual(d.tornDown, ['net1']);

  d.busy = 1;
  await o.remove('net1');
  o.update('net1', net); // back before the retry
  assert.equal(timers.pending(), 0);
  assert.deepEqual(d.tornDown, ['net1']);
});

test('every ensure that went through is told, whoever asked for it (the routing mesh listens)', async () => {
  const d = new FakeDriver();
  const o = overlays(d);
  const heard: string[] = [];
  o.onEnsured((id) => heard.push(id));
  d.ensureError = unavailable('passing');
  o.update('net1', net);
  await assert.rejects(o.prepare(onNetwork('i1')));
  assert.deepEqual(heard, [], 'a failed ensure is not told');
  d.ensureError = undefined;
  await o.prepare(onNetwork('i1')); // the instance's own retry, not an assignment
  await tick();
  assert.deepEqual(heard, ['net1']);
});

test('settle waits for teardowns being retried, at most the time given, and says what is left', async () => {
  const d = new FakeDriver();
  const o = overlays(d, systemTimers);
  assert.deepEqual(await o.settle(1_000), [], 'nothing pending: at once');
  o.update('net1', net);
  d.busy = 3;
  await o.remove('net1');
  assert.deepEqual(d.tornDown, []);
  assert.deepEqual(await o.settle(5_000), []);
  assert.deepEqual(d.tornDown, ['net1'], 'settled only once the retries tore it down');

  const stuck = new AgentOverlays({ driver: async () => d, listOnEngine: async () => [], log: silentLogger, timers: systemTimers, retryMs: 5, maxTeardownAttempts: 1_000_000 });
  stuck.update('net2', net);
  d.busy = 1_000_000;
  await stuck.remove('net2');
  const t0 = Date.now();
  assert.deepEqual(await stuck.settle(50), ['net2']);
  assert.ok(Date.now() - t0 < 2_000);
  stuck.close(); // no retry outlives the agent
  assert.deepEqual(await stuck.settle(5_000), []);
});

test('leaving the cluster waits for the overlay teardowns it started', async () => {
  const log: string[] = [];
  const d = new FakeDriver(log);
  const o = overlays(d, systemTimers);
  const w = new Worker({ executor: fakeExecutor(log), clock: systemClock, timers: manualTimers(), log: silentLogger, random: () => 0.5, report: () => undefined, networks: o });
  await w.recover('n1');
  await w.apply({ full: true, changes: [{ action: 'update', item: { kind: 'instance', id: 'i1', instance: onNetwork('i1') } }, { action: 'update', item: { kind: 'network', id: 'net1', network: net } }] });
  for (let k = 0; k < 50 && !log.includes('start:i1'); k++) await tick();
  d.busy = 2; // the engine still detaches the removed container for a moment
  await w.leave();
  assert.deepEqual(d.tornDown, ['net1'], log.join(' '));
  assert.ok(log.indexOf('remove:i1') < log.indexOf('teardown:net1'), log.join(' '));
});

test('a full set tears down overlays left on the engine (an agent restarted after their last task went) and keeps the rest', async () => {
  const d = new FakeDriver();
  const o = overlays(d, manualTimers(), ['net1', 'old']);
  o.update('net1', net);
  await o.retain(new Set(['net1']));
  assert.deepEqual(d.tornDown, ['old']);
});

// ------------------------------------------------------------------ through the worker

class FakeController implements Controller {
  constructor(
    private readonly iid: string,
    private readonly log: string[],
  ) {}
  async prepare(): Promise<void> {
    this.log.push(`prepare:${this.iid}`);
  }
  async start(): Promise<void> {
    this.log.push(`start:${this.iid}`);
  }
  wait(signal: AbortSignal): Promise<number> {
    return new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  }
  async shutdown(): Promise<void> {
    this.log.push(`shutdown:${this.iid}`);
  }
  async terminate(): Promise<void> {}
  async remove(): Promise<void> {
    this.log.push(`remove:${this.iid}`);
  }
  async inspect(): Promise<undefined> {
    return undefined;
  }
}

function fakeExecutor(log: string[]): Executor {
  return {
    describe: () => Promise.reject(new Error('not used')),
    controller: (instance) => Object.assign(new FakeController(instance.id, log), { id: undefined }),
    recover: async () => [],
    removeContainer: async () => undefined,
  };
}

test('the worker makes the overlay before the container and tears it down only after the last container left', async () => {
  const log: string[] = [];
  const d = new FakeDriver(log);
  const o = overlays(d);
  const w = new Worker({ executor: fakeExecutor(log), clock: systemClock, timers: manualTimers(), log: silentLogger, random: () => 0.5, report: () => undefined, networks: o });
  await w.recover('n1');
  const item = (i: Instance): Assignment => ({ kind: 'instance', id: i.id, instance: i });
  const netItem: Assignment = { kind: 'network', id: 'net1', network: net };
  await w.apply({ full: true, changes: [{ action: 'update', item: item(onNetwork('i1')) }, { action: 'update', item: item(onNetwork('i2', '10.0.1.7/24')) }, { action: 'update', item: netItem }] });
  for (let k = 0; k < 50 && !log.includes('start:i2'); k++) await tick();
  assert.equal(log[0], 'ensure:net1');
  assert.ok(log.indexOf('prepare:i1') > 0 && log.indexOf('prepare:i2') > 0, log.join(' '));

  // A peer starts elsewhere: the network is ensured again with it.
  await w.apply({ full: false, changes: [{ action: 'update', item: { kind: 'network', id: 'net1', network: { ...net, peers: [...net.peers, { nodeId: 'n3', underlay: '10.211.0.18', endpoints: ['10.0.1.4/24'] }] } } }] });
  await tick();
  assert.equal(d.ensured.at(-1)?.peers.length, 2);

  // One of two local instances leaves: the overlay stays.
  await w.apply({ full: false, changes: [{ action: 'remove', item: { kind: 'instance', id: 'i1' } }] });
  assert.ok(log.includes('remove:i1'));
  assert.deepEqual(d.tornDown, []);

  // The last one leaves with the network: its container goes first, then the overlay.
  await w.apply({ full: false, changes: [{ action: 'remove', item: { kind: 'instance', id: 'i2' } }, { action: 'remove', item: { kind: 'network', id: 'net1' } }] });
  assert.ok(log.indexOf('remove:i2') < log.indexOf('teardown:net1'), log.join(' '));
  assert.deepEqual(d.tornDown, ['net1']);
  await w.stop();
});
