/**
 * Standalone containers on an attachable overlay across three hosts, as on
 * Docker Swarm, with the real docker CLI: a gateway whose engine is the first
 * test host, `stevedore agent` processes on three test hosts joined as
 * workers, a 3-replica busybox httpd service (one task per host, each serving
 * its hostname) on an attachable overlay. A busybox container started with
 * `docker run --network <overlay>` through one agent's own Docker endpoint
 * gets a cluster address (a network attachment from the manager); from it the
 * service name resolves to the VIP, requests to the VIP are answered by tasks
 * on all three hosts, `tasks.<service>` lists three addresses; a task on
 * another host resolves the container's name and reaches it over TCP.
 * Removing the container gives the attachment back, and an overlay whose last
 * user on a host was that container leaves the host.
 *
 * Hosts: testbedHosts(3) (STEVEDORE_TESTBED_HOSTS=tb21,tb22,tb23 picks them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answers, DOCKER, E2eCluster, inNetns, onHost, run } from '../support/e2e-cluster.js';
import { testbedHosts, type TestbedHost } from '../support/testbed.js';

const WEB = 'atweb';
const NETWORK = 'at-net';
const LONELY = 'at-lonely';
const SUBNET_PREFIX = '10.231.7.';
const CONTAINER = 'atc';
const picked = testbedHosts(3);
const hosts = [picked[0], picked[1], picked[2]] as [TestbedHost, TestbedHost, TestbedHost];
let cluster: E2eCluster;
const vnis: number[] = [];

interface TaskOnHost {
  readonly host: TestbedHost;
  readonly container: string;
  readonly ip: string;
}

async function tasksOnHosts(service: string): Promise<TaskOnHost[]> {
  const out: TaskOnHost[] = [];
  for (const h of hosts) {
    const ids = (await onHost(h, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])).split('\n').filter(Boolean);
    for (const id of ids) {
      const ip = (await onHost(h, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, id])).trim();
      out.push({ host: h, container: id, ip });
    }
  }
  return out;
}

/** The docker CLI against the agent's own Docker endpoint on `h`. */
const viaAgent = (h: TestbedHost, args: readonly string[]) => run(DOCKER, ['-H', cluster.agentEndpoint(h), ...args]);

async function agentOk(h: TestbedHost, args: readonly string[]): Promise<string> {
  const r = await viaAgent(h, args);
  assert.equal(r.code, 0, `docker -H <agent on ${h.name}> ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}\n--- gateway log (tail) ---\n${cluster.gw.log().slice(-2000)}`);
  return r.stdout;
}

