import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createRootCa } from '../../pki/ca.js';
import { DAY, T0, testCa, testKey } from '../../pki/testing.js';
import { planCaUpdate, rootCaInfoAfter } from './ca-rotation.js';

const root = testCa('old');
const info = { certPem: root.certPem, digest: 'sha256:x', rotationInProgress: false };

test('ForceRotate unchanged: nothing happens; changed: a rotation to a fresh root cross-signed by the current one', () => {
  assert.equal(planCaUpdate({ root }, info, { forceRotate: 0 }, T0).kind, 'keep');
  const plan = planCaUpdate({ root }, info, { forceRotate: 1 }, T0);
  assert.equal(plan.kind, 'begin');
  if (plan.kind !== 'begin') return;
  const cross = new X509Certificate(plan.rotation.crossSignedCertPem);
  assert.ok(cross.checkIssued(new X509Certificate(root.certPem)));
  assert.ok(cross.verify(new X509Certificate(root.certPem).publicKey));
  const after = rootCaInfoAfter(info, plan);
  assert.equal(after.rotationInProgress, true);
  assert.equal(after.lastForcedRotation, 1);
  assert.equal(after.rotation?.certPem, plan.rotation.newCa.certPem);
  assert.equal(after.certPem, root.certPem, 'nodes keep trusting the current root while it runs');
  // The same ForceRotate again: nothing new.
  assert.equal(planCaUpdate({ root, rotation: plan.rotation }, after, { forceRotate: 1 }, T0).kind, 'keep');
});

test('--ca-cert/--ca-key: rotate to it; to the current root aborts; to the running rotation keeps it', () => {
  const mine = testCa('mine');
  const plan = planCaUpdate({ root }, info, { forceRotate: 0, signingCa: mine }, T0);
  assert.equal(plan.kind, 'begin');
  if (plan.kind !== 'begin') return;
  assert.equal(plan.rotation.newCa.certPem, mine.certPem);
  const running = { root, rotation: plan.rotation };
  const during = rootCaInfoAfter(info, plan);
  assert.equal(planCaUpdate(running, during, { forceRotate: 0, signingCa: mine }, T0).kind, 'keep');
  const abort = planCaUpdate(running, during, { forceRotate: 0, signingCa: root }, T0);
  assert.equal(abort.kind, 'abort');
  const aborted = rootCaInfoAfter(during, abort);
  assert.equal(aborted.rotationInProgress, false);
  assert.equal(aborted.rotation, undefined);
});

test("a given root is checked with Swarm's messages", () => {
  const sameKey = createRootCa({ now: T0 + DAY, key: testKey('ca:old') });
  assert.throws(() => planCaUpdate({ root }, info, { forceRotate: 0, signingCa: sameKey }, T0), /Cannot update to a cert with an identical key/);
  const shortLived = createRootCa({ now: T0, key: testKey('short'), validityMs: 30 * DAY });
  assert.throws(() => planCaUpdate({ root }, info, { forceRotate: 0, signingCa: shortLived }, T0), /CA certificate expires too soon/);
  const mismatch = { certPem: testCa('mine').certPem, keyPem: testKey('short').keyPem };
  assert.throws(() => planCaUpdate({ root }, info, { forceRotate: 0, signingCa: mismatch }, T0), /certificate key mismatch/);
  assert.throws(() => planCaUpdate({ root }, info, { forceRotate: 0, signingCa: { certPem: 'nope', keyPem: 'nope' } }, T0), /could not parse the desired CA certificate/);
});
