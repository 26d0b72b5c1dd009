import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp } from '../../src/api/docker/app.js';
import { createDockerApiServer } from '../../src/api/docker/server.js';
import { assertMatchesDefinition } from '../support/schema.js';
import { ensureImage, inProcessContext, testEngine } from '../support/gateway.js';

const engine = testEngine();
const { ctx, close } = inProcessContext(engine.url);
const app = createApp(ctx);
const prefix = `stvgw-it-${process.pid}`;
const created: string[] = [];

/** The gateway keeps serving after bad input. */
async function stillServes(): Promise<void> {
  const res = await request(app).get('/_ping').expect(200);
  assert.equal(res.text, 'OK');
}

async function createContainer(name: string, body: Record<string, unknown>): Promise<string> {
  const res = await request(app).post(`/v1.47/containers/create?name=${name}`).send(body).expect(201);
  assertMatchesDefinition(res.body, 'ContainerCreateResponse');
  created.push(res.body.Id);
  return res.body.Id as string;
}

before(async () => {
  await ensureImage(engine.url, 'busybox:latest');
});

after(async () => {
  for (const id of created) await request(app).delete(`/v1.47/containers/${id}?force=1&v=1`);
  close();
});

describe('containers: bad input is refused in Docker’s shape and the gateway keeps serving', () => {
  test('invalid names', async () => {
    for (const name of ['x', '-bad', 'has%20space', 'a/b']) {
      const res = await request(app).post(`/v1.47/containers/create?name=${name}`).send({ Image: 'busybox' }).expect(400);
      assert.match(res.body.message, /^Invalid container name \(.+\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed$/);
    }
    await stillServes();
  });

  test('malformed JSON, non-object bodies and oversized bodies', async () => {
    const malformed = await request(app).post('/v1.47/containers/create').set('Content-Type', 'application/json').send('{"Image": busybox}').expect(400);
    assert.match(malformed.body.message, /^invalid JSON in request body: /);
    const noType = await request(app).post('/v1.47/containers/create').send('xyz').expect(400);
    assert.match(noType.body.message, /^invalid JSON in request body: /);
    const array = await request(app).post('/v1.47/containers/create').send([{ Image: 'busybox' }]).expect(400);
    assert.equal(array.body.message, 'config must be a JSON object, got an array');
    const big = await request(app)
      .post('/v1.47/containers/create')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ Image: 'busybox', Env: ['X=' + 'a'.repeat(5 * 1024 * 1024)] }))
      .expect(413);
    assert.match(big.body.message, /too large/);
    await stillServes();
  });

  test('unknown containers and exec instances are 404 with Docker’s message', async () => {
    const missing = `${prefix}-missing`;
    for (const [method, path] of [
      ['get', `/v1.47/containers/${missing}/json`],
      ['post', `/v1.47/containers/${missing}/start`],
      ['post', `/v1.47/containers/${missing}/stop`],
      ['delete', `/v1.47/containers/${missing}`],
      ['get', `/v1.47/containers/${missing}/logs?stdout=1`],
    ] as const) {
      const res = await request(app)[method](path).expect(404);
      assert.equal(res.body.message, `No such container: ${missing}`, path);
    }
    const exec = await request(app).get('/v1.47/exec/0123456789abcdef/json').expect(404);
    assert.match(exec.body.message, /^No such exec instance: 0123456789abcdef/);
    await stillServes();
  });

  test('bad filters', async () => {
    const malformed = await request(app).get('/v1.47/containers/json').query({ filters: '{x' }).expect(400);
    assert.match(malformed.body.message, /^invalid filters: /);
    const unknown = await request(app).get('/v1.47/containers/json').query({ filters: '{"colour":["red"]}' }).expect(400);
    assert.equal(unknown.body.message, "invalid filter 'colour'");
    const value = await request(app).get('/v1.47/containers/json').query({ filters: '{"status":["sleepy"]}' }).expect(400);
    assert.match(value.body.message, /status=sleepy/);
    const prune = await request(app).post('/v1.47/containers/prune').query({ filters: '{"status":["exited"]}' }).expect(400);
    assert.equal(prune.body.message, "invalid filter 'status'");
    await stillServes();
  });

  test('unknown paths', async () => {
    const res = await request(app).post(`/v1.47/containers/${prefix}/frobnicate`).expect(404);
    assert.deepEqual(res.body, { message: 'page not found' });
    await stillServes();
  });
});

