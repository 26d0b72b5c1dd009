import { issuerInfoOfCa } from '../pki/issuer.js';
import type { TrustInfo } from '../translate/swarm/node.js';

export { rawSubject } from '../pki/issuer.js';

/**
 * Swarm's TLSInfo for a cluster: the trust root's PEM, and the raw DER
 * subject and public key (base64, as `docker node inspect` and `docker swarm
 * ca` print them) of the CA that signs node certificates now: the root, or
 * during a root rotation the new root (moby's SwarmFromGRPC reads the issuer
 * from the rotation's certificate while TrustRoot stays the current root).
 */
export function trustInfo(caCertPem: string, signingRootPem: string = caCertPem): TrustInfo {
  const issuer = issuerInfoOfCa(signingRootPem);
  return { trustRoot: caCertPem, certIssuerSubject: issuer.subject, certIssuerPublicKey: issuer.publicKey };
}
