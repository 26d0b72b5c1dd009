import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanHost, ourChains, ourLinks } from './host-cleanup.js';
import type { CommandResult, CommandRunner } from './runner.js';

describe('host clean-up', () => {
  it('takes only our overlay links and the WireGuard interface, legs before their parents', () => {
    const names = ['lo', 'eth0', 'docker0', 'stvlab0', 'stvtb1@if2', 'stvx-4096', 'stv-4096@stvx-4096', 'stv-4097@stvx-4097', 'stvx-4097', 'stvwg0', 'stv-x', 'stvx-12a'];
    assert.deepEqual(ourLinks(names, 'stvwg0'), ['stv-4096', 'stv-4097', 'stvwg0', 'stvx-4096', 'stvx-4097']);
  });

  it('names every chain the overlays and the mesh make, with the chains that jump to them', () => {
    assert.deepEqual(
      ourChains().map((c) => `${c.table}/${c.chain}<-${c.parents.join(',')}`),
      ['filter/STVOV-FWD<-FORWARD', 'nat/STVOV-NAT<-POSTROUTING', 'raw/STVOV-RAW<-PREROUTING,OUTPUT', 'filter/STVMESH-FWD<-FORWARD'],
    );
  });

  it('unhooks, flushes and deletes what exists and skips what does not', async () => {
    const ran: string[] = [];
    // A host with one overlay (device and leg), the filter chain hooked twice, no raw chain, no mesh table.
    let jumps = 2;
    const runner: CommandRunner = {
      async run(file, args): Promise<CommandResult> {
        const cmd = `${file} ${args.join(' ')}`;
        ran.push(cmd);
        const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
        const no: CommandResult = { code: 1, stdout: '', stderr: 'no' };
        if (cmd === 'ip -o link show') return ok('1: lo: <LOOPBACK>\n7: stvx-4096: <UP>\n8: stv-4096@stvx-4096: <UP>\n');
        if (cmd.startsWith('ip link del')) return ok();
        if (cmd.includes('-L STVOV-FWD') || cmd.includes('-L STVOV-NAT')) return ok();
        if (cmd.includes('-L')) return no;
        if (cmd === 'iptables -w -t filter -D FORWARD -j STVOV-FWD') return jumps-- > 0 ? ok() : no;
        if (cmd.includes('-D')) return no;
        if (cmd.includes(' -F ') || cmd.includes(' -X ')) return ok();
        return no; // nft: no table
      },
      spawnDaemon: () => {
        throw new Error('not here');
      },
    };
    const r = await cleanHost(runner, { wireguardInterface: 'stvwg0' });
    assert.deepEqual(r, { links: ['stv-4096', 'stvx-4096'], chains: ['filter/STVOV-FWD', 'nat/STVOV-NAT'], nftTable: false });
    assert.equal(ran.filter((c) => c === 'iptables -w -t filter -D FORWARD -j STVOV-FWD').length, 3, 'both jumps removed, then one failing try');
    assert.ok(ran.indexOf('ip link del stv-4096') < ran.indexOf('ip link del stvx-4096'));
    assert.ok(!ran.some((c) => c.includes('STVOV-RAW') && !c.includes('-L')), 'a chain that does not exist is not touched');
  });
});
