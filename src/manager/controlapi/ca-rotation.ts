import { beginRootRotation, rotationTo, validateSigningCa, type RootCaState, type RootRotation } from '../../pki/ca.js';
import type { RandomBytes } from '../../pki/certificate.js';
import type { RootCaInfo } from '../../model/index.js';

/**
 * What a `swarm update` does to the root CA, decided as swarmkit's
 * validateCAConfig does (manager/controlapi/ca_rotation.go), for a CA whose
 * keys this gateway holds (no external CAs):
 *  - a root given (`--ca-cert --ca-key`) that is the current root: any
 *    rotation is aborted;
 *  - the root the running rotation goes to: nothing new;
 *  - another root: a new rotation to it, cross-signed by the current root
 *    (a running one is replaced: start over);
 *  - no root given, ForceRotate changed (`docker swarm ca --rotate`): a new
 *    rotation to a fresh root;
 *  - otherwise nothing changes.
 * Pure but for key generation (a fresh root).
 */
export type CaUpdatePlan =
  | { readonly kind: 'keep'; readonly lastForcedRotation: number }
  | { readonly kind: 'abort'; readonly lastForcedRotation: number }
  | { readonly kind: 'begin'; readonly rotation: RootRotation; readonly lastForcedRotation: number };

export interface CaUpdateRequest {
  readonly forceRotate: number;
  readonly signingCa?: { readonly certPem: string; readonly keyPem: string } | undefined;
}

export function planCaUpdate(state: RootCaState, info: RootCaInfo, req: CaUpdateRequest, now: number, random?: RandomBytes): CaUpdatePlan {
  const last = info.lastForcedRotation ?? 0;
  if (req.signingCa === undefined) {
    if (last === req.forceRotate) return { kind: 'keep', lastForcedRotation: last };
    return { kind: 'begin', rotation: beginRootRotation(state.root, { now, ...(random === undefined ? {} : { random }) }), lastForcedRotation: req.forceRotate };
  }
  const wanted = validateSigningCa({ ...req.signingCa, currentRootPem: state.root.certPem, now });
  if (wanted.certPem === state.root.certPem) return { kind: 'abort', lastForcedRotation: req.forceRotate };
  if (state.rotation !== undefined && state.rotation.newCa.certPem === wanted.certPem) return { kind: 'keep', lastForcedRotation: req.forceRotate };
  return { kind: 'begin', rotation: rotationTo(state.root, wanted, random), lastForcedRotation: req.forceRotate };
}

/** The store's view of the root CA after a plan. */
export function rootCaInfoAfter(info: RootCaInfo, plan: CaUpdatePlan): RootCaInfo {
  const { rotation: _drop, ...base } = info;
  switch (plan.kind) {
    case 'keep':
      return { ...info, lastForcedRotation: plan.lastForcedRotation };
    case 'abort':
      return { ...base, rotationInProgress: false, lastForcedRotation: plan.lastForcedRotation };
    case 'begin':
      return {
        ...base,
        rotationInProgress: true,
        lastForcedRotation: plan.lastForcedRotation,
        rotation: { certPem: plan.rotation.newCa.certPem, crossSignedCertPem: plan.rotation.crossSignedCertPem },
      };
  }
}
