/**
 * Heartbeat deadlines with a manual clock: the Dispatcher driven directly
 * (no network, no timers), so the 1.5-period rule is checked to the
 * millisecond, and a session replaced by a newer one does not mark its node down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher } from '../../src/dispatcher/dispatcher.js';
import type { SessionMessage } from '../../src/dispatcher/protocol.js';
import { initCluster, parseInitRequest } from '../../src/manager/controlapi/cluster.js';
import { NodeRestartingMessage, type NodeDescription } from '../../src/model/index.js';
import { createNodeKeyAndCsr, createRootCa } from '../../src/pki/index.js';
import { MemoryStore } from '../../src/store/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { sequentialIds } from '../../src/util/ids.js';
import { silentLogger } from '../../src/util/log.js';

const description: NodeDescription = {
  hostname: 'h',
  platform: { os: 'linux', architecture: 'x86_64' },
  resources: { nanoCpus: 0, memoryBytes: 0, generic: [] },
  engine: { version: '20.10', labels: {}, plugins: [] },
};

/** A swarm with a manual clock and one worker node joined (no session yet). */
async function swarmWithOneWorker(): Promise<{ clock: ManualClock; store: MemoryStore; d: Dispatcher; joined: { nodeId: string } }> {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock });
  const ca = createRootCa({ now: clock.now() });
  const ids = sequentialIds('t');
  await initCluster({ store, clock, ids, caCertPem: ca.certPem }, parseInitRequest({}), { description, advertiseIp: '127.0.0.1', dispatcherPort: 2377 });
  const d = new Dispatcher({ store, clock, ids, log: silentLogger, ca, checkIntervalMs: 0 });
  d.start();
  const token = store.view((tx) => tx.list('cluster')[0]?.joinTokens.worker) ?? '';
  const joined = await d.join({ token, csrPem: createNodeKeyAndCsr().csrPem, advertiseAddr: '10.0.0.5', hostname: 'h', description }, '10.0.0.5');
  return { clock, store, d, joined };
}

test('down exactly after 1.5 heartbeat periods without a heartbeat; a replaced session does not count', async () => {
  const { clock, store, d, joined } = await swarmWithOneWorker();
  const state = () => store.view((tx) => tx.get('node', joined.nodeId)?.status);
  const sink = (into: SessionMessage[]) => ({ send: (m: SessionMessage) => void into.push(m), close: () => undefined });

  const first: SessionMessage[] = [];
  const s1 = await d.openSession(joined.nodeId, { description, knownInstances: [] }, '10.0.0.5', sink(first));
  assert.equal(state()?.state, 'ready');
  assert.equal(state()?.addr, '10.0.0.5');
  assert.deepEqual(first.map((m) => m.type), ['session', 'assignments']);

  // A newer session replaces the first; closing the old one changes nothing.
  const s2 = await d.openSession(joined.nodeId, { description, knownInstances: [] }, '10.0.0.5', sink([]));
  await d.closeSession(s1);
  assert.equal(state()?.state, 'ready');
  assert.throws(() => d.heartbeat(joined.nodeId, { sessionId: s1 }), /session invalid/);

  clock.advance(7_000);
  assert.deepEqual(d.heartbeat(joined.nodeId, { sessionId: s2 }), { periodMs: 5_000 });
  clock.advance(7_500); // exactly 1.5 periods: not yet
  await d.checkHeartbeats();
  assert.equal(state()?.state, 'ready');
  clock.advance(1);
  await d.checkHeartbeats();
  assert.deepEqual({ state: state()?.state, message: state()?.message }, { state: 'down', message: 'heartbeat failure' });
  assert.throws(() => d.heartbeat(joined.nodeId, { sessionId: s2 }), /session invalid/);

  await d.stop();
  await store.close();
});

test("an agent that said it is restarting goes down as restarting; one that vanished goes down as closed", async () => {
  const { store, d, joined } = await swarmWithOneWorker();
  const message = () => store.view((tx) => tx.get('node', joined.nodeId)?.status.message);
  const sink = { send: () => undefined, close: () => undefined };

  const s1 = await d.openSession(joined.nodeId, { description, knownInstances: [] }, '10.0.0.5', sink);
  d.restartNotice(joined.nodeId, { sessionId: s1 });
  await d.closeSession(s1);
  assert.equal(message(), NodeRestartingMessage);
  assert.throws(() => d.restartNotice(joined.nodeId, { sessionId: s1 }), /session invalid/);

  // The next session, closed without a notice, is a lost node.
  const s2 = await d.openSession(joined.nodeId, { description, knownInstances: [] }, '10.0.0.5', sink);
  await d.closeSession(s2);
  assert.equal(message(), 'node is down: session closed');

  await d.stop();
  await store.close();
});
