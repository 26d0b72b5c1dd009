import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from '../model/index.js';
import { issuerInfoOfCa } from '../pki/issuer.js';
import { testCa } from '../pki/testing.js';
import { rotationStep } from './ca-reconciler.js';

const oldIssuer = issuerInfoOfCa(testCa('old').certPem);
const newIssuer = issuerInfoOfCa(testCa('new').certPem);

function node(id: string, issuer: typeof oldIssuer | undefined, certificateState?: 'issued' | 'rotate'): Node {
  return {
    id,
    version: 1,
    createdAt: 0,
    updatedAt: 0,
    spec: { name: '', labels: {}, role: 'worker', availability: 'active' },
    status: { state: 'ready', message: '', addr: '10.0.0.1' },
    endpoints: {},
    ...(certificateState ? { certificateState } : {}),
    ...(issuer
      ? {
          description: {
            hostname: id,
            platform: { os: 'linux', architecture: 'x86_64' },
            resources: { nanoCpus: 1, memoryBytes: 1, generic: [] },
            engine: { version: '20.10', labels: {}, plugins: [] },
            tls: { trustRoot: 'PEM', certIssuerSubject: issuer.subject, certIssuerPublicKey: issuer.publicKey },
          },
        }
      : {}),
  };
}

test('nodes not issued by the new root are asked to renew, once, in batches', () => {
  const nodes = [node('a', oldIssuer), node('b', oldIssuer, 'rotate'), node('c', newIssuer), node('d', undefined), node('e', oldIssuer)];
  const step = rotationStep(nodes, newIssuer);
  assert.deepEqual(step.toRotate, ['a', 'd', 'e']); // b was asked already; c is done
  assert.equal(step.converged, false);
  assert.deepEqual(rotationStep(nodes, newIssuer, 2).toRotate, ['a', 'd']);
});

test('converged when every node reports the new issuer', () => {
  assert.deepEqual(rotationStep([node('a', newIssuer), node('b', newIssuer, 'rotate')], newIssuer), { toRotate: [], converged: true });
  assert.equal(rotationStep([], newIssuer).converged, true);
});
