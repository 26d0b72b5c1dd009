/**
 * `stevedore agent clean-host` on a real test host: a kernel with our links,
 * iptables chains hooked into the built-in ones (one jump twice, as an agent
 * restarted mid-apply leaves it) and the mesh's nftables table, in the host's
 * network namespace next to its own dockerd's rules. Everything of ours goes;
 * nothing else is touched. The command itself refuses while the engine runs,
 * unless told to remove the agent's containers first (`--remove-containers`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostFilesDir, systemTmpfs } from '../../src/agent/index.js';
import { cleanHost, ExecRunner, type CommandRunner } from '../../src/agent/network/index.js';
import { ensureImage } from '../support/gateway.js';
import { repoRoot, testbedHosts } from '../support/testbed.js';

const host = testbedHosts(1)[0]!;
const runner: CommandRunner = new ExecRunner(`/var/run/netns/${host.namespace}`);
const WG = 'stvwgclean0';

async function must(file: string, ...args: string[]): Promise<string> {
  const r = await runner.run(file, args);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const links = async (): Promise<string[]> =>
  (await must('ip', '-o', 'link', 'show'))
    .split('\n')
    .map((l) => (l.split(': ')[1] ?? '').split('@')[0] ?? '')
    .filter(Boolean);
const rules = async (table: string): Promise<string> => must('iptables', '-w', '-t', table, '-S');

/** The real command in the test host's network namespace (where its links are), against its engine. */
function cleanHostCommand(...extra: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = [`--net=/var/run/netns/${host.namespace}`, process.execPath, path.join(repoRoot(), 'bin', 'stevedore.js'), 'agent', 'clean-host', '--engine', host.dockerHost, '--wireguard-interface', WG, ...extra];
  return new Promise((resolve) => {
    execFile('nsenter', args, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

async function docker(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/usr/local/bin/docker', ['-H', host.dockerHost, ...args], (err, stdout, stderr) => (err ? reject(new Error(`docker ${args.join(' ')}: ${stderr}`)) : resolve(stdout.trim())));
  });
}

describe(`clean-host on ${host.name}`, () => {
  let othersBefore: string[] = [];
  let dockerRulesBefore = '';

  before(async () => {
    othersBefore = (await links()).filter((l) => !/^stvx?-\d+$/.test(l));
    dockerRulesBefore = (await rules('filter')).split('\n').filter((l) => /DOCKER/.test(l)).join('\n');
    // What an agent builds for an overlay: its device, the host's leg on it, our chains and jumps, the mesh table.
    await must('ip', 'link', 'add', 'stvx-4999', 'type', 'vxlan', 'id', '4999', 'dstport', '4789', 'nolearning');
    await must('ip', 'link', 'add', 'stv-4999', 'link', 'stvx-4999', 'type', 'macvlan', 'mode', 'bridge');
    await must('ip', 'link', 'add', 'stvx-5000', 'type', 'bridge');
    await must('ip', 'link', 'add', WG, 'type', 'bridge'); // stands in for the WireGuard interface: only its name matters here
    await must('ip', 'link', 'add', 'stvkeep0', 'type', 'bridge'); // not ours by name: must stay
    for (const [table, chain, parents] of [
      ['filter', 'STVOV-FWD', ['FORWARD', 'FORWARD']],
      ['nat', 'STVOV-NAT', ['POSTROUTING']],
      ['raw', 'STVOV-RAW', ['PREROUTING', 'OUTPUT']],
      ['filter', 'STVMESH-FWD', ['FORWARD']],
    ] as const) {
      if ((await runner.run('iptables', ['-w', '-t', table, '-n', '-L', chain])).code !== 0) await must('iptables', '-w', '-t', table, '-N', chain);
      await must('iptables', '-w', '-t', table, '-A', chain, '-m', 'comment', '--comment', 'stvov:4999', '-j', 'RETURN');
      for (const parent of parents) await must('iptables', '-w', '-t', table, '-I', parent, '-j', chain);
    }
    await must('nft', 'add', 'table', 'ip', 'stevedore_mesh');
  });

  after(async () => {
    await runner.run('ip', ['link', 'del', 'stvkeep0']);
  });

  it('the command refuses while the host\'s engine answers, and touches nothing', async () => {
    // In the test host's namespace: had the guard failed, only that namespace would have been cleaned.
    const r = await cleanHostCommand();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /still answers; its containers may use this host's overlays\. Stop the engine first, or pass --force/);
    assert.ok((await links()).includes('stvx-4999'), 'nothing was removed');
  });

  it('removes our links, chains and jumps and the mesh table, and says so', async () => {
    const r = await cleanHost(runner, { wireguardInterface: WG });
    // Ours made here, and any an earlier test's overlays left on this host (clean-host takes every one of ours).
    for (const l of ['stv-4999', WG, 'stvx-4999', 'stvx-5000']) assert.ok(r.links.includes(l), `${l} removed`);
    assert.ok(r.links.indexOf('stv-4999') < r.links.indexOf('stvx-4999'), 'the leg goes before its parent');
    assert.deepEqual([...r.chains].sort(), ['filter/STVMESH-FWD', 'filter/STVOV-FWD', 'nat/STVOV-NAT', 'raw/STVOV-RAW']);
    assert.equal(r.nftTable, true);

    const now = await links();
    assert.deepEqual(now.filter((l) => /^stvx?-\d+$/.test(l) || l === WG), []);
    for (const table of ['filter', 'nat', 'raw']) assert.doesNotMatch(await rules(table), /STVOV|STVMESH/, `${table} keeps none of ours`);
    assert.equal((await runner.run('nft', ['list', 'table', 'ip', 'stevedore_mesh'])).code !== 0, true);
  });

  it('leaves everything else as it was', async () => {
    const now = await links();
    for (const l of othersBefore) assert.ok(now.includes(l), `${l} is still there`);
    assert.ok(now.includes('stvkeep0'));
    assert.equal((await rules('filter')).split('\n').filter((l) => /DOCKER/.test(l)).join('\n'), dockerRulesBefore, "the engine's own rules are untouched");
  });

  it('a second run finds nothing to do', async () => {
    assert.deepEqual(await cleanHost(runner, { wireguardInterface: WG }), { links: [], chains: [], nftTable: false });
  });

  // What `stevedore node remove --force` runs on a host whose agent died: leaving, done from outside.
  it('--remove-containers: the agent\'s containers and secrets tmpfs go, then its overlays, though the engine answers; the user\'s containers stay', async () => {
    await ensureImage(host.dockerHost);
    await must('ip', 'link', 'add', 'stvx-4998', 'type', 'bridge');
    // The tmpfs a killed agent leaves mounted in its state directory, holding a secret.
    const stateDir = await mkdtemp(path.join(tmpdir(), 'stv-clean-state-'));
    const files = hostFilesDir(stateDir);
    await mkdir(files, { recursive: true });
    await systemTmpfs.mount(files);
    await writeFile(path.join(files, 'secret'), 'not-on-disk');
    const ours = await docker('run', '-d', '--label', 'io.stevedore.managed=true', 'busybox', 'sleep', '600');
    const theirs = await docker('run', '-d', 'busybox', 'sleep', '600');
    try {
      const r = await cleanHostCommand('--remove-containers', '--state-dir', stateDir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /removed: [1-9]\d* containers? the agent made/);
      assert.match(r.stdout, /removed: the secrets tmpfs at /);
      assert.equal(await systemTmpfs.isMounted(files), false);
      await rm(stateDir, { recursive: true }); // what --purge then does: it fails on a mount point
      assert.match(r.stdout, /removed: 1 links \(stvx-4998\)/);
      const left = (await docker('ps', '-aq', '--no-trunc')).split('\n');
      assert.ok(!left.includes(ours), 'the agent\'s container is gone');
      assert.ok(left.includes(theirs), 'the user\'s container stays');
      assert.ok(!(await links()).includes('stvx-4998'));
    } finally {
      await docker('rm', '-f', ours, theirs).catch(() => '');
      await runner.run('ip', ['link', 'del', 'stvx-4998']);
      if (await systemTmpfs.isMounted(files)) await systemTmpfs.unmount(files, false);
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
