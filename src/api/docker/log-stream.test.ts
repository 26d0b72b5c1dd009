import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detailsOf, EngineLogReader, formatLine } from './log-stream.js';

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

test('frames and lines straddling chunks come out as whole lines with their timestamps', () => {
  const r = new EngineLogReader(true);
  const all = Buffer.concat([frame(1, '2026-01-01T00:00:00.000000001Z hello\n2026-01-01T00:00:01.000000000Z wo'), frame(1, 'rld\n'), frame(2, '2026-01-01T00:00:02.000000000Z oops\n')]);
  const lines = [...r.push(all.subarray(0, 11)), ...r.push(all.subarray(11, 60)), ...r.push(all.subarray(60)), ...r.end()];
  assert.deepEqual(lines, [
    { stream: 'stdout', timestamp: '2026-01-01T00:00:00.000000001Z', message: 'hello\n' },
    { stream: 'stdout', timestamp: '2026-01-01T00:00:01.000000000Z', message: 'world\n' },
    { stream: 'stderr', timestamp: '2026-01-01T00:00:02.000000000Z', message: 'oops\n' },
  ]);
});

test('a TTY stream is raw; a last line without newline gets one', () => {
  const r = new EngineLogReader(false);
  assert.deepEqual([...r.push(Buffer.from('2026-01-01T00:00:00Z a\n2026-01-01T00:00:00Z b')), ...r.end()].map((l) => l.message), ['a\n', 'b\n']);
});

test("Swarm's details, then the message, one frame per line", () => {
  const ctx = { nodeId: 'n1', serviceId: 's1', taskId: 't1' };
  assert.equal(detailsOf(ctx), 'com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1');
  const out = formatLine({ stream: 'stderr', timestamp: '2026-01-01T00:00:00.000000000Z', message: 'x\n' }, ctx, { timestamps: true, details: true, multiplexed: true });
  assert.equal(out[0], 2);
  assert.equal(out.readUInt32BE(4), out.length - 8);
  assert.equal(out.subarray(8).toString(), `2026-01-01T00:00:00.000000000Z ${detailsOf(ctx)} x\n`);
  assert.equal(formatLine({ stream: 'stdout', timestamp: '', message: 'y\n' }, ctx, { timestamps: false, details: false, multiplexed: false }).toString(), 'y\n');
});

test('details=1: the engine’s attributes are split off each line and sorted into Swarm’s details', () => {
  const r = new EngineLogReader(true, true);
  const lines = r.push(Buffer.concat([frame(1, '2026-01-01T00:00:00.000000001Z app=web,zone=b hello a=b\n'), frame(1, '2026-01-01T00:00:02.000000000Z  bare=message\n')]));
  assert.deepEqual(lines, [
    { stream: 'stdout', timestamp: '2026-01-01T00:00:00.000000001Z', attrs: 'app=web,zone=b', message: 'hello a=b\n' },
    { stream: 'stdout', timestamp: '2026-01-01T00:00:02.000000000Z', attrs: '', message: 'bare=message\n' },
  ]);
  const ctx = { nodeId: 'n1', serviceId: 's1', taskId: 't1' };
  assert.equal(detailsOf(ctx, 'zone=b,app=web'), 'app=web,com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1,zone=b');
  const out = formatLine(lines[0]!, ctx, { timestamps: false, details: true, multiplexed: false }).toString();
  assert.equal(out, 'app=web,com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1,zone=b hello a=b\n');
});
