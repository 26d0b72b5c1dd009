import type { Node } from '../model/index.js';
import { sameIssuer, type IssuerInfo } from '../pki/issuer.js';

/** Swarm's IssuanceStateRotateMaxBatchSize: at most this many nodes are asked to renew per step. */
export const RotateBatchSize = 30;

export interface RotationStep {
  /** Nodes to ask for a renewal now (certificateState → rotate). */
  readonly toRotate: readonly string[];
  /** Every node holds a certificate from the new root: the rotation may finish. */
  readonly converged: boolean;
}

/** Who issued the node's certificate, as its agent last reported it. */
export function nodeIssuer(n: Node): IssuerInfo | undefined {
  const t = n.description?.tls;
  return t === undefined ? undefined : { subject: t.certIssuerSubject, publicKey: t.certIssuerPublicKey };
}

/**
 * One step of swarmkit's rootRotationReconciler (ca/reconciler.go), pure: the
 * nodes whose reported certificate issuer is not the new root are
 * unconverged; those not already asked are asked, a batch at a time; when none
 * is left, the rotation is done. A node that is down stays unconverged (it
 * renews when it comes back, or leaves the cluster with `docker node rm`).
 */
export function rotationStep(nodes: readonly Node[], desired: IssuerInfo, batch = RotateBatchSize): RotationStep {
  const unconverged = nodes.filter((n) => !sameIssuer(nodeIssuer(n), desired));
  const toRotate = unconverged
    .filter((n) => n.certificateState !== 'rotate')
    .slice(0, batch)
    .map((n) => n.id);
  return { toRotate, converged: unconverged.length === 0 };
}
