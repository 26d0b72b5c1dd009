import { constants } from 'node:crypto';
import type { ConnectionOptions, TlsOptions } from 'node:tls';

/**
 * TLS settings from PEMs (pure; src/pki/files.ts reads the files). Mutual TLS
 * everywhere: the gateway asks every client for a certificate and refuses the
 * handshake without one signed by our CA, and nothing below TLS 1.2 is spoken
 * (Swarm's MinVersion too).
 */

export interface TlsMaterial {
  readonly caPem: string; // trusted roots (during a root rotation: old and new)
  readonly certPem: string; // leaf first, then any intermediates
  readonly keyPem: string;
}

export const MinTlsVersion = 'TLSv1.2';

export function serverTlsOptionsFromPems(m: TlsMaterial): TlsOptions {
  return {
    ca: m.caPem,
    cert: m.certPem,
    key: m.keyPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: MinTlsVersion,
    // No session tickets. A docker command is a new process with a new
    // connection and never resumes a session, yet OpenSSL 3.0 builds each
    // ticket by serialising the session, peer certificate included, and
    // decoding it again: a tenth of the TLS relay's CPU per `docker ps` here.
    secureOptions: constants.SSL_OP_NO_TICKET,
  };
}

/** A node or agent dialling a manager: verify the manager against our CA and present our own certificate. */
export function clientTlsOptionsFromPems(m: TlsMaterial, servername?: string): ConnectionOptions {
  return {
    ca: m.caPem,
    cert: m.certPem,
    key: m.keyPem,
    rejectUnauthorized: true,
    minVersion: MinTlsVersion,
    ...(servername === undefined ? {} : { servername }),
  };
}