describe('containers: lifecycle through the engine', () => {
  const name = `${prefix}-life`;
  let id = '';

  before(async () => {
    id = await createContainer(name, {
      Image: 'busybox',
      Cmd: ['sh', '-c', 'echo out; echo err >&2; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'],
      Labels: { 'test.stevedore': prefix },
    });
  });

  test('create twice with one name is the engine’s 409', async () => {
    const res = await request(app).post(`/v1.47/containers/create?name=${name}`).send({ Image: 'busybox' }).expect(409);
    assert.match(res.body.message, /is already in use/);
  });

  test('start, inspect, list with filters', async () => {
    await request(app).post(`/v1.47/containers/${name}/start`).expect(204);
    const inspect = await request(app).get(`/v1.47/containers/${id.slice(0, 12)}/json`).expect(200);
    assert.equal(inspect.body.Id, id);
    assert.equal(inspect.body.Name, `/${name}`);
    assertMatchesDefinition(inspect.body.State, 'ContainerState');
    assertMatchesDefinition(dropNulls(inspect.body.HostConfig), 'HostConfig');
    assert.equal(inspect.body.State.Running, true);

    const list = await request(app)
      .get('/v1.47/containers/json')
      .query({ filters: JSON.stringify({ label: { [`test.stevedore=${prefix}`]: true } }) })
      .expect(200);
    assert.equal(list.body.length, 1);
    for (const c of list.body) assertMatchesDefinition(dropNulls(c), 'ContainerSummary');
    assert.equal(list.body[0].Id, id);
    const legacy = await request(app).get('/v1.47/containers/json').query({ all: '1', limit: '1', filters: JSON.stringify({ name: [name] }) }).expect(200);
    assert.equal(legacy.body.length, 1);
  });

  test('logs: a snapshot with tail and timestamps, and a live follow', async () => {
    await new Promise((r) => setTimeout(r, 700));
    const snap = await request(app)
      .get(`/v1.47/containers/${name}/logs`)
      .query({ stdout: '1', stderr: '1', timestamps: '1', tail: 'all' })
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200);
    const text = (snap.body as Buffer).toString('latin1');
    assert.match(text, /out/);
    assert.match(text, /err/);
    assert.match(text, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick/);
    // The multiplexed stream: stdout frames start with 1, stderr frames with 2.
    const firstFrame = (snap.body as Buffer)[0];
    assert.ok(firstFrame === 1 || firstFrame === 2);

    const server = http.createServer(app).listen(0, '127.0.0.1');
    try {
      await new Promise((r) => server.once('listening', r));
      const port = (server.address() as AddressInfo).port;
      const ticks = await new Promise<string[]>((resolve, reject) => {
        const seen: string[] = [];
        const req = http.get({ host: '127.0.0.1', port, path: `/v1.47/containers/${name}/logs?stdout=1&follow=1&tail=0` }, (res) => {
          assert.equal(res.statusCode, 200);
          res.on('data', (c: Buffer) => {
            for (const m of c.toString('latin1').matchAll(/tick (\d+)/g)) seen.push(m[1] ?? '');
            if (seen.length >= 3) {
              req.destroy();
              resolve(seen);
            }
          });
        });
        req.on('error', (err) => (seen.length >= 3 ? undefined : reject(err)));
        setTimeout(() => reject(new Error(`follow saw only ${seen.length} lines`)), 10_000).unref();
      });
      // Live lines arrive in order, one after another.
      const n = ticks.map(Number);
      assert.deepEqual(n, [n[0], (n[0] ?? 0) + 1, (n[0] ?? 0) + 2]);
    } finally {
      server.close();
    }
  });

  test('top, stats (one shot), changes, export, resize refusal', async () => {
    const top = await request(app).get(`/v1.47/containers/${name}/top`).expect(200);
    assert.ok(Array.isArray(top.body.Titles) && top.body.Processes.length >= 1);
    const stats = await request(app).get(`/v1.47/containers/${name}/stats`).query({ stream: 'false' }).expect(200);
    assert.equal(typeof stats.body.read, 'string');
    await request(app).get(`/v1.47/containers/${name}/changes`).expect(200);
    const exported = await request(app)
      .get(`/v1.47/containers/${name}/export`)
      .buffer(true)
      .parse((res, cb) => {
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => cb(null, n));
      })
      .expect(200);
    assert.ok((exported.body as number) > 100_000, 'a tar of the busybox root');
  });

  test('archive: PUT a tar, HEAD its stat, GET it back', async () => {
    const tar = tarOf('hello.txt', 'hello from stevedore\n');
    await request(app).put(`/v1.47/containers/${name}/archive`).query({ path: '/tmp' }).set('Content-Type', 'application/x-tar').send(tar).expect(200);
    const head = await request(app).head(`/v1.47/containers/${name}/archive`).query({ path: '/tmp/hello.txt' }).expect(200);
    const stat = JSON.parse(Buffer.from(String(head.headers['x-docker-container-path-stat']), 'base64').toString('utf8'));
    assert.equal(stat.name, 'hello.txt');
    assert.equal(stat.size, 21);
    const got = await request(app)
      .get(`/v1.47/containers/${name}/archive`)
      .query({ path: '/tmp/hello.txt' })
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200);
    assert.match((got.body as Buffer).toString('latin1'), /hello from stevedore/);
    const missing = await request(app).head(`/v1.47/containers/${name}/archive`).query({ path: '/no/such' }).expect(404);
    assert.equal(missing.status, 404);
  });

  test('update, pause/unpause, rename, restart', async () => {
    const upd = await request(app).post(`/v1.47/containers/${name}/update`).send({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } }).expect(200);
    assert.ok(Array.isArray(upd.body.Warnings) || upd.body.Warnings === null);
    await request(app).post(`/v1.47/containers/${name}/pause`).expect(204);
    const paused = await request(app).get(`/v1.47/containers/${name}/json`).expect(200);
    assert.equal(paused.body.State.Status, 'paused');
    await request(app).post(`/v1.47/containers/${name}/unpause`).expect(204);
    await request(app).post(`/v1.47/containers/${name}/rename`).query({ name: `${name}-2` }).expect(204);
    const renamed = await request(app).get(`/v1.47/containers/${name}-2/json`).expect(200);
    assert.equal(renamed.body.Id, id);
    const badRename = await request(app).post(`/v1.47/containers/${name}-2/rename`).query({ name: '!' }).expect(400);
    assert.match(badRename.body.message, /^Invalid container name/);
    await request(app).post(`/v1.47/containers/${name}-2/rename`).query({ name }).expect(204);
    await request(app).post(`/v1.47/containers/${name}/restart`).query({ t: '0' }).expect(204);
  });

  test('wait long-polls until the container stops; kill; remove', async () => {
    const server = http.createServer(app).listen(0, '127.0.0.1');
    try {
      await new Promise((r) => server.once('listening', r));
      const port = (server.address() as AddressInfo).port;
      const waited = new Promise<{ status: number; body: { StatusCode: number } }>((resolve, reject) => {
        const req = http.request({ method: 'POST', host: '127.0.0.1', port, path: `/v1.47/containers/${name}/wait?condition=not-running` }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end();
      });
      await new Promise((r) => setTimeout(r, 1_500)); // the wait is pending meanwhile
      await request(app).post(`/v1.47/containers/${name}/kill`).query({ signal: 'SIGKILL' }).expect(204);
      const w = await waited;
      assert.equal(w.status, 200);
      // Streamed as the engine sends it (headers first, so the CLI can start the
      // container while waiting); 20.10 sends "Error": null where v1.47 omits it.
      assertMatchesDefinition(dropNulls(w.body), 'ContainerWaitResponse');
      assert.equal(w.body.StatusCode, 137);
    } finally {
      server.close();
    }
    const busy = await request(app).post(`/v1.47/containers/${name}/kill`).expect(409);
    assert.match(busy.body.message, /is not running/);
    await request(app).delete(`/v1.47/containers/${name}`).query({ v: '1' }).expect(204);
    await request(app).get(`/v1.47/containers/${id}/json`).expect(404);
  });
});

