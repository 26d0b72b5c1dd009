import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { issueClientCertificate } from './gateway-certs.js';
import { createNodeKeyAndCsr, signNodeCsr } from './node-cert.js';
import { cachedCertIdentity, peerIdentity } from './peer.js';
import { T0, testCa } from './testing.js';

const ca = testCa();
const admin = new X509Certificate(issueClientCertificate({ ca, name: 'alice', now: T0 }).certPem);
const worker = new X509Certificate(
  signNodeCsr({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, csrPem: createNodeKeyAndCsr().csrPem, nodeId: 'w0rk3r', clusterId: 'c1', role: 'swarm-worker', now: T0 }),
);

/** What a TLSSocket offers here: the peer's certificate as OpenSSL parsed it, counting the asks. */
function socketWith(cert: X509Certificate | undefined): { getPeerX509Certificate(): X509Certificate | undefined; asks: number } {
  return {
    asks: 0,
    getPeerX509Certificate() {
      this.asks++;
      return cert;
    },
  };
}

describe('peer identity', () => {
  it('reads the role and name a certificate carries', () => {
    assert.deepEqual(peerIdentity(socketWith(admin)), { ok: true, identity: { nodeId: 'alice', clusterId: '', role: 'client' } });
    assert.deepEqual(peerIdentity(socketWith(worker)), { ok: true, identity: { nodeId: 'w0rk3r', clusterId: 'c1', role: 'swarm-worker' } });
  });

  it('parses a certificate once however many connections present it', () => {
    let parses = 0;
    const raw = () => {
      parses++;
      return admin.raw;
    };
    const fp = `test-${admin.fingerprint256}`;
    for (let i = 0; i < 5; i++) assert.equal(cachedCertIdentity(fp, raw).ok, true);
    assert.equal(parses, 1);
  });

  it('asks a connection for its certificate once', () => {
    const s = socketWith(admin);
    for (let i = 0; i < 3; i++) peerIdentity(s);
    assert.equal(s.asks, 1);
  });

  it('a certificate that speaks for no one stays refused, with the reason', () => {
    let parses = 0;
    const garbage = () => {
      parses++;
      return new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]);
    };
    const first = cachedCertIdentity('test-garbage', garbage);
    const again = cachedCertIdentity('test-garbage', garbage);
    assert.equal(first.ok, false);
    assert.equal(again, first);
    assert.equal(parses, 1);
  });

  it('no TLS, or no certificate from the peer, is no identity (the caller decides)', () => {
    assert.equal(peerIdentity({}), undefined);
    assert.equal(peerIdentity(socketWith(undefined)), undefined);
  });
});
