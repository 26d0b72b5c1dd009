import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { createApp } from '../../src/api/docker/app.js';
import { assertMatchesDefinition } from '../support/schema.js';
import { ensureImage, inProcessContext, testEngine } from '../support/gateway.js';

/**
 * The image endpoints through the facade, against the test engine: test bed
 * host tb1 (whose engine mirrors the test bed's registry, so busybox pulls),
 * or STEVEDORE_TEST_ENGINE (the development engine has busybox but no registry).
 */
const { ctx, engine, close } = inProcessContext();
const app = createApp(ctx);
const suffix = randomBytes(4).toString('hex');
const repo = `localhost:5000/stvres-${suffix}/nested/busybox`;

/** Splits a JSON progress stream (pull, push, load, build) into its messages. */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function binaryParser(res: request.Response, cb: (err: Error | null, body: unknown) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
  res.on('error', (err: Error) => cb(err, Buffer.alloc(0)));
}

/** Progress streams are newline-delimited JSON, which supertest would parse as one document. */
function textParser(res: request.Response, cb: (err: Error | null, body: unknown) => void): void {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (c: string) => (text += c));
  res.on('end', () => cb(null, text));
}

describe('images API', () => {
  before(async () => {
    await ensureImage(testEngine().url);
  });

  after(async () => {
    for (const tag of ['1', '2', 'loaded']) await request(app).delete(`/v1.47/images/${repo}:${tag}?force=1`);
    close();
  });

  it('lists images in the ImageSummary shape, busybox among them', async () => {
    const res = await request(app).get('/v1.47/images/json');
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.body));
    for (const image of res.body as unknown[]) assertMatchesDefinition(image, 'ImageSummary');
    assert.ok((res.body as { RepoTags: string[] }[]).some((i) => i.RepoTags.includes('busybox:latest')));
  });

  it('filters the list (reference) and refuses malformed filters with 400', async () => {
    const filters = encodeURIComponent(JSON.stringify({ reference: ['busybox'] }));
    const res = await request(app).get(`/v1.47/images/json?filters=${filters}`);
    assert.equal(res.status, 200);
    assert.ok((res.body as { RepoTags: string[] }[]).every((i) => i.RepoTags.some((t) => t.startsWith('busybox'))));
    const bad = await request(app).get('/v1.47/images/json?filters=notjson');
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.message), /invalid filter/);
  });

  it('pulls busybox with the JSON progress stream passed through', async (t) => {
    const info = (await engine.docker.info()) as { RegistryConfig?: { Mirrors?: string[] | null } };
    const res = await request(app).post('/v1.47/images/create?fromImage=busybox&tag=latest').set('X-Registry-Auth', 'e30=').buffer(true).parse(textParser);
    if ((info.RegistryConfig?.Mirrors ?? []).length === 0) {
      // No registry for this engine (the development engine): the failure must
      // still come back in Docker's shape, as a status or in the stream.
      t.diagnostic('the test engine has no registry mirror: checking the shape of a failed pull');
      assert.ok(res.status >= 400 || /"error"/.test(String(res.body)), `${res.status} ${String(res.body)}`);
      return;
    }
    assert.equal(res.status, 200, String(res.body));
    const messages = jsonLines(String(res.body));
    for (const m of messages) assertMatchesDefinition(m, 'CreateImageInfo');
    assert.ok(!messages.some((m) => m['error']), String(res.body));
    assert.match(String(messages[messages.length - 1]?.['status']), /busybox:latest/);
  });

  it('answers distribution inspect from the registry (what service create pins the image with)', async () => {
    const res = await request(app).get('/v1.47/distribution/busybox:latest/json');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertMatchesDefinition(res.body, 'DistributionInspect');
    const body = res.body as { Descriptor: { digest: string }; Platforms: { os: string }[] };
    assert.match(body.Descriptor.digest, /^sha256:[0-9a-f]{64}$/);
    assert.ok(body.Platforms.some((p) => p.os === 'linux'));
    const missing = await request(app).get('/v1.47/distribution/stv-no-such-image-' + suffix + ':latest/json');
    assert.ok(missing.status >= 400, `unknown image answers an error, got ${missing.status}`);
    assert.equal(typeof (missing.body as { message?: unknown }).message, 'string');
  });

  it('refuses a pull without an image and keeps serving', async () => {
    const missing = await request(app).post('/v1.47/images/create');
    assert.equal(missing.status, 400);
    assert.match(String(missing.body.message), /fromImage/);
    const unreachable = await request(app).post('/v1.47/images/create?fromImage=127.0.0.1:1/stvres-nothing&tag=latest').buffer(true).parse(textParser);
    assert.ok(unreachable.status >= 400 || /"error"/.test(String(unreachable.body)), `${unreachable.status} ${String(unreachable.body)}`);
    assert.equal((await request(app).get('/v1.47/images/busybox:latest/json')).status, 200);
  });

  it('tags under a name with slashes, inspects, shows history, removes', async () => {
    const tag = await request(app).post(`/v1.47/images/busybox:latest/tag?repo=${encodeURIComponent(repo)}&tag=1`);
    assert.equal(tag.status, 201, tag.text);

    const inspect = await request(app).get(`/v1.47/images/${repo}:1/json`);
    assert.equal(inspect.status, 200, inspect.text);
    assertMatchesDefinition(inspect.body, 'ImageInspect');
    assert.ok((inspect.body as { RepoTags: string[] }).RepoTags.includes(`${repo}:1`));

    const history = await request(app).get(`/v1.47/images/${repo}:1/history`);
    assert.equal(history.status, 200);
    for (const item of history.body as unknown[]) assertMatchesDefinition(item, 'ImageHistoryResponseItem');

    const rm = await request(app).delete(`/v1.47/images/${repo}:1`);
    assert.equal(rm.status, 200, rm.text);
    for (const item of rm.body as unknown[]) assertMatchesDefinition(item, 'ImageDeleteResponseItem');
    assert.deepEqual(rm.body, [{ Untagged: `${repo}:1` }]);

    const gone = await request(app).get(`/v1.47/images/${repo}:1/json`);
    assert.equal(gone.status, 404);
    assert.match(String(gone.body.message), /No such image/);
  });

  it('refuses bad tags and unknown images in Docker shape, and keeps serving', async () => {
    const upper = await request(app).post('/v1.47/images/busybox:latest/tag?repo=Not/Lower&tag=x');
    assert.equal(upper.status, 400);
    assert.equal(typeof upper.body.message, 'string');
    const noRepo = await request(app).post('/v1.47/images/busybox:latest/tag');
    assert.equal(noRepo.status, 400);
    const unknown = await request(app).delete(`/v1.47/images/stvres-none-${suffix}`);
    assert.equal(unknown.status, 404);
    assert.equal(typeof unknown.body.message, 'string');
    const ok = await request(app).get('/v1.47/images/busybox/json');
    assert.equal(ok.status, 200);
  });

  it('saves an image and loads it back (round trip through streams)', async () => {
    const tag = await request(app).post(`/v1.47/images/busybox:latest/tag?repo=${encodeURIComponent(repo)}&tag=2`);
    assert.equal(tag.status, 201);
    const saved = await request(app).get(`/v1.47/images/${repo}:2/get`).buffer(true).parse(binaryParser);
    assert.equal(saved.status, 200);
    const tarball = saved.body as Buffer;
    assert.ok(tarball.length > 100_000, `a tarball of busybox, got ${tarball.length} bytes`);
    assert.equal(tarball.subarray(257, 262).toString('latin1'), 'ustar');

    const many = await request(app).get(`/v1.47/images/get?names=${encodeURIComponent(`${repo}:2`)}&names=busybox:latest`).buffer(true).parse(binaryParser);
    assert.equal(many.status, 200);
    assert.ok((many.body as Buffer).length > 100_000);

    // Remove the tag, then load it back from the tarball.
    assert.equal((await request(app).delete(`/v1.47/images/${repo}:2`)).status, 200);
    const load = await request(app).post('/v1.47/images/load?quiet=0').set('Content-Type', 'application/x-tar').send(tarball).buffer(true).parse(textParser);
    assert.equal(load.status, 200, String(load.body));
    const messages = jsonLines(String(load.body));
    assert.ok(
      messages.some((m) => String(m['stream'] ?? '').includes(`Loaded image: ${repo}:2`)),
      String(load.body),
    );
    assert.equal((await request(app).get(`/v1.47/images/${repo}:2/json`)).status, 200);
  });

  it('prunes dangling images in the engine shape', async () => {
    const filters = encodeURIComponent(JSON.stringify({ label: [`stvres-never-${suffix}`] }));
    const res = await request(app).post(`/v1.47/images/prune?filters=${filters}`);
    assert.equal(res.status, 200, res.text);
    assert.ok('SpaceReclaimed' in (res.body as object));
  });
});
