import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beginRootRotation, signingMaterial, trustBundle } from './ca.js';
import { issuerInfoOfCa, issuerInfoOfLeaf, sameIssuer } from './issuer.js';
import { createNodeKeyAndCsr, signNodeCsr } from './node-cert.js';
import { T0, testCa, testKey } from './testing.js';

test("a leaf's issuer: the root's facts, and during a rotation the new root's (through the cross-signed certificate)", () => {
  const root = testCa('old');
  const rotation = beginRootRotation(root, { now: T0, key: testKey('ca:new') });
  const { csrPem } = createNodeKeyAndCsr();
  const base = { csrPem, nodeId: 'n1', clusterId: 'c1', role: 'swarm-worker', now: T0 } as const;
  const before = signNodeCsr({ ...signingMaterial({ root }), ...base });
  const during = signNodeCsr({ ...signingMaterial({ root, rotation }), ...base });
  assert.ok(sameIssuer(issuerInfoOfLeaf(before, root.certPem), issuerInfoOfCa(root.certPem)));
  // Trusting only the old root, the leaf's issuer is found in its own chain (the cross-signed certificate) ...
  assert.ok(sameIssuer(issuerInfoOfLeaf(during, root.certPem), issuerInfoOfCa(rotation.newCa.certPem)));
  // ... and it is the new root's subject and key, not the old one's.
  assert.equal(sameIssuer(issuerInfoOfLeaf(during, root.certPem), issuerInfoOfCa(root.certPem)), false);
  assert.equal(trustBundle({ root, rotation }), root.certPem + rotation.newCa.certPem);
  assert.equal(issuerInfoOfLeaf(before, testCa('other').certPem), undefined);
});
