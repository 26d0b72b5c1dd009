import type { ClientRequest, IncomingMessage } from 'node:http';
import { Router, type Request, type Response } from 'express';
import { findWorkload } from '../../../manager/controlapi/services.js';
import { getTask } from '../../../manager/controlapi/tasks.js';
import type { Instance } from '../../../model/index.js';
import type { Store } from '../../../store/index.js';
import { invalidParameter } from '../../../util/errors.js';
import type { ApiContext } from '../context.js';
import { EngineLogReader, formatLine, rfc3339NanoFixed, type FormatOptions, type LogContext } from '../log-stream.js';
import { queryBool, singleQuery } from '../resources-filters.js';
import { engineVersionFor } from '../version.js';
import { swarmOf } from './swarm.js';

/**
 * `docker service logs` and `docker service logs <task>`: the logs of every
 * task's container, read from the engine of the node it ran on (through the
 * engine directory: the gateway's own engine, or a node's agent), merged line
 * by line into one stream with Swarm's details on each line so the CLI prints
 * `name.slot.task@node | …`. A node that cannot be reached costs its own
 * lines, not the stream: a warning line on stderr says which node and why.
 * With `follow`, tasks that start later join the stream (Swarm's log broker
 * does the same) and the stream ends when the service is removed.
 */
export function serviceLogsRoutes(ctx: ApiContext): Router {
  const router = Router();
  const store = (): Store => swarmOf(ctx).controlDeps().store;

  router.get('/services/:id/logs', async (req, res) => {
    const opts = logOptions(req);
    const w = store().view((tx) => findWorkload(tx, String(req.params['id'])));
    await streamLogs(ctx, store(), req, res, opts, { workloadId: w.id, tty: w.spec.template.containers[0]?.tty ?? false });
  });

  router.get('/tasks/:id/logs', async (req, res) => {
    const opts = logOptions(req);
    const t = store().view((tx) => getTask(tx, String(req.params['id'])));
    await streamLogs(ctx, store(), req, res, opts, { workloadId: t.workloadId, taskId: t.id, tty: t.template.containers[0]?.tty ?? false });
  });

  return router;
}

interface LogOptions {
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly follow: boolean;
  readonly timestamps: boolean;
  readonly details: boolean;
  readonly since?: string;
  readonly tail?: string;
}

function logOptions(req: Request): LogOptions {
  const q = req.query as Record<string, unknown>;
  const stdout = queryBool(q, 'stdout');
  const stderr = queryBool(q, 'stderr');
  // The daemon's words (api/server/router/container: "Bad parameters: …").
  if (!stdout && !stderr) throw invalidParameter('Bad parameters: you must choose at least one stream');
  const since = singleQuery(q, 'since');
  const tail = singleQuery(q, 'tail');
  return {
    stdout,
    stderr,
    follow: queryBool(q, 'follow'),
    timestamps: queryBool(q, 'timestamps'),
    details: queryBool(q, 'details'),
    ...(since ? { since } : {}),
    ...(tail ? { tail } : {}),
  };
}

interface Scope {
  readonly workloadId: string;
  readonly taskId?: string;
  readonly tty: boolean;
}

/** How long a node's engine may take to answer before its lines are given up (the stream goes on). */
const ConnectTimeoutMs = 5_000;

