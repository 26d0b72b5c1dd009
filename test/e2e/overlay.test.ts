/**
 * Overlay networks across hosts, end to end with the real docker CLI: a
 * gateway whose engine is the first test host, and `stevedore agent`
 * processes on three test hosts (in their network namespaces, against their
 * engines) joined as workers. `docker network create -d overlay` and a
 * 3-replica service, one task per host: the agents build the VXLAN overlay
 * (src/agent/network) from the manager's network assignments, each task's
 * container sits at the address the allocator gave it, with the MTU lowered
 * by 50, and a task on host 1 reaches the task on host 3 over TCP with
 * full-size packets. An agent restart re-adopts the overlay (same Docker
 * network, containers untouched); a host whose last task leaves loses the
 * overlay; removing the service leaves nothing on any host.
 *
 * Hosts: testbedHosts(3) (STEVEDORE_TESTBED_HOSTS=tb6,tb7,tb8 picks them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DOCKER, E2eCluster, inNetns, onHost, run, wireguardInterfaceOf } from '../support/e2e-cluster.js';
import { testbedHosts, type TestbedHost } from '../support/testbed.js';

const SERVICE = 'e2eov';
const NETWORK = 'e2eov-net';
const ENC = 'e2eov-enc';
const KiB64 = 65536;
const picked = testbedHosts(3);
const hosts = [picked[0], picked[1], picked[2]] as [TestbedHost, TestbedHost, TestbedHost];
let c: E2eCluster;
const wgOf = wireguardInterfaceOf;

interface TaskOnHost {
  readonly host: TestbedHost;
  readonly container: string;
  readonly taskId: string;
  readonly ip: string;
}

/** The service's running task containers, per host, from the hosts' own engines. */
async function tasksOnHosts(service = SERVICE, network = NETWORK): Promise<TaskOnHost[]> {
  const out: TaskOnHost[] = [];
  for (const h of hosts) {
    const ids = (await onHost(h, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])).split('\n').filter(Boolean);
    for (const id of ids) {
      const [taskId = '', ip = ''] = (await onHost(h, ['inspect', '-f', `{{index .Config.Labels "com.docker.swarm.task.id"}} {{(index .NetworkSettings.Networks "${network}").IPAddress}}`, id])).trim().split(' ');
      out.push({ host: h, container: id, taskId, ip });
    }
  }
  return out;
}

/** What of the overlay with this VNI is on the host: its links and its Docker network. */
async function overlayOn(h: TestbedHost, vni: number): Promise<string[]> {
  const found: string[] = [];
  const links = await inNetns(h, ['ip', '-o', 'link', 'show']);
  for (const name of [`stv-${vni}`, `stvx-${vni}`]) if (links.includes(` ${name}:`) || links.includes(` ${name}@`)) found.push(name);
  const nets = (await onHost(h, ['network', 'ls', '--filter', `label=io.stevedore.overlay.vni=${vni}`, '--format', '{{.Name}}'])).trim();
  if (nets) found.push(`docker network ${nets}`);
  return found;
}

const execIn = (t: TaskOnHost, script: string) => onHost(t.host, ['exec', t.container, 'sh', '-c', script]);

