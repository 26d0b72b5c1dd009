import type { NodeDescription } from '../model/index.js';
import { issuerInfoOfLeaf } from '../pki/issuer.js';

/**
 * Swarm's node TLSInfo, as the node itself reports it with its description:
 * the roots it trusts, and who issued its certificate. The manager reads it to
 * know when every node holds a certificate from a new root (root rotation),
 * and `docker swarm ca --rotate` shows the same facts as progress.
 */
export function nodeTlsInfo(identity: { readonly certPem: string; readonly caPem: string }): NonNullable<NodeDescription['tls']> | undefined {
  const issuer = issuerInfoOfLeaf(identity.certPem, identity.caPem);
  if (issuer === undefined) return undefined;
  return { trustRoot: identity.caPem, certIssuerSubject: issuer.subject, certIssuerPublicKey: issuer.publicKey };
}

/** The engine's description plus the node's TLSInfo (compared without it: the engine's part decides re-sending). */
export function withTlsInfo(description: NodeDescription, identity: { readonly certPem: string; readonly caPem: string }): NodeDescription {
  const tls = nodeTlsInfo(identity);
  return tls === undefined ? description : { ...description, tls };
}
