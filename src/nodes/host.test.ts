import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentCommand, evaluateChecks, parseKeyValues, pruneReleasesCommand, sh, startCommand, supervisorScript, switchCurrentCommand, systemdUnit } from './host.js';
import { describeTarget, parseSshTarget } from './session.js';

const fit = [
  'uid=0',
  'hostname=tb2',
  'node=v20.20.2',
  'nodepath=/usr/bin/node',
  'engine=ok 20.10.24 api 1.41',
  'vxlan=ok',
  'iptables=ok',
  'supervisor=setsid',
  'sha256sum=ok',
].join('\n');

describe('host checks', () => {
  it('accepts a fit host and keeps its facts', () => {
    const r = evaluateChecks(fit);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.facts, { hostname: 'tb2', nodePath: '/usr/bin/node', nodeVersion: 'v20.20.2', engine: '20.10.24 api 1.41', supervisor: 'setsid' });
  });

  it('names every missing piece', () => {
    const r = evaluateChecks(
      fit
        .replace('node=v20.20.2', 'node=v18.19.0')
        .replace('engine=ok 20.10.24 api 1.41', 'engine=ECONNREFUSED')
        .replace('vxlan=ok', 'vxlan=RTNETLINK answers: Operation not supported')
        .replace('iptables=ok', 'iptables=iptables not found'),
    );
    assert.equal(r.facts, undefined);
    assert.deepEqual(r.problems, [
      'Node.js >= 20 is needed; found v18.19.0',
      'no Docker engine answers at /var/run/docker.sock: ECONNREFUSED',
      'the kernel cannot make vxlan links (overlay networks need them): RTNETLINK answers: Operation not supported',
      'iptables does not work: iptables not found',
    ]);
  });

  it('refuses a host without node, root or a way to supervise', () => {
    const r = evaluateChecks(fit.replace('uid=0', 'uid=1000').replace('node=v20.20.2', 'node=missing').replace('supervisor=setsid', 'supervisor=none'));
    assert.equal(r.facts, undefined);
    assert.equal(r.problems.length, 3);
    assert.match(r.problems[0] ?? '', /must be root \(uid 1000\)/);
    assert.match(r.problems[1] ?? '', /Node\.js >= 20 is needed and none was found/);
    assert.match(r.problems[2] ?? '', /neither systemd nor setsid/);
  });

  it('parses key=value lines, values may contain =', () => {
    assert.deepEqual([...parseKeyValues('a=1\nnoise\nb=x=y\n')], [['a', '1'], ['b', 'x=y']]);
  });
});

describe('shell text', () => {
  it('quotes only what needs it', () => {
    assert.equal(sh('/usr/bin/node'), '/usr/bin/node');
    assert.equal(sh('10.0.0.1:2377'), '10.0.0.1:2377');
    assert.equal(sh("it's"), `'it'\\''s'`);
    assert.equal(sh('a b'), "'a b'");
  });

  it('runs the agent from current with the host paths', () => {
    assert.equal(
      agentCommand('/usr/bin/node'),
      // The TCP endpoint is how the gateway reaches this host's engine (service logs, exec on its tasks).
      '/usr/bin/node /opt/stevedore/current/stevedore.mjs agent --engine unix:///var/run/docker.sock --state-dir /var/lib/stevedore-agent --listen-docker unix:///run/stevedore/agent.sock --listen-docker-tcp 0.0.0.0:2378',
    );
    assert.match(systemdUnit('/usr/bin/node'), /^ExecStart=\/usr\/bin\/node \/opt\/stevedore\/current\/stevedore\.mjs agent /m);
    assert.match(systemdUnit('/usr/bin/node'), /^Restart=always$/m);
    assert.match(systemdUnit('/usr/bin/node'), /^KillMode=process$/m);
  });

  it('supervises with pidfiles under /run/stevedore', () => {
    const s = supervisorScript('/usr/bin/node');
    assert.match(s, /^#!\/bin\/sh/);
    assert.match(s, /echo \$\$ >"\$RUN\/supervisor\.pid"/);
    assert.match(s, /echo "\$child" >"\$RUN\/agent\.pid"/);
    assert.match(s, /trap stop TERM INT HUP/);
    assert.match(startCommand('setsid'), /setsid nohup \/bin\/sh \/opt\/stevedore\/current\/supervise\.sh <\/dev\/null >>\/var\/lib\/stevedore-agent\/agent\.log 2>&1 &/);
    assert.match(startCommand('systemd'), /systemctl enable --now stevedore-agent\.service/);
  });

  it('switches current with a rename and prunes all but the kept releases', () => {
    assert.equal(switchCurrentCommand('0.1.0-abc'), 'ln -sfn 0.1.0-abc /opt/stevedore/current.new && mv -Tf /opt/stevedore/current.new /opt/stevedore/current');
    assert.match(pruneReleasesCommand(['0.1.0-b', '0.1.0-a']), /grep -v -x -F -e current -e current\.new -e 0\.1\.0-b -e 0\.1\.0-a \|/);
  });
});

describe('ssh targets', () => {
  it('parses user@host[:port] with root and 22 by default', () => {
    assert.deepEqual(parseSshTarget('root@10.211.0.12'), { user: 'root', host: '10.211.0.12', port: 22 });
    assert.deepEqual(parseSshTarget('admin@h.example:2222'), { user: 'admin', host: 'h.example', port: 2222 });
    assert.deepEqual(parseSshTarget('h', 2200), { user: 'root', host: 'h', port: 2200 });
    assert.deepEqual(parseSshTarget('root@[fd00::1]:22'), { user: 'root', host: 'fd00::1', port: 22 });
    assert.equal(describeTarget({ user: 'root', host: 'fd00::1', port: 2222 }), 'root@[fd00::1]:2222');
    assert.equal(describeTarget({ user: 'root', host: '10.0.0.1', port: 22 }), 'root@10.0.0.1');
  });

  it('refuses what is not a target', () => {
    assert.throws(() => parseSshTarget('root@'), /invalid host/);
    assert.throws(() => parseSshTarget('@h'), /invalid user/);
    assert.throws(() => parseSshTarget('root@h:99999'), /invalid port/);
  });
});
