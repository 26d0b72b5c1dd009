import { startAllocator } from '../allocator/allocator.js';
import type { Engine } from '../engine/index.js';
import { completeRootRotation, loadRootCaState, saveRootRotation } from '../pki/index.js';
import type { Store } from '../store/index.js';
import type { Clock } from '../util/clock.js';
import type { IdGenerator } from '../util/ids.js';
import type { Logger } from '../util/log.js';
import { nodeDescriptionFromEngineInfo } from './local-node.js';
import { SwarmManager } from './manager.js';
import { orchestrationComponent } from './orchestration.js';

export { SwarmManager, type SwarmManagerOptions, type LeaderComponent, type LeaderStopReason } from './manager.js';
export { nodeDescriptionFromEngineInfo } from './local-node.js';

export interface StartSwarmManagerOptions {
  readonly store: Store;
  /** The gateway's PKI directory: its CA is the swarm's root. */
  readonly pkiDir: string;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly log: Logger;
  /** The dispatcher's address, "0.0.0.0:2377" by default. */
  readonly listen?: string;
  /** The default for `swarm init` without --advertise-addr. */
  readonly advertiseAddr?: string;
  /** The gateway's own engine: the swarm's first node. */
  readonly engine: Engine;
  readonly engineUrl: string;
  /** Orchestration knobs (tests); the orchestrator runs whenever a swarm exists. */
  readonly orchestration?: { readonly nodeDownGraceMs?: number; readonly schedulingTickMs?: number };
}

/**
 * For the gateway's composition root: the SwarmManager over the store and the
 * gateway's CA, serving its swarm again at once if the store holds one. Wire
 * `manager` into the ApiContext (`swarm`, `infoContributors`, `swarmStatus`)
 * and call `stop()` before closing the store.
 */
export async function startSwarmManager(opts: StartSwarmManagerOptions): Promise<{ readonly manager: SwarmManager; stop(): Promise<void> }> {
  const { root: ca, rotation } = await loadRootCaState(opts.pkiDir);
  const manager = new SwarmManager({
    store: opts.store,
    clock: opts.clock,
    ids: opts.ids,
    log: opts.log.child({ component: 'swarm' }),
    ca,
    ...(rotation === undefined ? {} : { rotation }),
    // A rotation's key lives beside the CA's; at the end the new root becomes the swarm's own (pki/swarm-ca), the API's CA stays.
    rootCaPersistence: {
      saveRotation: (r) => saveRootRotation(opts.pkiDir, r),
      complete: (newCa) => completeRootRotation(opts.pkiDir, newCa),
    },
    describeLocalNode: async () => nodeDescriptionFromEngineInfo((await opts.engine.docker.info()) as Record<string, unknown>),
    localEngineUrl: opts.engineUrl,
    dispatcherListen: opts.listen ?? '0.0.0.0:2377',
    ...(opts.advertiseAddr === undefined ? {} : { advertiseAddr: opts.advertiseAddr }),
  });
  // Leader components start with the dispatcher (now, or at `swarm init`) and stop before it.
  await manager.use(orchestrationComponent({ store: opts.store, clock: opts.clock, ids: opts.ids, log: opts.log, ...opts.orchestration }));
  await manager.start();
  // The network allocator runs for the manager's whole life; with no swarm there is simply nothing to allocate.
  const allocator = startAllocator({ store: opts.store, clock: opts.clock, log: opts.log.child({ component: 'allocator' }) });
  return {
    manager,
    stop: async () => {
      allocator.stop();
      await manager.stop();
    },
  };
}
