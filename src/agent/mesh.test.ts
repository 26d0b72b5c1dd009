import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IngressAssignment, NetworkAssignment } from '../dispatcher/protocol.js';
import { silentLogger } from '../util/log.js';
import { AgentMesh, type MeshOverlays } from './mesh.js';
import type { EnsureResult, Operation } from './network/index.js';
import type { CommandResult, CommandRunner } from './network/runner.js';
import { systemTimers } from './timers.js';

const network: NetworkAssignment = {
  name: 'ingress',
  driver: 'overlay',
  vni: 4096,
  subnet: '10.0.0.0/24',
  gateway: '10.0.0.1',
  encrypted: false,
  internal: false,
  attachable: false,
  mode: 'vxlan',
  peers: [],
};
const ingress: IngressAssignment = { network, address: '10.0.0.2/24', nodes: [{ nodeId: 'n1', address: '10.0.0.2' }], services: [] };

/** Overlays whose ensures the test fires; the mesh's own `ensured` answers at once. */
class FakeOverlays implements MeshOverlays {
  private readonly listeners = new Set<(id: string, r: EnsureResult) => void>();
  update(): void {}
  async remove(): Promise<void> {}
  async ensured(): Promise<EnsureResult> {
    return { mode: 'vxlan', mtu: 1450, dockerNetworkName: 'ingress', applied: [] };
  }
  onEnsured(l: (id: string, r: EnsureResult) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  fire(id: string, applied: Operation[]): void {
    for (const l of this.listeners) l(id, { mode: 'vxlan', mtu: 1450, dockerNetworkName: 'ingress', applied });
  }
}

function recorder(): CommandRunner & { readonly calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    run: async (file, args): Promise<CommandResult> => {
      calls.push([file, ...args].join(' '));
      return { code: 0, stdout: '', stderr: '' };
    },
    spawnDaemon: () => {
      throw new Error('not used');
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 20));
const legMac = (calls: readonly string[]) => calls.filter((c) => c.startsWith('ip link set dev stv-4096 address ')).length;

test('the mesh programs the leg again when an ensure it did not ask for made the leg anew', async () => {
  const overlays = new FakeOverlays();
  const host = recorder();
  const mesh = new AgentMesh({ overlays, host, inContainer: () => recorder(), log: silentLogger, timers: systemTimers });
  mesh.update('ing', ingress);
  await settle();
  assert.equal(legMac(host.calls), 1, host.calls.join('\n'));
  assert.ok(host.calls.includes('ip addr replace 10.0.0.2/24 dev stv-4096'));

  // An instance's prepare retried a failed ensure, which had to add the leg again: no ingress update comes.
  overlays.fire('ing', [{ op: 'link.leg.add', name: 'stv-4096', parent: 'stvx-4096' }]);
  await settle();
  assert.equal(legMac(host.calls), 2, 'MAC and address set again on the new leg');

  // Ensures that left the leg alone, or of another network, change nothing.
  overlays.fire('ing', []);
  overlays.fire('other', [{ op: 'link.leg.add', name: 'stv-4097', parent: 'stvx-4097' }]);
  await settle();
  assert.equal(legMac(host.calls), 2);
  mesh.close();
});
