/**
 * Docker's log streams, both ways, pure: reading an engine's `/logs` answer
 * (multiplexed frames for a non-TTY container, raw bytes for a TTY one) into
 * whole lines, and writing Swarm's service-log lines — `[<timestamp> ]
 * [<details> ]<message>` with the details Swarm adds
 * (`com.docker.swarm.node.id=…,com.docker.swarm.service.id=…,com.docker.swarm.task.id=…`),
 * one frame per line, because the CLI parses each write as one message.
 */

export const StreamType = { stdin: 0, stdout: 1, stderr: 2 } as const;
export type StreamKind = 'stdout' | 'stderr';

export interface LogLine {
  readonly stream: StreamKind;
  /** The engine's RFC 3339 timestamp (we always ask for it), '' when absent. */
  readonly timestamp: string;
  /** The message, ending in "\n". */
  readonly message: string;
  /**
   * The engine's own details when asked for (`details=1`): the container's
   * log attributes (`--log-opt labels=…,env=…,tag`), query-escaped `k=v`
   * pairs joined by commas; '' when it has none.
   */
  readonly attrs?: string;
}

/** Splits an engine's log answer into lines, chunk by chunk (frames and lines may straddle chunks). */
export class EngineLogReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly partial: Record<StreamKind, string> = { stdout: '', stderr: '' };

  /** `details`: the engine was asked with `details=1`, so each line carries its attributes after the timestamp. */
  constructor(
    private readonly multiplexed: boolean,
    private readonly details = false,
  ) {}

  /** The lines completed by this chunk. */
  push(chunk: Buffer): LogLine[] {
    const out: LogLine[] = [];
    if (!this.multiplexed) {
      this.take('stdout', chunk.toString('utf8'), out);
      return out;
    }
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const kind: StreamKind = buf[0] === StreamType.stderr ? 'stderr' : 'stdout';
      this.take(kind, buf.subarray(8, 8 + size).toString('utf8'), out);
      buf = buf.subarray(8 + size);
    }
    this.pending = Buffer.from(buf);
    return out;
  }

  /** The stream ended: what is left of a line without its newline. */
  end(): LogLine[] {
    const out: LogLine[] = [];
    for (const kind of ['stdout', 'stderr'] as const) {
      if (this.partial[kind] !== '') out.push(this.line(kind, `${this.partial[kind]}\n`));
      this.partial[kind] = '';
    }
    return out;
  }

  private take(kind: StreamKind, text: string, out: LogLine[]): void {
    let s = this.partial[kind] + text;
    let nl = s.indexOf('\n');
    while (nl >= 0) {
      out.push(this.line(kind, s.slice(0, nl + 1)));
      s = s.slice(nl + 1);
      nl = s.indexOf('\n');
    }
    this.partial[kind] = s;
  }

  private line(kind: StreamKind, text: string): LogLine {
    const l = splitTimestamp(kind, text);
    if (!this.details) return l;
    // The engine writes `[<timestamp> ]<attrs> <message>`, attrs possibly empty; they hold no spaces (query-escaped).
    const sp = l.message.indexOf(' ');
    if (sp < 0 || !/^([^=, ]+=[^, ]*(,[^=, ]+=[^, ]*)*)?$/.test(l.message.slice(0, sp))) return l;
    return { ...l, attrs: l.message.slice(0, sp), message: l.message.slice(sp + 1) };
  }
}

const timestampPattern = /^\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d) /;

function splitTimestamp(stream: StreamKind, line: string): LogLine {
  const m = timestampPattern.exec(line);
  if (!m) return { stream, timestamp: '', message: line };
  return { stream, timestamp: m[0].slice(0, -1), message: line.slice(m[0].length) };
}

export interface LogContext {
  readonly nodeId: string;
  readonly serviceId: string;
  readonly taskId: string;
}

/**
 * Swarm's details: sorted `key=value` pairs, query-escaped, comma-separated
 * (moby's attrs): the task's context and, when given, the container's own
 * log attributes as the engine wrote them (already escaped).
 */
export function detailsOf(ctx: LogContext, engineAttrs = ''): string {
  const attrs: [string, string][] = [
    ['com.docker.swarm.node.id', ctx.nodeId],
    ['com.docker.swarm.service.id', ctx.serviceId],
    ['com.docker.swarm.task.id', ctx.taskId],
  ];
  const pairs = attrs.map(([k, v]) => `${queryEscape(k)}=${queryEscape(v)}`);
  if (engineAttrs !== '') pairs.push(...engineAttrs.split(','));
  return pairs.sort().join(',');
}

/** Go's url.QueryEscape: spaces as '+', the rest percent-encoded. */
function queryEscape(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface FormatOptions {
  readonly timestamps: boolean;
  readonly details: boolean;
  /** Raw (TTY) output has no frame headers. */
  readonly multiplexed: boolean;
}

/** One line as the client gets it: one frame (or the raw bytes for a TTY service). */
export function formatLine(line: LogLine, ctx: LogContext, o: FormatOptions): Buffer {
  let text = line.message;
  if (o.details) text = `${detailsOf(ctx, line.attrs)} ${text}`;
  if (o.timestamps) text = `${line.timestamp || new Date().toISOString()} ${text}`;
  const payload = Buffer.from(text, 'utf8');
  if (!o.multiplexed) return payload;
  const head = Buffer.alloc(8);
  head[0] = line.stream === 'stderr' ? StreamType.stderr : StreamType.stdout;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

/** Go's RFC3339NanoFixed, so warnings line up with the engines' own timestamps. */
export function rfc3339NanoFixed(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}
