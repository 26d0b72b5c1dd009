import { X509Certificate } from 'node:crypto';
import { splitCertificates } from './pem.js';

/**
 * Swarm's IssuerInfo: who issued a certificate, as the raw DER of the issuing
 * CA's subject and its SubjectPublicKeyInfo (both base64, as the Engine API
 * prints them in TLSInfo). Two roots both named `swarm-ca` differ only by key,
 * so both are needed to tell the old root from the new one in a rotation.
 */
export interface IssuerInfo {
  readonly subject: string;
  readonly publicKey: string;
}

/** The issuer facts of a CA certificate: what leaves it signs will name. */
export function issuerInfoOfCa(caCertPem: string): IssuerInfo {
  const x = new X509Certificate(caCertPem);
  return {
    subject: rawSubject(x.raw).toString('base64'),
    publicKey: Buffer.from(x.publicKey.export({ type: 'spki', format: 'der' })).toString('base64'),
  };
}

/**
 * Who issued the leaf of `chainPem` (leaf first, then intermediates): the
 * first of its intermediates, then of the trusted roots, whose name and key
 * signed it. During a root rotation a leaf signed by the new key travels with
 * the cross-signed certificate, whose subject and key are the new root's, so
 * the answer is the new root's facts either way (Swarm reads the same from
 * the verified chain). Undefined if nothing there signed it.
 */
export function issuerInfoOfLeaf(chainPem: string, trustPem: string): IssuerInfo | undefined {
  const [leafPem, ...intermediates] = splitCertificates(chainPem);
  if (leafPem === undefined) return undefined;
  const leaf = new X509Certificate(leafPem);
  for (const candidate of [...intermediates, ...splitCertificates(trustPem)]) {
    const c = new X509Certificate(candidate);
    if (leaf.checkIssued(c) && leaf.verify(c.publicKey)) return issuerInfoOfCa(candidate);
  }
  return undefined;
}

export function sameIssuer(a: IssuerInfo | undefined, b: IssuerInfo | undefined): boolean {
  return a !== undefined && b !== undefined && a.subject === b.subject && a.publicKey === b.publicKey;
}

interface Tlv {
  readonly tag: number;
  readonly start: number; // of the whole element
  readonly contentStart: number;
  readonly end: number;
}

function readTlv(der: Buffer, at: number): Tlv {
  const tag = der[at];
  let len = der[at + 1];
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[p + i] ?? 0);
    p += n;
  }
  return { tag, start: at, contentStart: p, end: p + len };
}

/**
 * The subject Name's raw DER (node:crypto gives the SPKI but not this).
 * Certificate ::= SEQ { tbs SEQ { [0] version?, serial, sigAlg, issuer, validity, subject, … } … }
 */
export function rawSubject(certDer: Buffer): Buffer {
  const cert = readTlv(certDer, 0);
  const tbs = readTlv(certDer, cert.contentStart);
  let p = tbs.contentStart;
  let el = readTlv(certDer, p);
  if (el.tag === 0xa0) {
    p = el.end; // explicit version
    el = readTlv(certDer, p);
  }
  // serial, signature algorithm, issuer, validity, then the subject
  for (let i = 0; i < 4; i++) {
    p = el.end;
    el = readTlv(certDer, p);
  }
  return certDer.subarray(el.start, el.end);
}
