import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ATTACHMENT_LABEL, ATTACHMENT_NETWORK_LABEL, attachmentRoute, attachmentTarget, connectAliases, rewriteConnect, rewriteCreate } from './attachment-plan.js';

test('attachmentTarget: the user-named network of a create, never the built-in modes', () => {
  assert.deepEqual(attachmentTarget({ HostConfig: { NetworkMode: 'ov' }, NetworkingConfig: { EndpointsConfig: { ov: { Aliases: ['db', ''] } } } }), { network: 'ov', aliases: ['db'] });
  assert.deepEqual(attachmentTarget({ HostConfig: { NetworkMode: 'ov' } }), { network: 'ov', aliases: [] });
  for (const mode of ['', 'default', 'bridge', 'host', 'none', 'container:abc']) assert.equal(attachmentTarget({ HostConfig: { NetworkMode: mode } }), undefined, mode);
  assert.equal(attachmentTarget({}), undefined);
  assert.equal(attachmentTarget('nonsense'), undefined);
  // An older client naming the network only in EndpointsConfig.
  assert.deepEqual(attachmentTarget({ HostConfig: { NetworkMode: 'default' }, NetworkingConfig: { EndpointsConfig: { ov: {} } } }), { network: 'ov', aliases: [] });
});

test('rewriteCreate: the host\'s overlay network at the allocator\'s address, our DNS, the attachment label; the rest kept', () => {
  const body = {
    Image: 'busybox',
    Labels: { a: 'b' },
    HostConfig: { NetworkMode: 'ov', Memory: 5 },
    NetworkingConfig: { EndpointsConfig: { ov: { Aliases: ['db'], IPAMConfig: { IPv6Address: '' } } } },
  };
  const out = rewriteCreate(body, { network: 'ov', aliases: ['db'] }, { attachmentId: 'att1', networkId: 'net1', dockerNetwork: 'ov', address: '10.0.1.7', nameservers: ['10.0.1.1'] });
  assert.deepEqual(out, {
    Image: 'busybox',
    Labels: { a: 'b', [ATTACHMENT_LABEL]: 'att1', [ATTACHMENT_NETWORK_LABEL]: 'net1' },
    HostConfig: { NetworkMode: 'ov', Memory: 5, Dns: ['10.0.1.1'] },
    NetworkingConfig: { EndpointsConfig: { ov: { Aliases: ['db'], IPAMConfig: { IPv6Address: '', IPv4Address: '10.0.1.7' } } } },
  });
  // Named by id: the endpoint moves to the host's network name. The user's own DNS servers stay.
  const byId = rewriteCreate({ HostConfig: { NetworkMode: 'abc123', Dns: ['9.9.9.9'] } }, { network: 'abc123', aliases: [] }, { attachmentId: 'a', networkId: 'abc123', dockerNetwork: 'ov', address: '10.0.1.8', nameservers: ['10.0.1.1'] });
  assert.deepEqual(byId['HostConfig'], { NetworkMode: 'ov', Dns: ['9.9.9.9'] });
  assert.deepEqual(byId['NetworkingConfig'], { EndpointsConfig: { ov: { IPAMConfig: { IPv4Address: '10.0.1.8' } } } });
});

test('rewriteConnect and connectAliases', () => {
  const body = { Container: 'c1', EndpointConfig: { Aliases: ['x'] } };
  assert.deepEqual(rewriteConnect(body, '10.0.1.9'), { Container: 'c1', EndpointConfig: { Aliases: ['x'], IPAMConfig: { IPv4Address: '10.0.1.9' } } });
  assert.deepEqual(connectAliases(body), ['x']);
  assert.deepEqual(connectAliases({ Container: 'c1' }), []);
});

test('attachmentRoute: create, delete, connect, disconnect only', () => {
  assert.deepEqual(attachmentRoute('POST', '/containers/create'), { kind: 'create' });
  assert.deepEqual(attachmentRoute('DELETE', '/containers/abc'), { kind: 'delete', container: 'abc' });
  assert.deepEqual(attachmentRoute('POST', '/networks/ov/connect'), { kind: 'connect', network: 'ov' });
  assert.deepEqual(attachmentRoute('POST', '/networks/ov/disconnect'), { kind: 'disconnect', network: 'ov' });
  assert.equal(attachmentRoute('GET', '/containers/abc/json'), undefined);
  assert.equal(attachmentRoute('POST', '/containers/abc/start'), undefined);
  assert.equal(attachmentRoute('DELETE', '/networks/ov'), undefined);
});
