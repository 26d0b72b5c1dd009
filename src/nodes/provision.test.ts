/**
 * The provisioning flows against a fake host (an SshSession that answers
 * commands from a small model of the host) and a fake cluster: which steps
 * run, what they say, and how failures are named. No network.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterApi, ClusterFacts, ClusterNode } from './cluster.js';
import { managerAddrOf } from './cluster.js';
import { HostPaths } from './host.js';
import { addNode, removeNode, upgradeNode, type ProvisionDeps } from './provision.js';
import type { Release } from './release.js';
import { ConnectFailures, SshConnectError, type ExecResult, type SshConnector, type SshSession, type SshTarget } from './session.js';
import { recordingListener, StepFailure } from './steps.js';

const target: SshTarget = { user: 'root', host: '10.211.0.12', port: 22 };
const checksOk = 'uid=0\nhostname=tb2\nnode=v20.20.2\nnodepath=/usr/bin/node\nengine=ok 20.10.24 api 1.41\nvxlan=ok\niptables=ok\nsupervisor=setsid\nsha256sum=ok\n';
const release: Release = { version: '0.1.0-aaaaaaaaaaaa', sha256: 'a'.repeat(64), files: [{ name: 'stevedore.mjs', data: Buffer.from('bundle'), mode: 0o644 }, { name: 'package.json', data: Buffer.from('{}'), mode: 0o644 }] };

/** A model of one host: its files, whether its supervisor runs, what it was asked. */
class FakeHost {
  readonly files = new Map<string, string>();
  readonly commands: string[] = [];
  readonly uploads: string[] = [];
  running = false;
  stops = 0;
  checks = checksOk;
  joinAnswer: ExecResult | undefined;
  current = '';

  session(): SshSession {
    return {
      target,
      exec: async (command, opts) => {
        this.commands.push(command);
        return this.answer(command, opts?.stdin);
      },
      upload: async (path, data) => {
        this.uploads.push(path);
        this.files.set(path, data.toString());
      },
      close: () => undefined,
    };
  }

  private answer(cmd: string, stdin?: string): ExecResult {
    const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '' });
    if (cmd === 'sh -s' && stdin !== undefined) return ok(this.checks);
    if (cmd.startsWith(`cat ${HostPaths.stateFile}`)) {
      const s = this.files.get(HostPaths.stateFile);
      return s === undefined ? { code: 1, stdout: '', stderr: '' } : ok(s);
    }
    if (cmd.includes('sha256sum')) return ok(`sha=\ncurrent=${this.current}\n`);
    if (cmd === `readlink ${HostPaths.current}`) return ok(this.current === '' ? '' : `${this.current}\n`);
    if (cmd.startsWith('ln -sfn')) {
      this.current = /ln -sfn (\S+)/.exec(cmd)?.[1] ?? '';
      return ok();
    }
    if (cmd.includes(' agent join ')) {
      if (this.joinAnswer) return this.joinAnswer;
      const state = JSON.stringify({ nodeId: 'node2', clusterId: 'cluster1' });
      this.files.set(HostPaths.stateFile, state);
      return ok(`This node joined a swarm as a worker.\n--- state.json ---\n${state}\n`);
    }
    if (cmd.includes(' agent leave ')) {
      this.files.delete(HostPaths.stateFile);
      return ok('Node left the swarm.\n');
    }
    if (cmd.startsWith('rm -f /var/lib/stevedore-agent/node.key')) {
      this.files.delete(HostPaths.stateFile);
      return ok();
    }
    if (cmd.includes('cat /run/stevedore/supervisor.pid') && cmd.includes('echo stopped')) return ok(this.running ? 'running 42\n' : 'stopped\n');
    if (cmd.startsWith('for f in /run/stevedore/supervisor.pid')) {
      this.stops++;
      this.running = false;
      if (!cmd.includes('setsid nohup')) return ok();
    }
    if (cmd.includes('setsid nohup')) {
      const was = this.running;
      this.running = true;
      return ok(`${was ? 'running' : 'started'} agent 43\n`);
    }
    if (cmd.startsWith('echo "node=$(command -v node)"')) return ok('node=/usr/bin/node\nhostname=tb2\n');
    return ok();
  }
}

