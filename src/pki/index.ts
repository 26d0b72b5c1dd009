/**
 * The PKI: Stevedore's root CA, the gateway's server certificate, docker CLI
 * client bundles, and Swarm's identity primitives (join tokens, node
 * certificates from CSRs, renewal jitter, root rotation). See README.md.
 */
export {
  initPki,
  issueClientBundle,
  serverTlsOptions,
  loadCa,
  loadRootRotation,
  loadRootCaState,
  saveRootRotation,
  completeRootRotation,
  machineSans,
  pkiPaths,
  type InitPkiOptions,
  type InitPkiResult,
  type ClientBundleOptions,
} from './files.js';
export {
  createRootCa,
  crossSignCaCertificate,
  beginRootRotation,
  rotationTo,
  signingMaterial,
  signingRootPem,
  trustBundle,
  validateSigningCa,
  MinRootCaValidityMs,
  RootCommonName,
  RootCaValidityMs,
  CertBackdateMs,
  type CaMaterial,
  type CreateRootCaOptions,
  type RootRotation,
  type RootCaState,
  type SigningMaterial,
} from './ca.js';
export { issuerInfoOfCa, issuerInfoOfLeaf, sameIssuer, type IssuerInfo } from './issuer.js';
export {
  generateJoinToken,
  parseJoinToken,
  caDigest,
  caDigestMatches,
  assertCaDigestMatches,
  roleForJoinToken,
  InvalidJoinTokenMessage,
  WrongJoinTokenMessage,
  type ParsedJoinToken,
} from './join-token.js';
export {
  createNodeKeyAndCsr,
  signNodeCsr,
  certIdentity,
  DefaultNodeCertValidityMs,
  MinNodeCertValidityMs,
  type NodeKeyAndCsr,
  type SignNodeCsrRequest,
  type CertIdentity,
  type CertRole,
} from './node-cert.js';
export { cachedCertIdentity, peerIdentity, type PeerIdentity } from './peer.js';
export { renewalWindow, isDueForRenewal, type Validity } from './renewal.js';
export { SwarmRoles, isSwarmRole, nodeRoleOf, type SwarmRole } from './roles.js';
export {
  serverTlsOptionsFromPems,
  clientTlsOptionsFromPems,
  MinTlsVersion,
  type TlsMaterial,
} from './tls.js';
export {
  issueServerCertificate,
  issueClientCertificate,
  serverCertificateReissueReason,
  ClientOrganizationalUnit,
  GatewayCommonName,
  type CertAndKey,
} from './gateway-certs.js';
export { dockerEnv, envScript, dockerHostUrl, DefaultGatewayHost, DefaultGatewayPort, type DockerEnv } from './bundle.js';
export { readCertificate, isIssuedBy, type CertificateInfo, type RandomBytes, type SubjectAltNames } from './certificate.js';
export { classifySans, defaultSans } from './san.js';
export { generateKeyPem } from './keys.js';
export { splitCertificates } from './pem.js';
