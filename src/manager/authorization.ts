import { forbidden } from '../util/errors.js';

/**
 * Who may use the cluster's part of the Docker API. Admin client bundles
 * (OU `client`) and manager nodes (OU `swarm-manager`) may do everything; a
 * worker node's certificate (OU `swarm-worker`) is refused on manager-only
 * endpoints with Docker's 403, carrying the message a Swarm manager's control
 * API gives a worker's certificate (swarmkit ca/auth.go, PermissionDenied,
 * which the Engine API turns into 403). Pure: the express glue reads the
 * certificate (routes/swarm.ts).
 */

/** Endpoints only a manager serves (moby: the cluster routers). */
const managerOnly = /^\/(swarm|nodes|services|tasks|secrets|configs)(\/|$)/;

export function isManagerOnlyPath(path: string): boolean {
  // All of /swarm, join and leave included: on the gateway they act on the
  // gateway's own membership (leave --force erases the swarm), which is never a
  // worker's to decide. A worker's own join/leave go to its agent's endpoint.
  return managerOnly.test(path);
}

/** The roles a manager's control API admits, as Swarm prints them. */
export const WorkerRefusedMessage =
  'rpc error: code = PermissionDenied desc = Permission denied: unauthorized peer role: rpc error: code = PermissionDenied desc = Permission denied: remote certificate not part of OUs: [swarm-manager]';

export const workerNotAllowed = () => forbidden(WorkerRefusedMessage);

/** The caller's role from its certificate's OU, or undefined without a certificate (a plain or local transport). */
export function authorizeClusterCall(path: string, role: string | undefined): void {
  if (role === undefined || role === 'client' || role === 'swarm-manager') return;
  if (isManagerOnlyPath(path)) throw workerNotAllowed();
}
