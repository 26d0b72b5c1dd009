/**
 * `docker swarm ca --rotate` end to end: the real gateway (child process,
 * mutual TLS) with its own node on one test bed engine, a real agent joined
 * with a second one, and the real docker CLI 28 rotating the root with
 * `--detach=false`. Checked: both nodes stay Ready throughout (polled over one
 * kept-alive connection), the agent's certificate is issued by the new root
 * and it trusts only the new root, `docker swarm ca` prints the new root, the
 * join tokens' digest is the new root's, the old token is refused and the new
 * one admits a node; admin bundles (the API's CA, not the swarm's) keep working.
 * Also issue 3's "a worker's certificate cannot call manager-only endpoints":
 * on the gateway (403) and on an agent's own TLS Docker endpoint.
 *
 * Hosts: STEVEDORE_TESTBED_HOSTS picks them (two: the gateway's engine, the agent's).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { WorkerRefusedMessage } from '../../src/manager/authorization.js';
import { caDigestMatches, issueClientBundle, parseJoinToken, splitCertificates } from '../../src/pki/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { testbedHosts } from '../support/testbed.js';

const DOCKER = '/usr/local/bin/docker';
const [gwHost, agentHost] = testbedHosts(2);
let gw: TestGateway;
let work: string;
const agents: RunningAgent[] = [];

interface Creds {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** The name to verify the server by (a node certificate names its role and id, not an address). */
  readonly servername?: string;
}

