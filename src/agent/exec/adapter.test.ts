import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine, parseEngineUrl } from '../../engine/index.js';
import { ContainerAdapter } from './adapter.js';

/** An engine endpoint that records the requests it gets and answers a create. */
async function recordingEngine(): Promise<{ url: string; seen: { url: string; body: string }[]; close: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'stv-adapter-'));
  const socket = path.join(dir, 'engine.sock');
  const seen: { url: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', body });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ Id: 'c0ffee', Warnings: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    url: `unix://${socket}`,
    seen,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('create sends the config in the body only: the URL carries the name, never the environment', async () => {
  const e = await recordingEngine();
  const engine = new Engine(parseEngineUrl(e.url));
  try {
    const body = { Image: 'busybox:latest', Env: ['DB_PASSWORD=hunter2'], Labels: { 'com.docker.swarm.task.id': 't1' } };
    assert.equal(await new ContainerAdapter(engine).create('web.1.t1', body), 'c0ffee');
    const [req] = e.seen;
    assert.ok(req);
    assert.match(req.url, /\/containers\/create\?name=web\.1\.t1$/);
    assert.doesNotMatch(req.url, /hunter2|Env|Image/);
    assert.deepEqual(JSON.parse(req.body), body);
  } finally {
    engine.close();
    await e.close();
  }
});
