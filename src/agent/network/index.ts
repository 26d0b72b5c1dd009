export * from './types.js';
export * from './addressing.js';
export * from './planner.js';
export * from './driver.js';
export type { DockerNetworks } from './docker-networks.js';
export { ExecRunner, type CommandRunner } from './runner.js';
export { cleanHost, ourLinks, ourChains, type CleanupReport } from './host-cleanup.js';