function cli(args: readonly string[], env: Readonly<Record<string, string>>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(DOCKER, [...args], { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as unknown as { code: number }).code) : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(args: readonly string[], env: Readonly<Record<string, string>> = gw.env): Promise<string> {
  const r = await cli(args, env);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}\n--- gateway log (tail) ---\n${gw.log().slice(-4000)}`);
  return r.stdout;
}

async function bundleCreds(dir: string): Promise<Creds> {
  const [ca, cert, key] = await Promise.all(['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFile(path.join(dir, f), 'utf8')));
  return { ca: ca ?? '', cert: cert ?? '', key: key ?? '' };
}

function call(port: number, creds: Creds, method: string, p: string, agent: https.Agent | false = false, body?: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      { host: '127.0.0.1', port, method, path: p, ca: creds.ca, cert: creds.cert, key: creds.key, agent, ...(creds.servername ? { servername: creds.servername } : {}), headers: data ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => {
          let parsed: unknown = t;
          try {
            parsed = JSON.parse(t);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- gateway log (tail) ---\n${gw.log().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function newAgent(name: string, engine: string, tcp = false): Promise<RunningAgent> {
  const a = await startAgent({
    engine,
    stateDir: path.join(work, name),
    backoff: { baseMs: 50, maxMs: 400 },
    ...(tcp ? { listenDockerTcp: '127.0.0.1:0' } : {}),
  });
  agents.push(a);
  return a;
}

before(async () => {
  assert.ok(gwHost && agentHost, 'two test bed hosts');
  work = await mkdtemp(path.join(tmpdir(), 'stv-ca-rotation-'));
  gw = await startTestGateway({ engine: gwHost.dockerHost, args: ['--dispatcher-listen', '127.0.0.1:0', '--advertise-addr', '127.0.0.1'] });
});

after(async () => {
  for (const a of agents.reverse()) {
    if (a.nodeId() !== undefined) await a.leave().catch(() => undefined);
    await a.stop().catch(() => undefined);
  }
  if (gw) {
    await cli(['swarm', 'leave', '--force'], { ...gw.env, DOCKER_CERT_PATH: path.join(gw.pkiDir, 'bundles', 'after-rotation') });
    await gw.stop();
  }
  if (work) await rm(work, { recursive: true, force: true });
});

test('docker swarm ca --rotate: nodes stay Ready, certificates move to the new root, tokens follow it; workers stay out of manager endpoints', async () => {
  assert.ok(gwHost && agentHost);
  await ok(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  const oldRoot = await readFile(path.join(gw.pkiDir, 'ca', 'cert.pem'), 'utf8');
  assert.equal((await ok(['swarm', 'ca'])).trim(), oldRoot.trim(), '`docker swarm ca` prints the current root');
  const oldToken = (await ok(['swarm', 'join-token', '-q', 'worker'])).trim();
  const oldBundle = await bundleCreds(gw.bundleDir);
  const info = (await call(gw.port, oldBundle, 'GET', '/v1.47/info')).body as { Swarm: { RemoteManagers: { Addr: string }[] } };
  const dispatcher = info.Swarm.RemoteManagers[0]?.Addr ?? '';
  assert.match(dispatcher, /^127\.0\.0\.1:\d+$/);

  const worker = await newAgent('agent1', agentHost.dockerHost, true);
  await worker.join({ token: oldToken, remoteAddrs: [dispatcher] });
  const workerId = worker.nodeId() ?? '';
  await eventually('both nodes ready', async () => {
    const nodes = (await call(gw.port, oldBundle, 'GET', '/v1.47/nodes')).body as { ID: string; Status: { State: string } }[];
    return nodes.length === 2 && nodes.every((n) => n.Status.State === 'ready');
  });

  // Poll the nodes over one kept-alive connection opened before the rotation (the old bundle's
  // connection outlives the rotation's end, as the CLI's own does), every 100 ms, until told to stop.
  const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const seen: string[] = [];
  const pollErrors: string[] = [];
  let polling = true;
  let polls = 0;
  const poller = (async () => {
    while (polling) {
      try {
        const r = await call(gw.port, oldBundle, 'GET', '/v1.47/nodes', keepAlive);
        if (r.status !== 200) pollErrors.push(`status ${r.status}`);
        else for (const n of r.body as { ID: string; Status: { State: string } }[]) if (n.Status.State !== 'ready') seen.push(`${n.ID} ${n.Status.State}`);
        polls++;
      } catch (err) {
        pollErrors.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const started = Date.now();
  const rotated = await ok(['swarm', 'ca', '--rotate', '--detach=false']);
  const tookMs = Date.now() - started;
  polling = false;
  await poller;
  keepAlive.destroy();

  const newRoot = await readFile(path.join(gw.pkiDir, 'swarm-ca', 'cert.pem'), 'utf8');
  assert.notEqual(newRoot, oldRoot, "the swarm's CA on disk is the new root");
  assert.equal(await readFile(path.join(gw.pkiDir, 'ca', 'cert.pem'), 'utf8'), oldRoot, "the API's CA is not the swarm's to rotate");
  assert.equal(splitCertificates(newRoot).length, 1);
  assert.ok(rotated.trim().endsWith(newRoot.trim()), `the CLI ends by printing the new root:\n${rotated}`);
  assert.match(rotated, /rotated TLS certificates/);
  assert.match(rotated, /rotated CA certificates/);
  assert.ok(polls > 0, 'the poller ran');
  assert.deepEqual(pollErrors, [], 'the kept-alive admin connection kept working');
  assert.deepEqual(seen, [], 'no node was ever anything but ready');
  // And the dispatcher never marked one down (it logs "session closed" only when it does).
  assert.doesNotMatch(gw.log(), /"msg":"session closed"/);
  assert.match(gw.log(), /session closed after a certificate renewal/);
  console.log(`rotation took ${tookMs} ms; ${polls} node polls, all ready`);

  // The admin bundle from before keeps working on new connections (the API's CA
  // is not the swarm's), and so does a new one.
  assert.equal((await call(gw.port, oldBundle, 'GET', '/v1.47/_ping')).status, 200);
  assert.equal((await ok(['swarm', 'ca'])).trim(), newRoot.trim(), 'the old bundle, through the real CLI');
  const newBundleDir = await issueClientBundle(gw.pkiDir, 'after-rotation');
  const admin = await bundleCreds(newBundleDir);
  const env = { ...gw.env, DOCKER_CERT_PATH: newBundleDir };
  assert.equal((await ok(['swarm', 'ca'], env)).trim(), newRoot.trim());
  const swarm = (await call(gw.port, admin, 'GET', '/v1.47/swarm')).body as { RootRotationInProgress: boolean; TLSInfo: { TrustRoot: string }; Spec: { CAConfig: { ForceRotate?: number } } };
  assert.equal(swarm.RootRotationInProgress, false);
  assert.equal(swarm.TLSInfo.TrustRoot, newRoot);
  assert.equal(swarm.Spec.CAConfig.ForceRotate, 1);

  // The agent: a certificate from the new root alone, trusting only the new root; still ready.
  const id = worker.agent.currentIdentity();
  assert.ok(id);
  const root = new X509Certificate(newRoot);
  const leaf = new X509Certificate(splitCertificates(id.certPem)[0] ?? '');
  assert.ok(leaf.checkIssued(root) && leaf.verify(root.publicKey), "the agent's certificate is issued by the new root");
  assert.equal(leaf.verify(new X509Certificate(oldRoot).publicKey), false);
  assert.equal(id.caPem, newRoot, 'the agent trusts the new root alone');
  const nodes = (await call(gw.port, admin, 'GET', '/v1.47/nodes')).body as { ID: string; Status: { State: string }; Description: { TLSInfo: { TrustRoot: string } } }[];
  assert.equal(nodes.length, 2);
  for (const n of nodes) {
    assert.equal(n.Status.State, 'ready', n.ID);
    assert.equal(n.Description.TLSInfo.TrustRoot, newRoot, n.ID);
  }

  // Join tokens: new digest (the new root's); the old token is refused, the new one admits a node.
  const newToken = (await ok(['swarm', 'join-token', '-q', 'worker'], env)).trim();
  assert.notEqual(parseJoinToken(newToken).rootDigest, parseJoinToken(oldToken).rootDigest);
  assert.ok(caDigestMatches(newToken, newRoot), "the new token's digest is the new root's");
  assert.equal(caDigestMatches(oldToken, newRoot), false);
  const late = await newAgent('agent2', gwHost.dockerHost);
  await assert.rejects(late.join({ token: oldToken, remoteAddrs: [dispatcher] }), /remote CA does not match fingerprint/);
  await late.join({ token: newToken, remoteAddrs: [dispatcher] });
  const lateId = late.nodeId() ?? '';
  await eventually('the late node ready', async () => {
    const ns = (await call(gw.port, admin, 'GET', '/v1.47/nodes')).body as { ID: string; Status: { State: string } }[];
    return ns.some((n) => n.ID === lateId && n.Status.State === 'ready');
  });

  // A worker's certificate on the gateway: 403 with Swarm's PermissionDenied on every manager-only endpoint.
  // (The gateway's API certificate is the API's CA's: that is what the client verifies.)
  const workerCreds: Creds = { ca: oldRoot, cert: id.certPem, key: id.keyPem };
  for (const [method, p] of [
    ['GET', '/v1.47/swarm'],
    ['GET', '/v1.47/nodes'],
    ['GET', `/v1.47/nodes/${workerId}`],
    ['GET', '/v1.47/services'],
    ['GET', '/v1.47/tasks'],
    ['GET', '/v1.47/secrets'],
    ['GET', '/v1.47/configs'],
    ['POST', '/v1.47/swarm/update?version=1'],
    ['POST', '/v1.47/swarm/leave?force=1'],
    ['POST', '/v1.47/services/create'],
    ['DELETE', `/v1.47/nodes/${lateId}`],
  ] as const) {
    const r = await call(gw.port, workerCreds, method, p, false, method === 'POST' ? {} : undefined);
    assert.equal(r.status, 403, `${method} ${p}`);
    assert.deepEqual(r.body, { message: WorkerRefusedMessage }, `${method} ${p}`);
  }
  assert.equal((await call(gw.port, workerCreds, 'GET', '/v1.47/_ping')).status, 200, 'not manager-only: allowed');

  // The agent's own TLS Docker endpoint: managers and admins in, other workers out.
  const tcp = worker.endpoint?.tcpAddress;
  assert.ok(tcp, 'the agent serves its TLS Docker endpoint');
  const lateIdentity = late.agent.currentIdentity();
  assert.ok(lateIdentity);
  const other: Creds = { ca: newRoot, cert: lateIdentity.certPem, key: lateIdentity.keyPem, servername: 'swarm-worker' };
  const refused = await call(tcp.port, other, 'GET', '/v1.41/_ping');
  assert.equal(refused.status, 403);
  assert.match((refused.body as { message: string }).message, /Permission denied: remote certificate not part of OUs/);
  assert.equal((await call(tcp.port, other, 'GET', '/v1.41/containers/json')).status, 403);
  // An admin bundle is the API's CA's: agents trust the swarm's root alone
  // once it has its own, so admins go through the gateway (as with Docker,
  // whose swarm CA is not its daemons' API CA).
  await assert.rejects(call(tcp.port, { ...admin, ca: newRoot, servername: 'swarm-worker' }, 'GET', '/v1.41/_ping'), 'an API-CA admin bundle is not a swarm certificate');
  const stateDir = path.join(path.dirname(gw.pkiDir), 'state', 'agent');
  const manager: Creds = { ca: newRoot, cert: await readFile(path.join(stateDir, 'node.crt'), 'utf8'), key: await readFile(path.join(stateDir, 'node.key'), 'utf8'), servername: 'swarm-worker' };
  assert.equal((await call(tcp.port, manager, 'GET', '/v1.41/_ping')).status, 200, "the gateway's manager certificate may");
});
