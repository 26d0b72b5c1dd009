/**
 * Stacks end to end: the real docker CLI (28.x and 20.10) and `stevedore
 * stack` against a real gateway process in swarm mode (mutual TLS).
 *
 * - `docker stack deploy -c compose/stack-web.yml web`: services converge
 *   (tasks run on the gateway's first node: the gateway runs in the first test
 *   host's namespace, beside its engine), the secret is readable in a task
 *   at /run/secrets/stack_secret, `stack ls/services/ps`, a redeploy with
 *   --prune, `stack rm` leaves no service, network, secret or config;
 * - the same with CLI 20.10;
 * - `stevedore stack deploy -c compose/stack-spec.yml`: a Compose Spec file
 *   the docker CLI refuses, started in health order; a cycle is refused with
 *   the file, line and key.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureImage, startTestGateway, type TestGateway } from '../support/gateway.js';
import { repoRoot, testbedHosts } from '../support/testbed.js';

const DOCKER28 = '/usr/local/bin/docker';
const DOCKER20 = '/usr/bin/docker';
let gw: TestGateway;
let work: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], timeout = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: repoRoot(), env: { ...process.env, ...gw.env }, timeout }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function ok(cmd: string, args: readonly string[], timeout?: number): Promise<string> {
  const r = await run(cmd, args, timeout);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}\n--- gateway log (tail) ---\n${gw.log().slice(-3000)}`);
  return r.stdout;
}

const docker = (args: readonly string[], timeout?: number) => ok(DOCKER28, args, timeout);
const stevedore = (args: readonly string[], timeout?: number) => run(process.execPath, [path.join(repoRoot(), 'bin', 'stevedore.js'), ...args], timeout);

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s${last ? ` (${String(last)})` : ''}\n--- gateway log (tail) ---\n${gw.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Lines of `docker <kind> ls` filtered by the stack's label (no header). */
async function leftovers(ns: string): Promise<string[]> {
  const label = `label=com.docker.stack.namespace=${ns}`;
  const out: string[] = [];
  for (const kind of ['service', 'network', 'secret', 'config']) {
    const ids = (await docker([kind, 'ls', '-q', '--filter', label])).trim();
    if (ids) out.push(`${kind}: ${ids.replace(/\n/g, ' ')}`);
  }
  const containers = (await docker(['ps', '-aq', '--filter', label])).trim();
  if (containers) out.push(`containers: ${containers.replace(/\n/g, ' ')}`);
  return out;
}

/** Polls until nothing of the stack is left; fails naming what is. */
async function assertNothingLeft(ns: string): Promise<void> {
  let left: string[] = [];
  await eventually(`nothing of stack ${ns} left`, async () => {
    left = await leftovers(ns);
    return left.length ? undefined : true;
  }).catch((err: Error) => assert.fail(`left of stack ${ns}: ${left.join('; ')}\n${err.message}`));
}