describe('exec and attach', () => {
  const name = `${prefix}-exec`;
  let base = '';
  let server: http.Server;

  before(async () => {
    await createContainer(name, { Image: 'busybox', Cmd: ['sleep', '600'], OpenStdin: false });
    await request(app).post(`/v1.47/containers/${name}/start`).expect(204);
    server = createDockerApiServer(ctx) as http.Server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('exec create, inspect, start detached', async () => {
    const created = await request(app).post(`/v1.47/containers/${name}/exec`).send({ Cmd: ['touch', '/tmp/detached'] }).expect(201);
    assertMatchesDefinition(created.body, 'IdResponse');
    const inspect = await request(app).get(`/v1.47/exec/${created.body.Id}/json`).expect(200);
    assert.equal(inspect.body.Running, false);
    await request(app).post(`/v1.47/exec/${created.body.Id}/start`).send({ Detach: true }).expect(200);
    const bad = await request(app).post(`/v1.47/containers/${name}/exec`).send('[]').set('Content-Type', 'application/json').expect(400);
    assert.match(bad.body.message, /must be a JSON object/);
  });

  test('exec start hijacked: stdin in, multiplexed output out, exit code', async () => {
    const created = await request(app)
      .post(`/v1.47/containers/${name}/exec`)
      .send({ Cmd: ['sh', '-c', 'cat; echo done >&2; exit 3'], AttachStdin: true, AttachStdout: true, AttachStderr: true })
      .expect(201);
    const id = created.body.Id as string;
    const { head, frames } = await hijack(base, `/v1.47/exec/${id}/start`, JSON.stringify({ Detach: false, Tty: false }), 'piped through\n');
    assert.match(head, /^HTTP\/1\.1 101 UPGRADED\r\n/);
    assert.match(head, /Upgrade: tcp/i);
    assert.deepEqual(frames, [
      [1, 'piped through\n'],
      [2, 'done\n'],
    ]);
    const inspect = await request(app).get(`/v1.47/exec/${id}/json`).expect(200);
    assert.equal(inspect.body.ExitCode, 3);
  });

  test('attach hijacked: docker run’s order (attach, then start) with stdin closed early', async () => {
    const cname = `${prefix}-attach`;
    await createContainer(cname, { Image: 'busybox', Cmd: ['sh', '-c', 'read line; echo got $line'], OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true });
    const attached = hijack(base, `/v1.47/containers/${cname}/attach?stream=1&stdin=1&stdout=1&stderr=1`, '', 'hello\n', async () => {
      await request(app).post(`/v1.47/containers/${cname}/start`).expect(204);
    });
    const { head, frames } = await attached;
    assert.match(head, /^HTTP\/1\.1 101 UPGRADED\r\n/);
    assert.deepEqual(frames, [[1, 'got hello\n']]);
  });

  test('hijack refusals come back as HTTP answers', async () => {
    const missing = await hijack(base, '/v1.47/exec/nope/start', '{}', '');
    assert.match(missing.head, /^HTTP\/1\.1 404 /);
    const unknown = await hijack(base, '/v1.47/containers/x/frobnicate', '', '');
    assert.match(unknown.head, /^HTTP\/1\.1 404 /);
    assert.match(unknown.rest, /page not found/);
    await stillServes();
  });
});

/**
 * A hijacked request on a raw socket, as the docker CLI makes it: send the
 * request, wait for the answer, then write stdin and half-close; read
 * until the server closes. `afterUpgrade` runs once the 101 is in (attach
 * before start).
 */
async function hijack(
  base: string,
  path: string,
  body: string,
  stdin: string,
  afterUpgrade?: () => Promise<void>,
): Promise<{ head: string; frames: Array<[number, string]>; rest: string }> {
  const { createConnection } = await import('node:net');
  const [host, port] = base.split(':');
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: host ?? '127.0.0.1', port: Number(port), allowHalfOpen: true });
    let buf = Buffer.alloc(0);
    let head: string | undefined;
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (head === undefined) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buf.subarray(0, end + 4).toString('latin1');
        buf = buf.subarray(end + 4);
        if (head.startsWith('HTTP/1.1 101')) {
          void (afterUpgrade ?? (async () => undefined))().then(() => {
            if (stdin) sock.write(stdin);
            sock.end();
          }, reject);
        }
      }
    });
    sock.on('end', () => {
      const frames: Array<[number, string]> = [];
      let b = buf;
      if (head?.startsWith('HTTP/1.1 101')) {
        while (b.length >= 8) {
          const size = b.readUInt32BE(4);
          frames.push([b[0] ?? -1, b.subarray(8, 8 + size).toString('utf8')]);
          b = b.subarray(8 + size);
        }
      }
      resolve({ head: head ?? '', frames, rest: buf.toString('utf8') });
      sock.destroy();
    });
    sock.on('error', reject);
    sock.setTimeout(20_000, () => reject(new Error(`hijack of ${path} timed out; head=${head}`)));
    sock.write(
      `POST ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}

/**
 * Engines (20.10 and current ones alike) encode Go's nil slices and pointers
 * as null where the v1.47 document declares arrays and objects; the docker CLI
 * reads both. Drop them before checking a body against the document.
 */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, dropNulls(x)]));
}

/** A one-file tar archive (ustar), enough for PUT /archive. */
function tarOf(name: string, content: string): Buffer {
  const data = Buffer.from(content);
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  header.write(Math.floor(Date.now() / 1000).toString(8).padStart(11, '0') + '\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, pad, Buffer.alloc(1024)]);
}

describe('requests that last', () => {
  const name = `${prefix}-waited`;
  let server: http.Server;
  let port = 0;

  before(async () => {
    await createContainer(name, { Image: 'busybox', Cmd: ['sleep', '600'] });
    await request(app).post(`/v1.47/containers/${name}/start`).expect(204);
    server = createDockerApiServer(ctx) as http.Server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  // Each `docker wait` (or `logs -f`, or an attached compose service) holds a
  // connection to the engine for as long as it lasts; 70 of them once held up
  // every other call to that engine (a pool of 64 sockets).
  test('70 waits in flight do not hold up the other calls to the engine', async () => {
    const waits = Array.from({ length: 70 }, () => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/v1.47/containers/${name}/wait`, agent: false });
      req.on('error', () => undefined);
      req.end();
      return req;
    });
    try {
      await new Promise((r) => setTimeout(r, 500));
      // `docker top` goes through to the engine as the waits do (src/api/docker/passthrough.ts).
      const res = await request(app).get(`/v1.47/containers/${name}/top`).timeout(5_000).expect(200);
      assert.ok(Array.isArray(res.body.Processes) && res.body.Processes.length > 0);
    } finally {
      for (const w of waits) w.destroy();
    }
  });
});
