import { createPrivateKey, X509Certificate } from 'node:crypto';
import { invalidParameter } from '../util/errors.js';
import {
  certificatePublicKeyPem,
  issueCertificate,
  readCertificate,
  type RandomBytes,
} from './certificate.js';
import { generateKeyPem, type KeyPairPem } from './keys.js';
import { splitCertificates } from './pem.js';

/** Swarm's defaults (moby/swarmkit ca/config.go, ca/certificates.go). */
export const RootCommonName = 'swarm-ca';
export const RootCaValidityMs = 630_720_000 * 1000; // 20 years, Swarm's RootCAExpiration
/** Certificates start an hour in the past so a peer whose clock lags still accepts them (Swarm's CertBackdate). */
export const CertBackdateMs = 60 * 60 * 1000;

export interface CaMaterial {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CreateRootCaOptions {
  readonly now: number;
  readonly commonName?: string;
  readonly validityMs?: number;
  readonly keyBits?: number;
  readonly random?: RandomBytes;
  /** An existing key pair (tests reuse one to skip key generation). */
  readonly key?: KeyPairPem;
}

/** A self-signed root: CA:true, keyCertSign + cRLSign, 20 years, CN swarm-ca. */
export function createRootCa(opts: CreateRootCaOptions): CaMaterial {
  const { keyPem, publicKeyPem } = opts.key ?? generateKeyPem(opts.keyBits);
  const certPem = issueCertificate({
    subject: { commonName: opts.commonName ?? RootCommonName },
    publicKeyPem,
    signingKeyPem: keyPem,
    notBefore: opts.now - CertBackdateMs,
    notAfter: opts.now + (opts.validityMs ?? RootCaValidityMs),
    isCa: true,
    ...(opts.random === undefined ? {} : { random: opts.random }),
  });
  return { certPem, keyPem };
}

/**
 * Cross-sign `otherCaCertPem` with `signer`: a CA certificate with the other
 * root's subject, public key, key id and exact validity, issued by (and signed
 * with the key of) `signer`. Presented as an intermediate after a leaf signed by
 * the other root's key, it lets peers that trust only `signer` verify that leaf.
 * (Swarm's RootCA.CrossSignCACertificate does the same with Go's x509.)
 */
export function crossSignCaCertificate(signer: CaMaterial, otherCaCertPem: string, random?: RandomBytes): string {
  const other = readCertificate(otherCaCertPem);
  if (!other.isCa) throw invalidParameter('certificate not a CA');
  if (other.subject.commonName === undefined) throw invalidParameter('CA certificate has no common name');
  const [organization] = other.subject.organization;
  const [organizationalUnit] = other.subject.organizationalUnit;
  return issueCertificate({
    subject: {
      commonName: other.subject.commonName,
      ...(organization === undefined ? {} : { organization }),
      ...(organizationalUnit === undefined ? {} : { organizationalUnit }),
    },
    publicKeyPem: certificatePublicKeyPem(otherCaCertPem),
    issuerCertPem: signer.certPem,
    signingKeyPem: signer.keyPem,
    notBefore: other.notBefore,
    notAfter: other.notAfter,
    isCa: true,
    ...(random === undefined ? {} : { random }),
  });
}

/** The material of a root rotation in progress (Swarm's api.RootRotation). */
export interface RootRotation {
  /** The new root: self-signed, what every node trusts once the rotation completes. */
  readonly newCa: CaMaterial;
  /** The new root's key and subject, issued by the old root: the bridge between the two chains. */
  readonly crossSignedCertPem: string;
}

/**
 * Step one of a root rotation: a fresh root and its cross-signed intermediate.
 * See README.md ("Root rotation") for the steps that follow.
 */
export function beginRootRotation(oldCa: CaMaterial, opts: CreateRootCaOptions): RootRotation {
  const newCa = createRootCa(opts);
  return { newCa, crossSignedCertPem: crossSignCaCertificate(oldCa, newCa.certPem, opts.random) };
}

/** The cluster's CA at a moment: its root, and the rotation under way if any. */
export interface RootCaState {
  readonly root: CaMaterial;
  readonly rotation?: RootRotation;
}

/** What node, client and server certificates are signed with (signNodeCsr's caCertPem / caKeyPem / intermediatesPem). */
export interface SigningMaterial {
  /** The issuer certificate: the root, or during a rotation the cross-signed one (the new root's name and key id). */
  readonly caCertPem: string;
  readonly caKeyPem: string;
  /** During a rotation: the cross-signed certificate, sent after each leaf so peers trusting only the old root verify it. */
  readonly intermediatesPem?: string;
}

/**
 * Swarm's RootCAFromAPI: during a rotation the new key signs, and every leaf
 * carries the cross-signed certificate; otherwise the root signs alone.
 */
export function signingMaterial(state: RootCaState): SigningMaterial {
  const r = state.rotation;
  if (r === undefined) return { caCertPem: state.root.certPem, caKeyPem: state.root.keyPem };
  return { caCertPem: r.crossSignedCertPem, caKeyPem: r.newCa.keyPem, intermediatesPem: r.crossSignedCertPem };
}

/** The roots a manager trusts: the root, and during a rotation the new root too. */
export function trustBundle(state: RootCaState): string {
  return state.rotation === undefined ? state.root.certPem : state.root.certPem + state.rotation.newCa.certPem;
}

/** The root that signs leaves now: the new one during a rotation. */
export function signingRootPem(state: RootCaState): string {
  return state.rotation?.newCa.certPem ?? state.root.certPem;
}

/** Swarm's minRootExpiration: a root given with --ca-cert must be good for at least a year. */
export const MinRootCaValidityMs = 365 * 24 * 60 * 60 * 1000;

/**
 * Checks a root given with `docker swarm ca --rotate --ca-cert --ca-key` as
 * Swarm's validateCAConfig does, with its messages: exactly one CA
 * certificate, a key that matches it, at least a year to live, and a key other
 * than the current root's. Returns the material in canonical PEM.
 */
export function validateSigningCa(opts: { readonly certPem: string; readonly keyPem: string; readonly currentRootPem: string; readonly now: number }): CaMaterial {
  const certs = splitCertificates(opts.certPem);
  if (certs.length === 0) throw invalidParameter('rpc error: code = InvalidArgument desc = could not parse the desired CA certificate');
  if (certs.length > 1) throw invalidParameter('rpc error: code = InvalidArgument desc = the desired CA certificate cannot contain multiple certificates');
  const [certPem] = certs as [string];
  let x: X509Certificate;
  try {
    x = new X509Certificate(certPem);
  } catch {
    throw invalidParameter('rpc error: code = InvalidArgument desc = could not parse the desired CA certificate');
  }
  if (!x.ca) throw invalidParameter('rpc error: code = InvalidArgument desc = invalid signing CA cert: certificate not a CA');
  let key;
  try {
    key = createPrivateKey(opts.keyPem);
  } catch {
    throw invalidParameter('rpc error: code = InvalidArgument desc = malformed private key');
  }
  if (key.asymmetricKeyType !== 'rsa') {
    // node-forge signs only with RSA (README: "Not here yet").
    throw invalidParameter(`rpc error: code = InvalidArgument desc = unsupported CA key type ${key.asymmetricKeyType ?? 'unknown'}: this gateway signs with RSA keys only`);
  }
  if (!x.checkPrivateKey(key)) throw invalidParameter('rpc error: code = InvalidArgument desc = certificate key mismatch');
  if (Date.parse(x.validTo) < opts.now + MinRootCaValidityMs) {
    throw invalidParameter('rpc error: code = InvalidArgument desc = CA certificate expires too soon');
  }
  const current = new X509Certificate(opts.currentRootPem);
  const spki = (c: X509Certificate) => c.publicKey.export({ type: 'spki', format: 'der' });
  if (certPem !== opts.currentRootPem && Buffer.compare(spki(x), spki(current)) === 0) {
    throw invalidParameter('rpc error: code = InvalidArgument desc = Cannot update to a cert with an identical key');
  }
  return { certPem, keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** Step one of a rotation to a root the operator brought (`--ca-cert/--ca-key`): only the cross-signature is made here. */
export function rotationTo(oldCa: CaMaterial, newCa: CaMaterial, random?: RandomBytes): RootRotation {
  return { newCa, crossSignedCertPem: crossSignCaCertificate(oldCa, newCa.certPem, random) };
}
