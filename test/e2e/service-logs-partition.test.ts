/**
 * `docker service logs -f` when a host drops off the network (its link goes
 * down: no reset ever reaches the gateway, the stream from its agent just goes
 * quiet): once the dispatcher marks the node down, the follow prints a warning
 * naming it and goes on with the other hosts' lines; the stream stays open.
 * The real docker CLI through a real TLS gateway (its engine: the first test
 * host), agents on the two others.
 *
 * Hosts: testbedHosts(3) (STEVEDORE_TESTBED_HOSTS=tb21,tb22,tb23 picks them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { DOCKER, E2eCluster, run } from '../support/e2e-cluster.js';
import { testbedHosts, type TestbedHost } from '../support/testbed.js';

const SVC = 'slpticker';
const picked = testbedHosts(3);
const hosts = [picked[0], picked[1], picked[2]] as [TestbedHost, TestbedHost, TestbedHost];
const lost = hosts[2];
let cluster: E2eCluster;

const link = (state: 'up' | 'down') => run('ip', ['-n', lost.namespace, 'link', 'set', 'eth0', state]);

describe('docker service logs -f across a partition', () => {
  before(async () => {
    cluster = await E2eCluster.start({ prefix: 'stv-e2e-slp-', first: hosts[0], workers: [hosts[1], hosts[2]] });
  });

  after(async () => {
    await link('up');
    await cluster?.docker(['service', 'rm', SVC]);
    await cluster?.stop(hosts);
    for (const h of hosts) {
      const left = (await run(DOCKER, ['-H', h.dockerHost, 'ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${SVC}`])).stdout.trim();
      for (const id of left.split('\n').filter(Boolean)) await run(DOCKER, ['-H', h.dockerHost, 'rm', '-f', id]);
    }
  });

  it('lines from every node; the partitioned node gets a warning once it is down, the others go on, the stream stays open', async () => {
    await cluster.ok(['service', 'create', '--detach', '--name', SVC, '--replicas', '3', '--replicas-max-per-node', '1', 'busybox', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done']);
    await cluster.eventually('three tasks, one per node', async () => {
      const nodes = (await cluster.ok(['service', 'ps', SVC, '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}'])).trim().split('\n');
      return nodes.length === 3 && nodes.every((l) => l.includes('Running')) && new Set(nodes.map((l) => l.split(' ')[0])).size === 3;
    });
    const f = spawn(DOCKER, ['service', 'logs', '-f', '--tail', '1', SVC], { env: { ...process.env, ...cluster.gw.env } });
    let out = '';
    let err = '';
    f.stdout.on('data', (c: Buffer) => (out += c.toString()));
    f.stderr.on('data', (c: Buffer) => (err += c.toString()));
    try {
      const nodesSeen = (text: string) => new Set(text.split('\n').map((l) => /^\S+@(\S+)\s+\| tick/.exec(l)?.[1]).filter(Boolean));
      await cluster.eventually('lines from all three nodes', async () => nodesSeen(out).size === 3, 30_000);
      assert.equal((await link('down')).code, 0);
      await cluster.eventually(`a warning naming ${lost.name}`, async () => new RegExp(`warning: the logs of tasks on node ${lost.name} \\(\\w+\\) are missing: (the )?node is down`).test(out + err), 20_000);
      const mark = out.length;
      await cluster.eventually('lines from the two other nodes go on', async () => {
        const seen = nodesSeen(out.slice(mark));
        return seen.has(hosts[0].name) && seen.has(hosts[1].name);
      }, 20_000);
      assert.equal(f.exitCode, null, 'the stream is still open');
    } finally {
      f.kill();
      await link('up');
    }
    await cluster.eventually(`${lost.name} Ready again`, async () => (await cluster.ok(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'])).includes(`${lost.name} Ready`), 30_000);
  });
});
