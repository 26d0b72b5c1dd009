import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainHostFilesError, noHostFiles } from './container-config.js';

describe('explainHostFilesError', () => {
  const files = { secrets: { s1: '/var/lib/stevedore-agent/run/files/t1/secret-s1' }, configs: { c1: '/var/lib/stevedore-agent/run/files/t1/config-c1' } };

  it('says why when the engine cannot see one of our files (another mount namespace)', () => {
    const engine = 'invalid mount config for type "bind": bind source path does not exist: /var/lib/stevedore-agent/run/files/t1/config-c1';
    assert.equal(
      explainHostFilesError(engine, files),
      `${engine} (the engine cannot see the agent's secrets and configs tmpfs: the agent and the engine must share one mount namespace)`,
    );
  });

  it("leaves other errors, and a user's own missing bind source, as the engine said them", () => {
    const userBind = 'invalid mount config for type "bind": bind source path does not exist: /srv/data';
    assert.equal(explainHostFilesError(userBind, files), userBind);
    assert.equal(explainHostFilesError('No such image: busybox:nope', files), 'No such image: busybox:nope');
    assert.equal(explainHostFilesError(userBind, noHostFiles), userBind);
  });
});
