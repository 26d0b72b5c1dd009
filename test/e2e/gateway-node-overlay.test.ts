/**
 * The gateway's own node on overlays, with the real docker CLI: a gateway
 * running in the first test host's network namespace (as a gateway installed
 * on that host runs beside its engine), so its in-process agent builds that
 * node's overlays like every other agent; `stevedore agent` on the two other
 * hosts joined as workers. A 3-replica busybox httpd service on an attachable
 * overlay puts one task on every node, the gateway's included, and
 * `docker run --network <overlay>` *through the gateway* lands on the
 * gateway's node with a cluster address: from it the service name resolves to
 * the VIP, requests to the VIP are answered by tasks on all three hosts,
 * `tasks.<service>` lists three addresses; a task on another host reaches it by
 * name. `docker network connect/disconnect` and `docker rm` through the
 * gateway take and give back attachments as Swarm does.
 *
 * Hosts: testbedHosts(3) (STEVEDORE_TESTBED_HOSTS=tb21,tb22,tb23 picks them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answers, DOCKER, E2eCluster, onHost, run } from '../support/e2e-cluster.js';
import { testbedHosts, type TestbedHost } from '../support/testbed.js';

const WEB = 'gwnweb';
const NETWORK = 'gwn-net';
const SUBNET_PREFIX = '10.231.9.';
const CONTAINER = 'gwnc';
const PLAIN = 'gwnplain';
const picked = testbedHosts(3);
const hosts = [picked[0], picked[1], picked[2]] as [TestbedHost, TestbedHost, TestbedHost];
let cluster: E2eCluster;

interface TaskOnHost {
  readonly host: TestbedHost;
  readonly container: string;
  readonly ip: string;
}

async function tasksOnHosts(service: string): Promise<TaskOnHost[]> {
  const out: TaskOnHost[] = [];
  for (const h of hosts) {
    const ids = (await onHost(h, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])).split('\n').filter(Boolean);
    for (const id of ids) out.push({ host: h, container: id, ip: await ipOn(h, id) });
  }
  return out;
}

/** The container's address on the overlay, as its host's engine has it ('' when it is not on it). */
async function ipOn(h: TestbedHost, container: string): Promise<string> {
  const r = await run(DOCKER, ['-H', h.dockerHost, 'inspect', '-f', `{{with index .NetworkSettings.Networks "${NETWORK}"}}{{.IPAddress}}{{end}}`, container]);
  return r.stdout.trim();
}

