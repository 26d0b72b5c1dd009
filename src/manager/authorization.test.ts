import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorizeClusterCall, isManagerOnlyPath, WorkerRefusedMessage } from './authorization.js';

test('manager-only paths are the cluster routers', () => {
  for (const p of ['/swarm', '/swarm/update', '/swarm/leave', '/swarm/join', '/nodes', '/nodes/x', '/services/create', '/tasks', '/secrets', '/configs/x']) assert.ok(isManagerOnlyPath(p), p);
  for (const p of ['/containers/json', '/info', '/_ping', '/swarmx', '/nodesx', '/images/json']) assert.ok(!isManagerOnlyPath(p), p);
});

test("admins and managers may, workers get Docker's 403 with Swarm's PermissionDenied", () => {
  assert.doesNotThrow(() => authorizeClusterCall('/nodes', 'client'));
  assert.doesNotThrow(() => authorizeClusterCall('/nodes', 'swarm-manager'));
  assert.doesNotThrow(() => authorizeClusterCall('/nodes', undefined));
  assert.doesNotThrow(() => authorizeClusterCall('/containers/json', 'swarm-worker'));
  for (const p of ['/services', '/swarm', '/nodes/abc', '/tasks', '/secrets/create', '/configs']) {
    assert.throws(
      () => authorizeClusterCall(p, 'swarm-worker'),
      (err: Error & { status?: number }) => err.status === 403 && err.message === WorkerRefusedMessage,
      p,
    );
  }
});
