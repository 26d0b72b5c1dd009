import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecRunner } from './runner.js';

test('a program that exits without reading its input gives its exit code, not an EPIPE that ends the process', async () => {
  // More than a pipe holds, so the write is still pending when the program is gone.
  const input = 'x'.repeat(4 * 1024 * 1024);
  const r = await new ExecRunner().run('sh', ['-c', 'echo gone >&2; exit 3'], { input });
  assert.equal(r.code, 3);
  assert.equal(r.stderr, 'gone\n');
});

test('input reaches a program that reads it', async () => {
  const r = await new ExecRunner().run('wc', ['-c'], { input: 'abc' });
  assert.equal(r.stdout.trim(), '3');
});
