import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropRawTableIfBare, isBareTable } from './iproute.js';
import type { CommandResult, CommandRunner } from './runner.js';

test('a table is bare when it lists only ACCEPT policies', () => {
  assert.equal(isBareTable('-P PREROUTING ACCEPT\n-P OUTPUT ACCEPT\n'), true);
  assert.equal(isBareTable(''), true);
  assert.equal(isBareTable('-P PREROUTING DROP\n-P OUTPUT ACCEPT\n'), false, 'someone set a policy');
  assert.equal(isBareTable('-P PREROUTING ACCEPT\n-P OUTPUT ACCEPT\n-N CT-ZONES\n'), false, 'someone else\'s chain');
  assert.equal(isBareTable('-P PREROUTING ACCEPT\n-A PREROUTING -i eth9 -j NOTRACK\n'), false, 'someone else\'s rule');
});

/** Answers iptables --version and -S as told; records every command. */
function runner(version: string, listing: string): CommandRunner & { readonly calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    run: async (file, args): Promise<CommandResult> => {
      calls.push([file, ...args].join(' '));
      if (file === 'iptables' && args[0] === '--version') return { code: 0, stdout: version, stderr: '' };
      if (file === 'iptables') return { code: 0, stdout: listing, stderr: '' };
      return { code: 0, stdout: '', stderr: '' };
    },
    spawnDaemon: () => {
      throw new Error('not used');
    },
  };
}

test('the raw table is dropped only when iptables is nft-backed and the table is bare', async () => {
  const bare = '-P PREROUTING ACCEPT\n-P OUTPUT ACCEPT\n';
  const nft = runner('iptables v1.8.9 (nf_tables)\n', bare);
  assert.equal(await dropRawTableIfBare(nft), true);
  assert.ok(nft.calls.includes('nft delete table ip raw'));

  const legacy = runner('iptables v1.8.9 (legacy)\n', bare);
  assert.equal(await dropRawTableIfBare(legacy), false);
  assert.ok(!legacy.calls.some((c) => c.startsWith('nft')), 'the legacy raw table is the kernel\'s');

  const used = runner('iptables v1.8.9 (nf_tables)\n', `${bare}-A OUTPUT -p udp --dport 53 -j NOTRACK\n`);
  assert.equal(await dropRawTableIfBare(used), false);
  assert.ok(!used.calls.some((c) => c.startsWith('nft')));
});
