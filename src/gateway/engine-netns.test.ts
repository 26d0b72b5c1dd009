import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLocalAddress, unixSocketListed } from './engine-netns.js';

// As /proc/net/unix shows it: a header, then one socket per line, the path last when it is bound to one.
const TABLE = `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 21877 /run/docker.sock
0000000000000000: 00000003 00000000 00000000 0001 03 21990
0000000000000000: 00000002 00000000 00010000 0001 01 30112 /run/with space/d.sock
0000000000000000: 00000003 00000000 00000000 0001 03 39307 /run/stevedore-testbed/tb1/docker.sock
`;

test('an engine socket is ours when /proc/net/unix lists its path', () => {
  assert.equal(unixSocketListed(TABLE, new Set(['/var/run/docker.sock', '/run/docker.sock'])), true);
  assert.equal(unixSocketListed(TABLE, new Set(['/run/with space/d.sock'])), true);
  // Another namespace's dockerd: its socket file is visible, and our connection to it is
  // listed under its path (state 03, not listening), but its listening socket is not.
  assert.equal(unixSocketListed(TABLE, new Set(['/run/stevedore-testbed/tb1/docker.sock'])), false);
  assert.equal(unixSocketListed('', new Set(['/run/docker.sock'])), false);
});

test('a TCP engine is ours on loopback or one of our interfaces\' addresses', () => {
  const ours = new Set(['10.211.0.1', 'fe80::1']);
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '10.211.0.1']) assert.equal(isLocalAddress(host, ours), true, host);
  for (const host of ['10.211.0.11', 'example.org']) assert.equal(isLocalAddress(host, ours), false, host);
});
