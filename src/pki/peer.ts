import type { TLSSocket } from 'node:tls';
import { certIdentity, type CertIdentity } from './node-cert.js';

/**
 * Who the peer of a verified TLS connection is, read once per certificate.
 *
 * Every docker command opens a new connection, and reading the identity the
 * obvious way (getPeerCertificate() plus an ASN.1 parse of its DER) cost about
 * 0.2 ms of the gateway's CPU per connection here, a tenth of what the
 * gateway adds to a `docker ps`. OpenSSL already holds the parsed certificate:
 * getPeerX509Certificate() wraps it (~3 µs) and its SHA-256 fingerprint keys a
 * small cache of identities, so the parse runs once per certificate. The
 * mapping cannot go stale: an identity is a function of the certificate's
 * bytes, and the handshake has verified the chain before we look.
 */

/** What a certificate says: the identity, or why it speaks for no one. */
export type PeerIdentity = { readonly ok: true; readonly identity: CertIdentity } | { readonly ok: false; readonly error: Error };

/** Enough for any cluster's nodes and admins; the oldest entry goes first past it. */
const CACHE_LIMIT = 4096;
const byFingerprint = new Map<string, PeerIdentity>();
/** null: a TLS connection whose peer sent no certificate. */
const bySocket = new WeakMap<object, PeerIdentity | null>();

/** The identity a DER certificate carries, through the cache (`fingerprint` is its SHA-256). */
export function cachedCertIdentity(fingerprint: string, raw: () => Uint8Array): PeerIdentity {
  let known = byFingerprint.get(fingerprint);
  if (known === undefined) {
    try {
      known = { ok: true, identity: certIdentity({ raw: raw() }) };
    } catch (err) {
      known = { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
    if (byFingerprint.size >= CACHE_LIMIT) {
      const oldest = byFingerprint.keys().next();
      if (!oldest.done) byFingerprint.delete(oldest.value);
    }
    byFingerprint.set(fingerprint, known);
  }
  return known;
}

/**
 * The identity of a socket's peer certificate; undefined when the socket is
 * not TLS (plain HTTP in tests, a unix socket) or its peer sent no certificate.
 */
export function peerIdentity(socket: unknown): PeerIdentity | undefined {
  const s = socket as Partial<TLSSocket>;
  if (typeof s.getPeerX509Certificate !== 'function') return undefined;
  // A connection's certificate never changes: kept-open connections (the
  // agents', API clients') ask once, not once per request.
  let known = bySocket.get(s);
  if (known === undefined) {
    const cert = s.getPeerX509Certificate();
    known = cert === undefined ? null : cachedCertIdentity(cert.fingerprint256, () => cert.raw);
    bySocket.set(s, known);
  }
  return known ?? undefined;
}