/** 64 KiB of random bytes from `from` to `to` over TCP (nc), arriving whole: same size, same md5. */
async function send64KiB(from: TaskOnHost, to: TaskOnHost): Promise<void> {
    await execIn(from, `head -c ${KiB64} /dev/urandom > /tmp/payload`);
    const sent = (await execIn(from, 'md5sum /tmp/payload')).split(' ')[0];
    await onHost(to.host, ['exec', '-d', to.container, 'sh', '-c', 'sleep 600 | nc -l -p 7000 > /tmp/received']);
    let connected = false;
    for (let i = 0; i < 30 && !connected; i++) {
      const r = await run(DOCKER, ['-H', from.host.dockerHost, 'exec', from.container, 'sh', '-c', `nc ${to.ip} 7000 < /tmp/payload`]);
      if (r.code === 0) connected = true;
      else await new Promise((r2) => setTimeout(r2, 300));
    }
    assert.ok(connected, 'nc connected');
    let got = '';
    for (let i = 0; i < 50; i++) {
      got = await execIn(to, 'wc -c < /tmp/received; md5sum /tmp/received');
      if (got.trim().startsWith(String(KiB64))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(got.split('\n')[0]?.trim(), String(KiB64));
    assert.equal(got.split('\n')[1]?.split(' ')[0], sent);
}

describe('overlay networks across three hosts', () => {
  let vni = 0;
  let encVni = 0;

  before(async () => {
    c = await E2eCluster.start({ prefix: 'stv-e2e-ov-', first: hosts[0], workers: hosts });
  });

  after(async () => {
    await c?.docker(['service', 'rm', SERVICE]);
    await c?.docker(['service', 'rm', ENC]);
    await c?.stop(hosts);
    for (const h of hosts) {
      for (const svc of [SERVICE, ENC]) {
        const left = (await run(DOCKER, ['-H', h.dockerHost, 'ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${svc}`])).stdout.trim();
        for (const id of left.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', id]);
      }
      const nets = (await run(DOCKER, ['-H', h.dockerHost, 'network', 'ls', '-q', '--filter', 'label=io.stevedore.overlay.vni'])).stdout.trim();
      for (const id of nets.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'network', 'rm', id]);
      for (const v of [vni, encVni].filter((x) => x > 0)) for (const l of [`stvx-${v}`, `stv-${v}`]) await run('nsenter', [`--net=/var/run/netns/${h.namespace}`, '--', 'ip', 'link', 'del', l]);
      // wireguard-go exits when its interface goes.
      await run('nsenter', [`--net=/var/run/netns/${h.namespace}`, '--', 'ip', 'link', 'del', wgOf(h)]);
    }
  });

  it('a 3-replica service on an overlay gets one task per host, each at the allocator\'s address with MTU 1450', async () => {
    await c.ok(['network', 'create', '-d', 'overlay', '--subnet', '10.231.0.0/24', NETWORK]);
    await c.ok([
      'service', 'create', '--detach', '--name', SERVICE, '--network', NETWORK, '--replicas', '3',
      '--constraint', 'node.role==worker', '--replicas-max-per-node', '1',
      'busybox', 'httpd', '-f', '-p', '80',
    ]);
    await c.eventually('three tasks running, one per host', async () => {
      const t = await tasksOnHosts();
      return t.length === 3 && new Set(t.map((x) => x.host.name)).size === 3;
    });
    const tasks = await tasksOnHosts();
    for (const t of tasks) {
      // The address the allocator wrote on the task is the container's.
      const attachments = JSON.parse(await c.ok(['inspect', '--type', 'task', '--format', '{{json .NetworksAttachments}}', t.taskId])) as { Addresses: string[] }[];
      const addrs = attachments.flatMap((a) => a.Addresses);
      assert.ok(addrs.includes(`${t.ip}/24`), `task ${t.taskId} on ${t.host.name}: container ${t.ip}, allocator ${addrs.join(',')}`);
      assert.match(t.ip, /^10\.231\.0\./);
      assert.equal((await execIn(t, 'cat /sys/class/net/eth0/mtu')).trim(), '1450');
    }
    const label = (await onHost(hosts[0], ['network', 'inspect', '-f', '{{index .Labels "io.stevedore.overlay.vni"}} {{index .Labels "io.stevedore.overlay.mode"}}', NETWORK])).trim().split(' ');
    vni = Number(label[0]);
    assert.ok(vni >= 4096, `vni ${label[0]}`);
    assert.equal(label[1], 'vxlan');
    for (const h of hosts) assert.deepEqual(await overlayOn(h, vni), [`stv-${vni}`, `stvx-${vni}`, `docker network ${NETWORK}`], h.name);
  });

  it('the task on host 1 reaches the task on host 3 by IP over TCP: full-size frames and 64 KiB intact', async () => {
    const tasks = await tasksOnHosts();
    const t1 = tasks.find((t) => t.host === hosts[0]);
    const t3 = tasks.find((t) => t.host === hosts[2]);
    assert.ok(t1 && t3);
    // The largest ICMP payload that fits a 1450 MTU unfragmented.
    assert.match(await execIn(t1, `ping -c 3 -W 5 -s 1422 ${t3.ip}`), /3 packets received/);
    // httpd answers across hosts (busybox's wget segfaults here: plain nc).
    assert.match(await execIn(t1, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${t3.ip} 80`), /^HTTP\/1\.[01] \d{3}/);
    // 64 KiB over TCP; the listener's stdin stays open (busybox nc ends when its stdin does).
    await send64KiB(t1, t3);
  });

  it('an agent restart re-adopts the overlay: same Docker network, container untouched, still reachable', async () => {
    const h2 = hosts[1];
    const netBefore = (await onHost(h2, ['network', 'inspect', '-f', '{{.Id}}', NETWORK])).trim();
    const before2 = (await tasksOnHosts()).find((t) => t.host === h2);
    assert.ok(before2);
    await c.stopAgent(h2.name);
    await c.startAgentOn(h2);
    await c.eventually(`${h2.name} ready again`, async () => (await c.readyWorkers()) === 3, 30_000);
    // Give the agent its full assignment set and time to act on it.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await onHost(h2, ['network', 'inspect', '-f', '{{.Id}}', NETWORK])).trim(), netBefore);
    const after2 = (await tasksOnHosts()).find((t) => t.host === h2);
    assert.equal(after2?.container, before2.container);
    const t1 = (await tasksOnHosts()).find((t) => t.host === hosts[0]);
    assert.ok(t1);
    assert.match(await execIn(t1, `ping -c 2 -W 5 -s 1422 ${before2.ip}`), /2 packets received/);
  });

  it('a host whose last task leaves loses the overlay; the others keep it; removing the service leaves nothing', async () => {
    await c.ok(['service', 'scale', '--detach', `${SERVICE}=2`]);
    await c.eventually('two tasks', async () => (await tasksOnHosts()).length === 2);
    const tasks = await tasksOnHosts();
    const gone = hosts.find((h) => !tasks.some((t) => t.host === h));
    assert.ok(gone);
    await c.eventually(`overlay gone from ${gone.name}`, async () => (await overlayOn(gone, vni)).length === 0, 30_000);
    for (const t of tasks) assert.equal((await overlayOn(t.host, vni)).length, 3, t.host.name);
    // The two remaining tasks still reach each other.
    const [a, b] = tasks;
    assert.ok(a && b);
    assert.match(await execIn(a, `ping -c 2 -W 5 ${b.ip}`), /2 packets received/);

    await c.ok(['service', 'rm', SERVICE]);
    for (const h of hosts) await c.eventually(`overlay gone from ${h.name}`, async () => (await overlayOn(h, vni)).length === 0, 60_000);
    await c.ok(['network', 'rm', NETWORK]);
  });
  it('--opt encrypted: VXLAN over WireGuard (wireguard-go), MTU 1390, 64 KiB from host 1 to host 3; the tunnel goes with the last encrypted network', async () => {
    await c.ok(['network', 'create', '-d', 'overlay', '--opt', 'encrypted', '--subnet', '10.231.1.0/24', ENC]);
    await c.ok([
      'service', 'create', '--detach', '--name', ENC, '--network', ENC, '--replicas', '3',
      '--constraint', 'node.role==worker', '--replicas-max-per-node', '1',
      'busybox', 'httpd', '-f', '-p', '80',
    ]);
    await c.eventually('three encrypted tasks running, one per host', async () => {
      const t = await tasksOnHosts(ENC, ENC);
      return t.length === 3 && new Set(t.map((x) => x.host.name)).size === 3;
    });
    const tasks = await tasksOnHosts(ENC, ENC);
    encVni = Number((await onHost(hosts[0], ['network', 'inspect', '-f', '{{index .Labels "io.stevedore.overlay.vni"}}', ENC])).trim());
    for (const h of hosts) {
      const wg = await inNetns(h, ['wg', 'show', wgOf(h), 'peers']);
      assert.equal(wg.trim().split('\n').filter(Boolean).length, 2, `${h.name}: one WireGuard peer per other host`);
    }
    const t1 = tasks.find((t) => t.host === hosts[0]);
    const t3 = tasks.find((t) => t.host === hosts[2]);
    assert.ok(t1 && t3);
    assert.equal((await execIn(t1, 'cat /sys/class/net/eth0/mtu')).trim(), '1390');
    assert.match(await execIn(t1, `ping -c 3 -W 5 -s 1362 ${t3.ip}`), /3 packets received/);
    await send64KiB(t1, t3);

    await c.ok(['service', 'rm', ENC]);
    for (const h of hosts) {
      await c.eventually(`encrypted overlay and tunnel gone from ${h.name}`, async () => {
        const links = await inNetns(h, ['ip', '-o', 'link', 'show']);
        return (await overlayOn(h, encVni)).length === 0 && !links.includes(` ${wgOf(h)}:`);
      }, 60_000);
    }
    await c.ok(['network', 'rm', ENC]);
  });
});