describe('stacks through the gateway', () => {
  before(async () => {
    // In the first test host's namespace, beside its engine, as the gateway runs on a real host:
    // its node then builds the stack's overlay, and the worker can reach web by name.
    const host = testbedHosts(1)[0];
    assert.ok(host, 'a test bed host');
    await ensureImage(host.dockerHost);
    gw = await startTestGateway({
      engine: host.dockerHost,
      args: ['--dispatcher-listen', `${host.address}:0`, '--advertise-addr', host.address],
      onHost: { namespace: host.namespace, address: host.address },
    });
    work = await mkdtemp(path.join(tmpdir(), 'stevedore-stack-e2e-'));
    await docker(['swarm', 'init', '--advertise-addr', host.address]);
  });
  after(async () => {
    // Whatever a failed test left: stacks first (their containers live on a shared engine), then the swarm.
    for (const ns of ['web', 'web20', 'spec']) await run(DOCKER28, ['stack', 'rm', ns]);
    await new Promise((r) => setTimeout(r, 2000));
    await run(DOCKER28, ['swarm', 'leave', '--force']);
    await gw?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('docker stack deploy (CLI 28): networks, secret, config and services of the stack are created', async () => {
    const out = await docker(['stack', 'deploy', '-c', 'compose/stack-web.yml', 'web']);
    for (const line of ['Creating network web_front', 'Creating secret web_stack_secret', 'Creating config web_settings', 'Creating service web_web', 'Creating service web_worker']) {
      assert.ok(out.includes(line), `missing "${line}" in:\n${out}`);
    }
    const net = JSON.parse(await docker(['network', 'inspect', 'web_front'])) as { Driver: string; Scope: string; Attachable: boolean; Labels: Record<string, string> }[];
    assert.equal(net[0]?.Driver, 'overlay');
    assert.equal(net[0]?.Scope, 'swarm');
    assert.equal(net[0]?.Attachable, true);
    assert.equal(net[0]?.Labels['com.docker.stack.namespace'], 'web');
  });

  it('services converge; stack ls / services / ps', async () => {
    await eventually('web_web 2/2 and web_worker 1/1', async () => {
      const out = await docker(['stack', 'services', 'web', '--format', '{{.Name}} {{.Replicas}}']);
      return /web_web 2\/2/.test(out) && /web_worker 1\/1/.test(out) ? out : undefined;
    });
    assert.match(await docker(['stack', 'ls']), /^NAME\s+SERVICES\s*\nweb\s+2\s*$/m);
    const ps = await docker(['stack', 'ps', 'web', '--format', '{{.Name}} {{.DesiredState}} {{.CurrentState}}', '--filter', 'desired-state=running']);
    assert.equal(ps.trim().split('\n').filter((l) => / Running Running/.test(l)).length, 3, ps);
  });

  it('the secret and the config are readable in a task; the worker reaches web by name on the overlay network', async () => {
    const worker = await eventually('a running web_worker container', async () => (await docker(['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=web_worker'])).trim().split('\n')[0] || undefined);
    assert.equal(await docker(['exec', worker, 'cat', '/run/secrets/stack_secret']), 'not-a-real-password\n');
    assert.equal(await docker(['exec', worker, 'cat', '/etc/stack/settings.txt']), 'greeting=hello from the stack config\n');
    // busybox-static's wget segfaults here: a bare HTTP/1.0 request through nc, the body after the headers.
    const page = await eventually('web answers the worker by name', async () => {
      const r = await run(DOCKER28, ['exec', worker, 'sh', '-c', "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 web 8080"]);
      const at = r.stdout.indexOf('\r\n\r\n');
      return r.code === 0 && at >= 0 ? r.stdout.slice(at + 4) : undefined;
    }, 30_000);
    assert.equal(page, 'greeting=hello from the stack config\n');
  });

  it('redeploy with --prune updates in place and removes what the file no longer has', async () => {
    const smaller = path.join(work, 'web-small.yml');
    await writeFile(
      smaller,
      ['version: "3.8"', 'services:', '  web:', '    image: busybox:latest', '    command: ["httpd", "-f", "-p", "8080"]', '    networks: [front]', 'networks:', '  front:', '    driver: overlay', '    attachable: true', ''].join('\n'),
    );
    const out = await docker(['stack', 'deploy', '--prune', '-c', smaller, 'web']);
    assert.match(out, /Removing service web_worker/);
    assert.match(out, /Updating service web_web \(id: \w+\)/);
    assert.equal((await docker(['service', 'ls', '-q', '--filter', 'label=com.docker.stack.namespace=web'])).trim().split('\n').length, 1);
  });

  it('docker stack rm leaves nothing behind', async () => {
    const out = await docker(['stack', 'rm', 'web']);
    assert.match(out, /Removing service web_web/);
    assert.match(out, /Removing network web_front/);
    await assertNothingLeft('web');
    assert.match((await run(DOCKER28, ['stack', 'rm', 'web'])).stderr, /Nothing found in stack: web/);
  });

  it('docker stack deploy / services / rm with CLI 20.10', async () => {
    const out = await ok(DOCKER20, ['stack', 'deploy', '-c', 'compose/stack-web.yml', 'web20']);
    assert.match(out, /Creating service web20_worker/);
    await eventually('web20 services listed', async () => {
      const s = await ok(DOCKER20, ['stack', 'services', 'web20', '--format', '{{.Name}}']);
      return s.includes('web20_web') && s.includes('web20_worker') ? s : undefined;
    });
    await ok(DOCKER20, ['stack', 'ps', 'web20']);
    await ok(DOCKER20, ['stack', 'rm', 'web20']);
    await assertNothingLeft('web20');
  });

  it('the docker CLI refuses the Compose Spec file; stevedore deploys it in health order', async () => {
    const refused = await run(DOCKER28, ['stack', 'deploy', '-c', 'compose/stack-spec.yml', 'spec']);
    assert.notEqual(refused.code, 0, 'docker stack deploy accepted a Compose Spec file with name: and long depends_on');

    const r = await stevedore(['stack', 'deploy', '-c', 'compose/stack-spec.yml', '--wait-timeout', '90s']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n--- gateway log ---\n${gw.log().slice(-3000)}`);
    const lines = r.stdout.split('\n');
    const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
    const db = at(/^Creating service spec_db$/);
    const healthyWait = at(/^Waiting for spec_db \(service_healthy\)/);
    const api = at(/^Creating service spec_api$/);
    const web = at(/^Creating service spec_web$/);
    assert.ok(db >= 0 && healthyWait > db && api > healthyWait && web > api, r.stdout);
    // When api was created, db's container was healthy.
    const dbContainer = (await docker(['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=spec_db'])).trim().split('\n')[0] ?? '';
    assert.equal((await docker(['inspect', '--format', '{{.State.Health.Status}}', dbContainer])).trim(), 'healthy');
    const apiCreated = Date.parse((await docker(['service', 'inspect', '--format', '{{.CreatedAt}}', 'spec_api'])).trim().replace(/ \+0000 UTC$/, 'Z').replace(' ', 'T'));
    const dbStarted = Date.parse((await docker(['inspect', '--format', '{{.State.StartedAt}}', dbContainer])).trim());
    assert.ok(apiCreated - dbStarted >= 2500, `spec_api was created ${apiCreated - dbStarted} ms after db started; db sleeps 3 s before it is healthy`);

    const ls = await stevedore(['stack', 'ls']);
    assert.match(ls.stdout, /^spec\s+3$/m);
    const ps = await stevedore(['stack', 'ps', 'spec']);
    assert.match(ps.stdout, /spec_db\.1\s+busybox:latest/);

    // A second deploy changes nothing and creates nothing.
    const again = await stevedore(['stack', 'deploy', '-c', 'compose/stack-spec.yml', '--wait-timeout', '90s']);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /Creating/);

    const removed = await stevedore(['stack', 'rm', 'spec']);
    assert.equal(removed.code, 0, removed.stderr);
    await assertNothingLeft('spec');
  });

  it('stevedore refuses a depends_on cycle and a bad value with the file, line and key', async () => {
    const cyclic = path.join(work, 'cycle.yml');
    await writeFile(cyclic, ['name: loop', 'services:', '  a:', '    image: busybox', '    depends_on: [b]', '  b:', '    image: busybox', '    depends_on:', '      a:', '        condition: service_healthy', ''].join('\n'));
    const r = await stevedore(['stack', 'deploy', '-c', cyclic]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `stevedore: ${cyclic}:5: services.a.depends_on: dependency cycle: a → b → a`);

    const bad = path.join(work, 'bad.yml');
    await writeFile(bad, ['services:', '  web:', '    image: busybox', '    deploy:', '      replicas: many', ''].join('\n'));
    const b = await stevedore(['stack', 'deploy', '-c', bad, 'bad']);
    assert.equal(b.stderr.trim(), `stevedore: ${bad}:5: services.web.deploy.replicas: must be an integer`);
    assert.equal((await docker(['service', 'ls', '-q'])).trim(), '', 'nothing may be created from a refused file');
  });
});