describe('standalone containers on an attachable overlay across three hosts', () => {
  before(async () => {
    cluster = await E2eCluster.start({ prefix: 'stv-e2e-at-', first: hosts[0], workers: hosts });
  });

  after(async () => {
    for (const h of hosts) for (const c of [CONTAINER, `${CONTAINER}2`]) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', c]);
    await cluster?.docker(['service', 'rm', WEB]);
    await cluster?.stop(hosts);
    for (const h of hosts) {
      const left = (await run(DOCKER, ['-H', h.dockerHost, 'ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${WEB}`])).stdout.trim();
      for (const id of left.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', id]);
      const nets = (await run(DOCKER, ['-H', h.dockerHost, 'network', 'ls', '-q', '--filter', 'label=io.stevedore.overlay.vni'])).stdout.trim();
      for (const id of nets.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'network', 'rm', id]);
      for (const v of vnis) for (const l of [`stvx-${v}`, `stv-${v}`]) await run('nsenter', [`--net=/var/run/netns/${h.namespace}`, '--', 'ip', 'link', 'del', l]);
    }
  });

  it('a 3-replica web service on an attachable overlay, one task per host', async () => {
    await cluster.ok(['network', 'create', '-d', 'overlay', '--attachable', '--subnet', `${SUBNET_PREFIX}0/24`, NETWORK]);
    await cluster.ok([
      'service', 'create', '--detach', '--name', WEB, '--network', NETWORK, '--replicas', '3',
      '--constraint', 'node.role==worker', '--replicas-max-per-node', '1',
      'busybox', 'sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www',
    ]);
    await cluster.eventually('three web tasks, one per host', async () => {
      const t = await tasksOnHosts(WEB);
      return t.length === 3 && hosts.every((h) => t.some((x) => x.host === h));
    });
    vnis.push(Number((await onHost(hosts[0], ['network', 'inspect', '-f', '{{index .Labels "io.stevedore.overlay.vni"}}', NETWORK])).trim()));
  });

  it('docker run --network <overlay> through an agent\'s endpoint: a cluster address, the service by name and VIP on all hosts, tasks.<service>', async (t) => {
    const h = hosts[1];
    const started = Date.now();
    await agentOk(h, ['run', '-d', '--name', CONTAINER, '--network', NETWORK, 'busybox', 'sh', '-c', 'mkdir -p /www && echo standalone > /www/index.html && exec httpd -f -p 8080 -h /www']);
    t.diagnostic(`docker run -d through the agent: ${Date.now() - started} ms`);
    const ip = (await agentOk(h, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, CONTAINER])).trim();
    assert.ok(ip.startsWith(SUBNET_PREFIX), `the container's address ${ip} is the cluster's`);
    const netId = (await cluster.ok(['network', 'inspect', '-f', '{{.Id}}', NETWORK])).trim();
    await cluster.eventually('the attachment is among the network\'s addresses', async () => (await cluster.addressesOn(netId)).includes(ip), 15_000);
    const tasks = await tasksOnHosts(WEB);
    for (const x of tasks) assert.notEqual(x.ip, ip, 'no address twice');
    const vip = await cluster.vipOf(WEB, NETWORK);
    const inC = (script: string) => viaAgent(h, ['exec', CONTAINER, 'sh', '-c', script]);
    assert.deepEqual(answers((await viaAgent(h, ['exec', CONTAINER, 'nslookup', WEB])).stdout), [vip]);
    assert.deepEqual(answers((await viaAgent(h, ['exec', CONTAINER, 'nslookup', `tasks.${WEB}`])).stdout), tasks.map((x) => x.ip).sort());
    // The VIP rules reach the container's namespace within a poll of the attachment's watch.
    const hostOf = new Map(tasks.map((x) => [x.container.slice(0, 12), x.host.name]));
    let answered: string[] = [];
    await cluster.eventually('requests to the VIP answered by tasks on all three hosts', async () => {
      const out = (await inC(`for i in $(seq 24); do echo "R:$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${vip} 80 | tail -n 1)"; done`)).stdout;
      answered = out.split('\n').filter((l) => l.startsWith('R:')).map((l) => l.slice(2).trim());
      return answered.length === 24 && answered.every((a) => hostOf.has(a)) && new Set(answered.map((a) => hostOf.get(a))).size === 3;
    }, 30_000);
    t.diagnostic(`VIP ${vip} from the standalone container: ${[...new Set(answered)].map((a) => `${hostOf.get(a)}=${answered.filter((x) => x === a).length}`).join(' ')}`);
  });

  it('a task on another host resolves the container\'s name and reaches it over TCP', async () => {
    const ip = (await agentOk(hosts[1], ['inspect', '-f', `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, CONTAINER])).trim();
    const remote = (await tasksOnHosts(WEB)).find((x) => x.host === hosts[2]);
    assert.ok(remote);
    await cluster.eventually('the container\'s name resolves from a task on another host', async () => {
      const r = await run(DOCKER, ['-H', remote.host.dockerHost, 'exec', remote.container, 'nslookup', CONTAINER]);
      return answers(r.stdout).join() === ip;
    }, 20_000);
    const body = await onHost(remote.host, ['exec', remote.container, 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${CONTAINER} 8080 | tail -n 1`]);
    assert.equal(body.trim(), 'standalone');
  });

  it('removing the container gives the attachment back', async () => {
    const h = hosts[1];
    const ip = (await agentOk(h, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, CONTAINER])).trim();
    const netId = (await cluster.ok(['network', 'inspect', '-f', '{{.Id}}', NETWORK])).trim();
    await agentOk(h, ['rm', '-f', CONTAINER]);
    await cluster.eventually('the attachment and its address are gone', async () => !(await cluster.addressesOn(netId)).includes(ip), 15_000);
    // The other tasks no longer see the name.
    const remote = (await tasksOnHosts(WEB)).find((x) => x.host === hosts[2]);
    assert.ok(remote);
    await cluster.eventually('the name no longer resolves', async () => answers((await run(DOCKER, ['-H', remote.host.dockerHost, 'exec', remote.container, 'nslookup', CONTAINER])).stdout).length === 0, 20_000);
  });

  it('an overlay whose only user on a host was a standalone container leaves that host with it (docker run --rm)', async () => {
    const h = hosts[2];
    await cluster.ok(['network', 'create', '-d', 'overlay', '--attachable', LONELY]);
    await agentOk(h, ['run', '-d', '--rm', '--name', `${CONTAINER}2`, '--network', LONELY, 'busybox', 'sleep', '3600']);
    const vni = Number((await onHost(h, ['network', 'inspect', '-f', '{{index .Labels "io.stevedore.overlay.vni"}}', LONELY])).trim());
    vnis.push(vni);
    assert.ok(vni > 0);
    assert.match(await inNetns(h, ['ip', '-o', 'link', 'show', `stvx-${vni}`]), new RegExp(`stvx-${vni}`));
    // Stopped by the engine (--rm removes it there, not through the endpoint): the attachment's watch gives it back.
    await onHost(h, ['stop', '-t', '0', `${CONTAINER}2`]);
    await cluster.eventually('the overlay is gone from the host', async () => {
      const nets = (await run(DOCKER, ['-H', h.dockerHost, 'network', 'ls', '-q', '--filter', `name=^${LONELY}$`])).stdout.trim();
      const link = await run('nsenter', [`--net=/var/run/netns/${h.namespace}`, '--', 'ip', 'link', 'show', `stvx-${vni}`]);
      return nets === '' && link.code !== 0;
    }, 30_000);
    await cluster.ok(['network', 'rm', LONELY]);
  });
});
