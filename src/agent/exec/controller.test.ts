import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine } from '../../engine/index.js';
import { Labels } from '../labels.js';
import { testInstance } from '../testing.js';
import { ContainerAdapter, type ContainerState, type ImageInfo } from './adapter.js';
import { ContainerController, FatalStepError } from './controller.js';

/** An engine seen only through the calls prepare makes; `names` holds the containers by name. */
class FakeAdapter extends ContainerAdapter {
  readonly names = new Map<string, ContainerState>();
  creates = 0;
  /** Runs once, just after the next create's 409: plays another actor removing that container. */
  onConflict: (() => void) | undefined;

  constructor() {
    super(undefined as unknown as Engine);
  }
  override imageInfo(): Promise<ImageInfo | undefined> {
    return Promise.resolve({ healthcheck: false } as ImageInfo);
  }
  override create(name: string, body: Readonly<Record<string, unknown>>): Promise<string> {
    this.creates++;
    if (this.names.has(name)) {
      this.onConflict?.();
      this.onConflict = undefined;
      return Promise.reject(Object.assign(new Error(`Conflict. The container name "/${name}" is already in use`), { statusCode: 409 }));
    }
    const labels = (body['Labels'] ?? {}) as Record<string, string>;
    const c: ContainerState = { id: `id-${this.creates}`, name, status: 'created', running: false, pid: 0, exitCode: 0, startedAt: '', error: '', labels };
    this.names.set(name, c);
    return Promise.resolve(c.id);
  }
  override inspect(idOrName: string): Promise<ContainerState | undefined> {
    return Promise.resolve([...this.names.values()].find((c) => c.id === idOrName || c.name === idOrName));
  }
}

const instance = testInstance({ id: 'task1', name: 'web' });
const controller = (adapter: FakeAdapter): ContainerController =>
  new ContainerController({ adapter, instance, name: 'web.1.task1', request: () => ({ name: 'web.1.task1', body: { Image: 'busybox', Labels: { [Labels.taskId]: 'task1' } } }) });
/** An engine where a container of task `owner` already holds the name. */
function nameHeldBy(owner: string): FakeAdapter {
  const a = new FakeAdapter();
  a.names.set('web.1.task1', { id: 'old', name: 'web.1.task1', status: 'exited', running: false, pid: 0, exitCode: 0, startedAt: '', error: '', labels: { [Labels.taskId]: owner } });
  return a;
}

/** Prepares against `a`: the container it ends with and how many creates it took. */
async function prepared(a: FakeAdapter): Promise<[string | undefined, number]> {
  const c = controller(a);
  await c.prepare();
  return [c.id, a.creates];
}

test('a name conflict with our own container (made before a crash) adopts it', async () => {
  assert.deepEqual(await prepared(nameHeldBy('task1')), ['old', 1]);
});

test('a name conflict whose container is gone by the time we look creates again', async () => {
  const a = nameHeldBy('task1');
  a.onConflict = () => a.names.delete('web.1.task1');
  assert.deepEqual(await prepared(a), ['id-2', 2]);
});

test("a name held by another task's container is fatal", async () => {
  const a = nameHeldBy('other');
  await assert.rejects(controller(a).prepare(), (err: Error) => err instanceof FatalStepError && /already used by container old/.test(err.message));
});