class FakeCluster implements ClusterApi {
  readonly nodesById = new Map<string, ClusterNode>();
  readonly updates: { id: string; spec: Readonly<Record<string, unknown>> }[] = [];
  readonly removed: { id: string; force: boolean }[] = [];
  facts_: ClusterFacts = { clusterId: 'cluster1', joinTokens: { worker: 'SWMTKN-1-w', manager: 'SWMTKN-1-m' }, managerAddr: '10.211.0.1:2377' };
  /** Polls before a joined node shows ready. */
  readyAfter = 2;

  constructor(private readonly host: FakeHost) {}

  async facts(): Promise<ClusterFacts> {
    return this.facts_;
  }

  async node(id: string): Promise<ClusterNode | undefined> {
    const known = this.nodesById.get(id);
    if (known) return known;
    const state = this.host.files.get(HostPaths.stateFile);
    if (state !== undefined && (JSON.parse(state) as { nodeId: string }).nodeId === id && this.host.running) {
      if (this.readyAfter-- > 0) return undefined;
      const n = node(id, 'ready');
      this.nodesById.set(id, n);
      return n;
    }
    return undefined;
  }

  async nodes(): Promise<readonly ClusterNode[]> {
    return [...this.nodesById.values()];
  }

  async updateNode(id: string, _version: number, spec: Readonly<Record<string, unknown>>): Promise<void> {
    this.updates.push({ id, spec });
  }

  async removeNode(id: string, force: boolean): Promise<void> {
    this.removed.push({ id, force });
    this.nodesById.delete(id);
  }
}

function node(id: string, state: ClusterNode['state'], addr = '10.211.0.12'): ClusterNode {
  return { id, version: 7, hostname: 'tb2', state, addr, role: 'worker', availability: 'active', spec: { Role: 'worker', Availability: 'active', Labels: { keep: 'me' } } };
}

function setup(connect?: SshConnector) {
  const host = new FakeHost();
  const cluster = new FakeCluster(host);
  const listener = recordingListener();
  const deps: ProvisionDeps = {
    cluster,
    connect: connect ?? (async () => host.session()),
    release: async () => release,
    listener,
    sleep: async () => undefined,
  };
  return { host, cluster, listener, deps };
}

const access = { target, privateKeys: ['KEY'] };

