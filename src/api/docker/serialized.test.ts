import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonArray, SerializedObjects } from './serialized.js';

test('an object is serialised once while it and its inputs stay the same objects', () => {
  const cache = new SerializedObjects<{ id: string }>();
  const task = Object.freeze({ id: 't1' });
  const net = Object.freeze({ name: 'n1' });
  let made = 0;
  const make = (n: { name: string }) => () => (made++, { ID: task.id, Network: n.name });
  assert.equal(cache.text(task, [net], make(net)), '{"ID":"t1","Network":"n1"}');
  assert.equal(cache.text(task, [net], make(net)), '{"ID":"t1","Network":"n1"}');
  assert.equal(made, 1);
  // The network was written (a new object): the text is made again.
  const renamed = Object.freeze({ name: 'n2' });
  assert.equal(cache.text(task, [renamed], make(renamed)), '{"ID":"t1","Network":"n2"}');
  assert.equal(made, 2);
  // A new version of the task is another object.
  assert.equal(cache.text(Object.freeze({ id: 't1' }), [renamed], make(renamed)), '{"ID":"t1","Network":"n2"}');
  assert.equal(made, 3);
});

test('jsonArray sends what res.json would', () => {
  const items = [{ a: 1 }, { b: [2, 'x'] }];
  assert.equal(jsonArray(items.map((i) => JSON.stringify(i))), JSON.stringify(items));
  assert.equal(jsonArray([]), '[]');
});