describe('the gateway\'s own node on overlays (gateway in its engine\'s network namespace)', () => {
  before(async () => {
    cluster = await E2eCluster.start({ prefix: 'stv-e2e-gwn-', first: hosts[0], workers: [hosts[1], hosts[2]], gatewayOnFirst: true });
  });

  after(async () => {
    for (const h of hosts) for (const c of [CONTAINER, PLAIN]) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', c]);
    await cluster?.docker(['service', 'rm', WEB]);
    // Leaving the swarm takes every node's tasks and overlays with it, the gateway's node's too.
    await cluster?.stop(hosts);
    for (const h of hosts) {
      const left = (await run(DOCKER, ['-H', h.dockerHost, 'ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${WEB}`])).stdout.trim();
      for (const id of left.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', id]);
    }
  });

  it('a 3-replica service on an attachable overlay: one task per node, the gateway\'s node\'s on the overlay too', async () => {
    await cluster.ok(['network', 'create', '-d', 'overlay', '--attachable', '--subnet', `${SUBNET_PREFIX}0/24`, NETWORK]);
    await cluster.ok([
      'service', 'create', '--detach', '--name', WEB, '--network', NETWORK, '--replicas', '3', '--replicas-max-per-node', '1',
      'busybox', 'sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www',
    ]);
    await cluster.eventually('three web tasks, one per host, each with a cluster address', async () => {
      const t = await tasksOnHosts(WEB);
      return t.length === 3 && hosts.every((h) => t.some((x) => x.host === h)) && t.every((x) => x.ip.startsWith(SUBNET_PREFIX));
    });
  });

  it('docker run --network <overlay> through the gateway: a cluster address on the gateway\'s node, the service by name and VIP on all hosts, tasks.<service>', async (t) => {
    const started = Date.now();
    await cluster.ok(['run', '-d', '--name', CONTAINER, '--network', NETWORK, 'busybox', 'sh', '-c', 'mkdir -p /www && echo standalone > /www/index.html && exec httpd -f -p 8080 -h /www']);
    t.diagnostic(`docker run -d through the gateway: ${Date.now() - started} ms`);
    const ip = await ipOn(hosts[0], CONTAINER);
    assert.ok(ip.startsWith(SUBNET_PREFIX), `the container (on ${hosts[0].name}, the gateway's node) has the cluster's address: ${JSON.stringify(ip)}`);
    assert.equal((await cluster.ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, CONTAINER])).trim(), ip);
    const netId = (await cluster.ok(['network', 'inspect', '-f', '{{.Id}}', NETWORK])).trim();
    await cluster.eventually('the attachment is among the network\'s addresses', async () => (await cluster.addressesOn(netId)).includes(ip), 15_000);
    const tasks = await tasksOnHosts(WEB);
    for (const x of tasks) assert.notEqual(x.ip, ip, 'no address twice');
    const vip = await cluster.vipOf(WEB, NETWORK);
    assert.deepEqual(answers((await cluster.docker(['exec', CONTAINER, 'nslookup', WEB])).stdout), [vip]);
    assert.deepEqual(answers((await cluster.docker(['exec', CONTAINER, 'nslookup', `tasks.${WEB}`])).stdout), tasks.map((x) => x.ip).sort());
    const hostOf = new Map(tasks.map((x) => [x.container.slice(0, 12), x.host.name]));
    let answered: string[] = [];
    await cluster.eventually('requests to the VIP answered by tasks on all three hosts', async () => {
      const out = (await cluster.docker(['exec', CONTAINER, 'sh', '-c', `for i in $(seq 24); do echo "R:$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${vip} 80 | tail -n 1)"; done`])).stdout;
      answered = out.split('\n').filter((l) => l.startsWith('R:')).map((l) => l.slice(2).trim());
      return answered.length === 24 && answered.every((a) => hostOf.has(a)) && new Set(answered.map((a) => hostOf.get(a))).size === 3;
    }, 30_000);
    t.diagnostic(`VIP ${vip} from the gateway's node: ${[...new Set(answered)].map((a) => `${hostOf.get(a)}=${answered.filter((x) => x === a).length}`).join(' ')}`);
  });

  it('a task on another host resolves the container\'s name and reaches it over TCP', async () => {
    const ip = await ipOn(hosts[0], CONTAINER);
    const remote = (await tasksOnHosts(WEB)).find((x) => x.host === hosts[2]);
    assert.ok(remote);
    await cluster.eventually('the container\'s name resolves from a task on another host', async () => {
      const r = await run(DOCKER, ['-H', remote.host.dockerHost, 'exec', remote.container, 'nslookup', CONTAINER]);
      return answers(r.stdout).join() === ip;
    }, 20_000);
    const body = await onHost(remote.host, ['exec', remote.container, 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${CONTAINER} 8080 | tail -n 1`]);
    assert.equal(body.trim(), 'standalone');
  });

  it('docker network connect / disconnect through the gateway take and give back a cluster address', async () => {
    await cluster.ok(['run', '-d', '--name', PLAIN, 'busybox', 'sleep', '3600']);
    await cluster.ok(['network', 'connect', '--alias', 'plainalias', NETWORK, PLAIN]);
    const ip = await ipOn(hosts[0], PLAIN);
    assert.ok(ip.startsWith(SUBNET_PREFIX), `connected with the cluster's address: ${JSON.stringify(ip)}`);
    const netId = (await cluster.ok(['network', 'inspect', '-f', '{{.Id}}', NETWORK])).trim();
    await cluster.eventually('the connect\'s attachment is among the network\'s addresses', async () => (await cluster.addressesOn(netId)).includes(ip), 15_000);
    await cluster.eventually('its name resolves on the overlay', async () => answers((await cluster.docker(['exec', CONTAINER, 'nslookup', PLAIN])).stdout).join() === ip, 20_000);
    await cluster.ok(['network', 'disconnect', NETWORK, PLAIN]);
    assert.equal(await ipOn(hosts[0], PLAIN), '');
    await cluster.eventually('the attachment is given back', async () => !(await cluster.addressesOn(netId)).includes(ip), 15_000);
  });

  it('docker rm -f through the gateway gives the attachment back', async () => {
    const ip = await ipOn(hosts[0], CONTAINER);
    const netId = (await cluster.ok(['network', 'inspect', '-f', '{{.Id}}', NETWORK])).trim();
    await cluster.ok(['rm', '-f', CONTAINER]);
    await cluster.eventually('the attachment and its address are gone', async () => !(await cluster.addressesOn(netId)).includes(ip), 15_000);
  });

  it('bad input still gets Docker\'s answer: an unknown network, a duplicate name', async () => {
    const r = await cluster.docker(['run', '--rm', '--network', 'gwn-no-such-net', 'busybox', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /network gwn-no-such-net not found/);
    const dup = await cluster.docker(['run', '-d', '--name', PLAIN, '--network', NETWORK, 'busybox', 'true']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /Conflict\. The container name "\/gwnplain" is already in use/);
    assert.equal((await cluster.docker(['version', '--format', '{{.Server.Version}}'])).code, 0, 'the gateway keeps serving');
  });
});