describe('node add', () => {
  it('installs, joins on the host, starts the supervisor, waits for Ready and applies labels', async () => {
    const { host, cluster, listener, deps } = setup();
    const r = await addNode({ ...access, labels: { zone: 'a' }, availability: 'drain' }, deps);
    assert.equal(r.nodeId, 'node2');
    assert.equal(r.alreadyNode, false);
    assert.equal(r.version, release.version);
    assert.deepEqual(
      listener.events.filter((e) => e.startsWith('start ')),
      ['start 0 swarm', 'start 1 connect', 'start 2 check', 'start 3 membership', 'start 4 install', 'start 5 join', 'start 6 start', 'start 7 ready', 'start 8 apply'],
    );
    assert.deepEqual(host.uploads, [
      '/opt/stevedore/0.1.0-aaaaaaaaaaaa/stevedore.mjs',
      '/opt/stevedore/0.1.0-aaaaaaaaaaaa/package.json',
      '/opt/stevedore/0.1.0-aaaaaaaaaaaa/supervise.sh',
    ]);
    assert.equal(host.current, release.version);
    const join = host.commands.find((c) => c.includes(' agent join '));
    assert.match(join ?? '', /^\/usr\/bin\/node \/opt\/stevedore\/current\/stevedore\.mjs agent join --state-dir \/var\/lib\/stevedore-agent --token SWMTKN-1-w 10\.211\.0\.1:2377 && /);
    assert.equal(host.running, true);
    assert.deepEqual(cluster.updates, [{ id: 'node2', spec: { Role: 'worker', Availability: 'drain', Labels: { keep: 'me', zone: 'a' } } }]);
  });

  it('joins a manager with the manager token', async () => {
    const { host, deps } = setup();
    await addNode({ ...access, role: 'manager' }, deps);
    assert.match(host.commands.find((c) => c.includes(' agent join ')) ?? '', /--token SWMTKN-1-m /);
  });

  it('says so when the host is already a node, and changes nothing', async () => {
    const { host, cluster, listener, deps } = setup();
    host.files.set(HostPaths.stateFile, JSON.stringify({ nodeId: 'node2', clusterId: 'cluster1' }));
    host.running = true;
    host.current = '0.0.9-old';
    cluster.nodesById.set('node2', node('node2', 'ready'));
    const r = await addNode(access, deps);
    assert.equal(r.alreadyNode, true);
    assert.equal(r.nodeId, 'node2');
    assert.deepEqual(host.uploads, []);
    assert.equal(host.commands.some((c) => c.includes(' agent join ')), false);
    assert.ok(listener.events.includes('done 3 already node node2 (tb2, ready)'));
    assert.ok(listener.events.some((e) => /^done 4 skipped already a node; release 0\.0\.9-old kept/.test(e)));
  });

  it('clears the identity of a node the swarm removed, then joins afresh', async () => {
    const { host, deps } = setup();
    host.files.set(HostPaths.stateFile, JSON.stringify({ nodeId: 'gone', clusterId: 'cluster1' }));
    const r = await addNode(access, deps);
    assert.equal(r.nodeId, 'node2');
    assert.ok(host.commands.some((c) => c.startsWith('rm -f /var/lib/stevedore-agent/node.key')));
  });

  it('refuses a host that belongs to another swarm', async () => {
    const { host, deps } = setup();
    host.files.set(HostPaths.stateFile, JSON.stringify({ nodeId: 'x', clusterId: 'other' }));
    await assert.rejects(addNode(access, deps), { kind: 'conflict', message: /^root@10\.211\.0\.12: membership: the host is already node x of another swarm \(cluster other\)/ });
  });

  it('names the host and the connect step when the key is refused, or nobody answers', async () => {
    for (const [failure, kind, text] of [
      [ConnectFailures.auth, 'unauthorized', 'authentication refused for root@10.211.0.12:22 (no offered key was accepted)'],
      [ConnectFailures.unreachable, 'unavailable', 'cannot reach 10.211.0.12:22: ECONNREFUSED'],
    ] as const) {
      const { deps } = setup(async () => {
        throw new SshConnectError(failure, text);
      });
      await assert.rejects(addNode(access, deps), (err: unknown) => {
        assert.ok(err instanceof StepFailure);
        assert.equal(err.kind, kind);
        assert.equal(err.message, `root@10.211.0.12: connect: ${text}`);
        return true;
      });
    }
  });

  it('names what the host lacks', async () => {
    const { host, deps } = setup();
    host.checks = checksOk.replace('vxlan=ok', 'vxlan=Operation not supported');
    await assert.rejects(addNode(access, deps), {
      kind: 'invalidParameter',
      message: 'root@10.211.0.12: check: the host is not ready for an agent: the kernel cannot make vxlan links (overlay networks need them): Operation not supported',
    });
  });

  it('refuses a manager address the host cannot reach, unless one is given', async () => {
    const { cluster, deps } = setup();
    cluster.facts_ = { ...cluster.facts_, managerAddr: '127.0.0.1:2377' };
    await assert.rejects(addNode(access, deps), { message: /^root@10\.211\.0\.12: swarm: the gateway advertises 127\.0\.0\.1:2377, which 10\.211\.0\.12 cannot reach/ });
    const again = setup();
    again.cluster.facts_ = { ...again.cluster.facts_, managerAddr: '127.0.0.1:2377' };
    await addNode({ ...access, manager: '10.211.0.1:2377' }, again.deps);
  });

  it('passes the agent\'s own words on when the join fails', async () => {
    const { host, deps } = setup();
    host.joinAnswer = { code: 1, stdout: '', stderr: 'stevedore: rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster\n' };
    await assert.rejects(addNode(access, deps), {
      kind: 'unavailable',
      message: 'root@10.211.0.12: join: rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster',
    });
  });

  it('gives up on Ready with the state and the agent log', async () => {
    const { cluster, deps } = setup();
    cluster.readyAfter = Number.POSITIVE_INFINITY;
    let now = 0;
    await assert.rejects(addNode({ ...access, readyTimeoutMs: 1000 }, { ...deps, clock: { now: () => (now += 300) } }), {
      kind: 'unavailable',
      message: /^root@10\.211\.0\.12: ready: node node2 is still absent after 1s/,
    });
  });
});

