/**
 * Swarm mode with the real docker CLI 28.x against a real gateway process
 * (mutual TLS): swarm init, join-token (plain, -q, --rotate), node ls,
 * node update --label-add / --availability drain, node inspect --pretty,
 * the refusals Docker prints, info, and leave.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createNodeKeyAndCsr, signNodeCsr, SwarmRoles, type SwarmRole } from '../../src/pki/index.js';
import { startTestGateway, testEngine, type TestGateway } from '../support/gateway.js';

const DOCKER = '/usr/local/bin/docker';
let gw: TestGateway;

function docker(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(DOCKER, args, { env: { ...process.env, ...gw.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function ok(args: readonly string[]): Promise<string> {
  const r = await docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}\n--- gateway log (tail) ---\n${gw.log().slice(-3000)}`);
  return r.stdout;
}

async function fails(args: readonly string[], message: RegExp): Promise<void> {
  const r = await docker(args);
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail`);
  assert.match(r.stderr, message);
}

describe('docker swarm / docker node through the gateway', () => {
  before(async () => {
    gw = await startTestGateway({ engine: testEngine().url, args: ['--dispatcher-listen', '127.0.0.1:0', '--advertise-addr', '127.0.0.1'] });
  });
  after(async () => {
    await gw?.stop();
  });

  let nodeId = '';

  it('outside a swarm: node ls is refused as Docker refuses it', async () => {
    await fails(['node', 'ls'], /Error response from daemon: This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again\./);
    assert.equal((await ok(['info', '--format', '{{.Swarm.LocalNodeState}}'])).trim(), 'inactive');
  });

  it('swarm init prints the node and the worker join command', async () => {
    const out = await ok(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    const m = /Swarm initialized: current node \(([0-9a-z]{25})\) is now a manager\./.exec(out);
    assert.ok(m, out);
    nodeId = m[1] ?? '';
    assert.match(out, /docker swarm join --token SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25} 127\.0\.0\.1:\d+/);
    await fails(['swarm', 'init'], /This node is already part of a swarm\. Use "docker swarm leave" to leave this swarm and join another one\./);
  });

  it('join-token worker / manager, -q and --rotate', async () => {
    const worker = await ok(['swarm', 'join-token', 'worker']);
    assert.match(worker, /To add a worker to this swarm, run the following command:\s+docker swarm join --token SWMTKN-1-\S+ 127\.0\.0\.1:\d+/);
    const q = (await ok(['swarm', 'join-token', '-q', 'worker'])).trim();
    assert.ok(worker.includes(q));
    const mgr = (await ok(['swarm', 'join-token', '-q', 'manager'])).trim();
    assert.notEqual(mgr, q);
    const rotated = await ok(['swarm', 'join-token', '--rotate', 'worker']);
    assert.match(rotated, /Successfully rotated worker join token\./);
    const q2 = (await ok(['swarm', 'join-token', '-q', 'worker'])).trim();
    assert.notEqual(q2, q);
    assert.equal((await ok(['swarm', 'join-token', '-q', 'manager'])).trim(), mgr);
  });

  it('node ls shows the gateway as Ready, Active, Leader', async () => {
    const out = await ok(['node', 'ls']);
    const line = out.split('\n').find((l) => l.startsWith(nodeId));
    assert.ok(line, out);
    assert.match(line, new RegExp(`^${nodeId} \\*\\s+\\S+\\s+Ready\\s+Active\\s+Leader\\s+\\S+`));
    assert.equal((await ok(['node', 'ls', '-q', '--filter', 'role=manager'])).trim(), nodeId);
    assert.equal((await ok(['node', 'ls', '-q', '--filter', 'role=worker'])).trim(), '');
  });

  it('node update --label-add / --availability drain, then inspect --pretty', async () => {
    assert.equal((await ok(['node', 'update', '--label-add', 'zone=a', '--availability', 'drain', nodeId])).trim(), nodeId);
    const pretty = await ok(['node', 'inspect', '--pretty', 'self']);
    assert.match(pretty, new RegExp(`ID:\\s+${nodeId}`));
    assert.match(pretty, /Labels:\n - zone=a/);
    assert.match(pretty, /State:\s+Ready/);
    assert.match(pretty, /Availability:\s+Drain/);
    assert.match(pretty, /Leader:\s+Yes/);
    assert.match(pretty, /Engine Version:\s+\S+/);
    assert.match(pretty, /TLS Info:\n TrustRoot:\n-----BEGIN CERTIFICATE-----/);
    assert.match(await ok(['node', 'ls']), /Ready\s+Drain\s+Leader/);
    assert.equal((await ok(['node', 'ls', '-q', '--filter', 'node.label=zone=a'])).trim(), nodeId);
    await ok(['node', 'update', '--availability', 'active', '--label-rm', 'zone', nodeId]);
  });

  it("a worker node's certificate is refused on cluster state; a manager's is not", async () => {
    const clusterId = (await ok(['info', '--format', '{{.Swarm.Cluster.ID}}'])).trim();
    const caDir = path.join(gw.pkiDir, 'ca');
    const [caCertPem, caKeyPem] = await Promise.all([readFile(path.join(caDir, 'cert.pem'), 'utf8'), readFile(path.join(caDir, 'key.pem'), 'utf8')]);
    const bundle = async (role: SwarmRole): Promise<string> => {
      const dir = await mkdtemp(path.join(tmpdir(), 'stevedore-swarm-node-'));
      const { keyPem, csrPem } = createNodeKeyAndCsr();
      const certPem = signNodeCsr({ caCertPem, caKeyPem, csrPem, nodeId: `e2e-${role}`, clusterId, role, now: Date.now() });
      await Promise.all([writeFile(path.join(dir, 'ca.pem'), caCertPem), writeFile(path.join(dir, 'cert.pem'), certPem), writeFile(path.join(dir, 'key.pem'), keyPem, { mode: 0o600 })]);
      return dir;
    };
    const worker = await bundle(SwarmRoles.worker);
    const manager = await bundle(SwarmRoles.manager);
    try {
      for (const args of [['node', 'ls'], ['swarm', 'join-token', 'worker'], ['swarm', 'leave', '--force']]) {
        const r = await docker(args, { DOCKER_CERT_PATH: worker });
        assert.notEqual(r.code, 0, args.join(' '));
        // Swarm's control API refusing a worker's certificate (a manager's gRPC PermissionDenied, 403).
        assert.match(r.stderr, /Permission denied: unauthorized peer role: .*remote certificate not part of OUs: \[swarm-manager\]/);
      }
      const r = await docker(['node', 'ls', '-q'], { DOCKER_CERT_PATH: manager });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), nodeId);
    } finally {
      await rm(worker, { recursive: true, force: true });
      await rm(manager, { recursive: true, force: true });
    }
  });

  it("refusals read as Docker's", async () => {
    await fails(['node', 'rm', nodeId], /It must be demoted to worker before removal/);
    await fails(['node', 'demote', nodeId], /attempting to demote the last manager of the swarm/);
    await fails(['node', 'inspect', 'nosuchnode'], /node nosuchnode not found/);
    await fails(['swarm', 'update', '--cert-expiry', '10m'], /minimum certificate expiry time is: 1h0m0s/);
    await fails(['swarm', 'unlock-key'], /no unlock key is set/);
  });

  it('swarm update and docker info', async () => {
    await ok(['swarm', 'update', '--dispatcher-heartbeat', '2s', '--cert-expiry', '48h']);
    const info = await ok(['info']);
    assert.match(info, /Swarm: active/);
    assert.match(info, new RegExp(`NodeID: ${nodeId}`));
    assert.match(info, /Is Manager: true/);
    assert.match(info, /Heartbeat Period: 2 seconds/);
    assert.match(info, /Expiry Duration: 2 days/);
  });

  it('swarm leave needs --force, then the swarm is gone', async () => {
    await fails(['swarm', 'leave'], /Use `--force` to ignore this message/);
    assert.match(await ok(['swarm', 'leave', '--force']), /Node left the swarm\./);
    assert.equal((await ok(['info', '--format', '{{.Swarm.LocalNodeState}}'])).trim(), 'inactive');
  });
});
