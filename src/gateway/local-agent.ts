import { startAgent, StateDir, type NodeIdentity, type RunningAgent } from '../agent/index.js';
import type { OverlayHostOptions } from '../agent/overlay-host.js';
import type { Engine } from '../engine/index.js';
import type { LeaderComponent, SwarmManager } from '../manager/index.js';
import { createNodeKeyAndCsr, readCertificate } from '../pki/index.js';
import type { Store } from '../store/index.js';
import type { Logger } from '../util/log.js';

/**
 * The agent of the gateway's own node (the first node, the leader): the same
 * Agent every host runs, in this process, over the gateway's engine. It does
 * not join: it gets a certificate for the leader node from the manager
 * (`localNodeCredentials`) and opens its session with it, so the first node
 * runs tasks through exactly the protocol remote nodes speak.
 */
export interface LocalAgentOptions {
  readonly manager: SwarmManager;
  readonly store: Store;
  readonly engine: Engine;
  /** Its node identity (key 0600, certificate). */
  readonly stateDir: string;
  /** Where it mounts its tmpfs for secrets and configs. */
  readonly runDir: string;
  /** Build this node's overlays (only when this process shares its engine's network namespace). */
  readonly overlay: false | OverlayHostOptions;
  readonly log: Logger;
}

export interface LocalAgent extends LeaderComponent {
  /** The agent's node identity while it runs: the gateway presents it to other nodes' agents. */
  identity(): NodeIdentity | undefined;
  running(): RunningAgent | undefined;
}

export function localAgentComponent(opts: LocalAgentOptions): LocalAgent {
  let agent: RunningAgent | undefined;
  const state = new StateDir(opts.stateDir);

  /** The saved identity if it is still the leader's in this cluster and not half-expired; else a fresh one. */
  const credentials = async (): Promise<NodeIdentity> => {
    const dial = opts.manager.localDispatcherAddr();
    if (dial === undefined) throw new Error('the dispatcher is not listening');
    const { clusterId, leader } = opts.store.view((tx) => ({
      clusterId: tx.list('cluster')[0]?.id,
      leader: tx.list('node', (n) => n.managerStatus?.leader === true)[0],
    }));
    if (clusterId === undefined || leader === undefined) throw new Error('no swarm, or no leader node');
    const saved = await state.load().catch(() => undefined);
    if (saved !== undefined && saved.nodeId === leader.id && saved.clusterId === clusterId && !halfExpired(saved.certPem)) {
      return { ...saved, managers: [dial] };
    }
    const { keyPem, csrPem } = createNodeKeyAndCsr();
    const r = await opts.manager.localNodeCredentials(csrPem);
    return {
      nodeId: r.nodeId,
      clusterId: r.clusterId,
      role: r.role,
      keyPem,
      certPem: r.certPem,
      caPem: r.caPem,
      managers: [dial],
      advertiseAddr: leader.status.addr,
      heartbeatPeriodMs: r.heartbeatPeriodMs,
    };
  };

  return {
    name: 'local-agent',
    identity: () => agent?.agent.currentIdentity(),
    running: () => agent,
    start: async () => {
      if (agent !== undefined) return;
      await state.save(await credentials());
      agent = await startAgent({ engine: opts.engine, stateDir: opts.stateDir, runDir: opts.runDir, overlay: opts.overlay, log: opts.log.child({ node: 'local' }) });
    },
    stop: async (reason) => {
      const a = agent;
      agent = undefined;
      if (a === undefined) return;
      if (reason === 'leave') {
        // The swarm is gone: its tasks' containers go too (as on a Docker host that leaves).
        await a.leave().catch((err: unknown) => opts.log.warn({ err }, 'the local agent did not leave cleanly'));
      }
      await a.stop();
    },
  };
}

function halfExpired(certPem: string): boolean {
  try {
    const c = readCertificate(certPem);
    return Date.now() > c.notBefore + (c.notAfter - c.notBefore) / 2;
  } catch {
    return true;
  }
}