async function streamLogs(ctx: ApiContext, store: Store, req: Request, res: Response, o: LogOptions, scope: Scope): Promise<void> {
  const format: FormatOptions = { timestamps: o.timestamps, details: o.details, multiplexed: !scope.tty };
  const inScope = (i: Instance): boolean => i.workloadId === scope.workloadId && (scope.taskId === undefined || i.id === scope.taskId);
  const hasContainer = (i: Instance): boolean => i.nodeId !== undefined && (i.status.container?.containerId ?? '') !== '';

  res.writeHead(200, { 'Content-Type': scope.tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
  res.flushHeaders();

  const done = new AbortController();
  const attached = new Set<string>();
  /** Per node, the streams open on it (a task of it for the warning's context): a node that goes down ends them. */
  const openOn = new Map<string, { task: Instance; streams: Set<ClientRequest> }>();
  const warnedNodes = new Set<string>();
  let open = 0;
  let watching = o.follow;
  let finished = false;

  const finish = (): void => {
    if (finished) return;
    finished = true;
    done.abort();
    res.end();
  };
  res.on('close', () => {
    finished = true;
    done.abort();
  });
  const maybeFinish = (): void => {
    if (open === 0 && !watching) finish();
  };

  const write = (chunk: Buffer, answer?: IncomingMessage): void => {
    if (finished) return;
    if (!res.write(chunk) && answer) {
      answer.pause();
      res.once('drain', () => answer.resume());
    }
  };

  const nodeName = (nodeId: string): string => {
    const node = store.view((tx) => tx.get('node', nodeId));
    return node?.description?.hostname || node?.spec.name || nodeId;
  };
  const warning = (i: Instance, nodeId: string, message: string): void => {
    const lc: LogContext = { nodeId, serviceId: i.workloadId, taskId: i.id };
    write(formatLine({ stream: 'stderr', timestamp: rfc3339NanoFixed(Date.now()), message: `${message}\n` }, lc, format));
  };
  // A node that cannot be read costs all its tasks' lines: one warning per node.
  const warn = (i: Instance, nodeId: string, why: string): void => {
    if (warnedNodes.has(nodeId)) return;
    warnedNodes.add(nodeId);
    warning(i, nodeId, `warning: the logs of tasks on node ${nodeName(nodeId)} (${nodeId}) are missing: ${why}`);
    ctx.log.warn({ node: nodeId, why }, 'service logs: a node could not be read');
  };
  // The engine answered but refused this task's logs (a driver that keeps none, "none" or
  // syslog…, as `docker logs` says): a warning for that task alone, the node's others go on.
  const warnTask = (i: Instance, nodeId: string, why: string): void => {
    const driver = i.template.logDriver?.name;
    const w = store.view((tx) => tx.get('workload', i.workloadId));
    const task = `${w?.spec.name ?? i.workloadId}.${i.slot !== undefined && i.slot > 0 ? i.slot : nodeId}.${i.id}`;
    warning(i, nodeId, `warning: the logs of task ${task} on node ${nodeName(nodeId)} cannot be read: ${why}${driver ? ` (log driver "${driver}")` : ''}`);
  };

  const attach = (i: Instance, tail: string | undefined): void => {
    if (attached.has(i.id) || !hasContainer(i) || finished) return;
    attached.add(i.id);
    const nodeId = i.nodeId ?? '';
    const containerId = i.status.container?.containerId ?? '';
    const node = store.view((tx) => tx.get('node', nodeId));
    const target = ctx.engines.byNode(nodeId);
    if (node?.status.state === 'down') return warn(i, nodeId, downReason(node.status.message));
    if (target === undefined) return warn(i, nodeId, 'the node has no reachable engine endpoint');
    const q = new URLSearchParams({ stdout: o.stdout ? '1' : '0', stderr: o.stderr ? '1' : '0', timestamps: '1', follow: o.follow ? '1' : '0', ...(o.details ? { details: '1' } : {}) });
    if (o.since) q.set('since', o.since);
    if (tail) q.set('tail', tail);
    const path = `/v${engineVersionFor(req.apiVersion)}/containers/${encodeURIComponent(containerId)}/logs?${q.toString()}`;
    const lc: LogContext = { nodeId, serviceId: i.workloadId, taskId: i.id };
    open++;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      open--;
      maybeFinish();
    };
    const upstream = target.engine.request({ method: 'GET', path });
    const streams = openOn.get(nodeId)?.streams ?? new Set<ClientRequest>();
    if (!openOn.has(nodeId)) openOn.set(nodeId, { task: i, streams });
    streams.add(upstream);
    upstream.once('close', () => streams.delete(upstream));
    upstream.setTimeout(ConnectTimeoutMs, () => upstream.destroy(new Error(`no answer within ${ConnectTimeoutMs / 1000} s`)));
    const onAbort = (): void => {
      upstream.destroy();
    };
    done.signal.addEventListener('abort', onAbort, { once: true });
    upstream.on('error', (err) => {
      if (!done.signal.aborted) warn(i, nodeId, err.message);
      close();
    });
    upstream.on('response', (answer) => {
      upstream.setTimeout(0);
      if (answer.statusCode === 404) {
        // The container is gone (a removed task): nothing to show, as in Swarm.
        answer.resume();
        answer.on('end', close);
        return;
      }
      if ((answer.statusCode ?? 500) >= 300) {
        let text = '';
        answer.setEncoding('utf8');
        answer.on('data', (c: string) => (text += c));
        answer.on('end', () => {
          if ((answer.statusCode ?? 500) < 500 || answer.statusCode === 501) warnTask(i, nodeId, messageOf(text));
          else warn(i, nodeId, `the engine answered ${answer.statusCode ?? '?'}: ${messageOf(text)}`);
          close();
        });
        return;
      }
      // A TTY container's logs come raw, any other's in frames.
      const reader = new EngineLogReader(!(i.template.containers[0]?.tty ?? false), o.details);
      answer.on('data', (c: Buffer) => {
        for (const line of reader.push(c)) write(formatLine(line, lc, format), answer);
      });
      answer.on('end', () => {
        for (const line of reader.end()) write(formatLine(line, lc, format));
        close();
      });
      answer.on('error', (err) => {
        if (!done.signal.aborted) warn(i, nodeId, `the connection to its engine broke (${err.message}); lines after this point are missing`);
        close();
      });
      answer.on('close', close);
    });
    upstream.end();
  };

  if (!o.follow) {
    const tasks = [...store.view((tx) => tx.list('instance', (i) => inScope(i) && hasContainer(i)))].sort(bySlot);
    for (const i of tasks) attach(i, o.tail);
    maybeFinish();
    return;
  }

  // Follow: the tasks there now (with the tail asked for), then every task that gets a container.
  const { result, events } = store.viewAndWatch((tx) => [...tx.list('instance', inScope)].sort(bySlot), { kinds: ['instance', 'workload', 'node'], signal: done.signal });
  for (const i of result) attach(i, o.tail);
  try {
    for await (const ev of events) {
      if (finished) break;
      if (ev.kind === 'workload' && ev.action === 'delete' && ev.object.id === scope.workloadId) break;
      if (ev.kind === 'instance' && ev.action !== 'delete' && inScope(ev.object)) attach(ev.object, undefined);
      // A partitioned node's streams would just go quiet (no reset ever comes): once the
      // dispatcher says it is down, say so and let its streams go; the others carry on.
      if (ev.kind === 'node' && ev.object.status.state === 'down') {
        const on = openOn.get(ev.object.id);
        if (on !== undefined && on.streams.size > 0) {
          warn(on.task, ev.object.id, `${downReason(ev.object.status.message)}; lines after this point are missing`);
          for (const stream of [...on.streams]) stream.destroy();
        }
      }
    }
  } catch (err) {
    if (!done.signal.aborted) ctx.log.warn({ err }, 'service logs: the store watch ended');
  }
  watching = false;
  maybeFinish();
}

/** The dispatcher's reason already says "node is down: …"; an older or empty one gets the words. */
function downReason(message: string | undefined): string {
  if (message === undefined || message === '') return 'the node is down (no session)';
  return message.startsWith('node is down') ? message : `the node is down (${message})`;
}

function bySlot(a: Instance, b: Instance): number {
  return (a.slot ?? 0) - (b.slot ?? 0) || a.createdAt - b.createdAt;
}

function messageOf(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    /* not JSON */
  }
  return text.trim().slice(0, 200);
}