describe('node upgrade', () => {
  it('uploads the release, switches current and restarts the agent', async () => {
    const { host, cluster, listener, deps } = setup();
    host.files.set(HostPaths.stateFile, JSON.stringify({ nodeId: 'node2', clusterId: 'cluster1' }));
    host.current = '0.0.9-old';
    host.running = true;
    cluster.nodesById.set('node2', node('node2', 'ready'));
    const r = await upgradeNode(access, deps);
    assert.equal(r.version, release.version);
    assert.equal(host.current, release.version);
    assert.equal(host.stops, 1, 'stopped');
    assert.equal(host.running, true, 'started again');
    assert.ok(listener.events.some((e) => /^done 3 release 0\.1\.0-aaaaaaaaaaaa \(uploaded .*\), was 0\.0\.9-old/.test(e)));
  });

  it('refuses a host without an agent', async () => {
    const { deps } = setup();
    await assert.rejects(upgradeNode(access, deps), { kind: 'notFound', message: /membership: no agent is installed on the host/ });
  });
});

describe('node remove', () => {
  it('leaves through the agent, stops it, then removes the node', async () => {
    const { host, cluster, deps } = setup();
    host.files.set(HostPaths.stateFile, JSON.stringify({ nodeId: 'node2', clusterId: 'cluster1' }));
    host.running = true;
    cluster.nodesById.set('node2', node('node2', 'down'));
    const r = await removeNode(access, deps);
    assert.equal(r.nodeId, 'node2');
    assert.ok(host.commands.some((c) => c.includes(' agent leave --agent unix:///run/stevedore/agent.sock')));
    assert.equal(host.running, false);
    assert.deepEqual(cluster.removed, [{ id: 'node2', force: false }]);
    assert.ok(!host.commands.some((c) => c.includes(' agent clean-host')), 'the agent cleaned up as it left');
  });

  it('with --force over a dead agent: stops it, then removes what leaving would have (containers, overlays), then purges', async () => {
    const { host, cluster, listener, deps } = setup();
    host.files.set(HostPaths.stateFile, JSON.stringify({ nodeId: 'node2', clusterId: 'cluster1' }));
    cluster.nodesById.set('node2', node('node2', 'down'));
    await removeNode({ ...access, force: true, purge: true }, deps);
    const clean = host.commands.findIndex((c) => c === '/usr/bin/node /opt/stevedore/current/stevedore.mjs agent clean-host --remove-containers --engine unix:///var/run/docker.sock --state-dir /var/lib/stevedore-agent');
    const stop = host.commands.findIndex((c) => c.startsWith('for f in /run/stevedore/supervisor.pid'));
    const purge = host.commands.findIndex((c) => c.startsWith('rm -rf /opt/stevedore/*'));
    assert.ok(stop >= 0 && clean > stop && purge > clean, `stop, clean, purge in order: ${host.commands.join(' | ')}`);
    assert.deepEqual(cluster.removed, [{ id: 'node2', force: true }]);
    assert.ok(listener.events.some((e) => /^done \d+ stopped; \/opt\/stevedore and \/var\/lib\/stevedore-agent emptied/.test(e)), listener.events.join('\n'));
  });

  it('with --force removes an unreachable host\'s node found by its address', async () => {
    const { cluster, listener, deps } = setup(async () => {
      throw new SshConnectError(ConnectFailures.unreachable, 'cannot reach 10.211.0.12:22: EHOSTUNREACH');
    });
    cluster.nodesById.set('node2', node('node2', 'down'));
    await removeNode({ ...access, force: true }, deps);
    assert.deepEqual(cluster.removed, [{ id: 'node2', force: true }]);
    assert.ok(listener.events.some((e) => /^done 0 skipped cannot reach .*--force: removing the node from the swarm only/.test(e)));
  });

  it('without --force an agent that is not running cannot leave', async () => {
    const { host, deps } = setup();
    host.files.set(HostPaths.stateFile, JSON.stringify({ nodeId: 'node2', clusterId: 'cluster1' }));
    await assert.rejects(removeNode(access, deps), { kind: 'unavailable', message: /^root@10\.211\.0\.12: leave: the agent is not running/ });
  });
});

describe('managerAddrOf', () => {
  it('takes the first remote manager, else the node address on 2377', () => {
    assert.equal(managerAddrOf({ Swarm: { RemoteManagers: [{ Addr: '10.0.0.1:2377' }] } }), '10.0.0.1:2377');
    assert.equal(managerAddrOf({ Swarm: { NodeAddr: '10.0.0.2', RemoteManagers: null } }), '10.0.0.2:2377');
    assert.equal(managerAddrOf({}), undefined);
  });
});
