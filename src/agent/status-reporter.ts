import type { InstanceStatus } from '../model/index.js';
import type { Logger } from '../util/log.js';

/**
 * Observed instance states on their way to the manager (`POST /status`).
 * Only the latest status of each instance is kept; a batch goes out a few
 * milliseconds after the first change, or once the call in flight returns,
 * so a burst of steps costs few calls while a lone `running` is not held
 * back (it was 50 ms, on the path of every `docker service create`). Whatever
 * could not be delivered waits for the next session.
 */
export type StatusUpdate = { readonly instanceId: string; readonly status: InstanceStatus };
export type SendStatuses = (updates: readonly StatusUpdate[]) => Promise<void>;

export class StatusReporter {
  private readonly pending = new Map<string, InstanceStatus>();
  private sender: SendStatuses | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly batchDelayMs = 5,
  ) {}

  report(instanceId: string, status: InstanceStatus): void {
    this.pending.set(instanceId, status);
    this.schedule();
  }

  /** A session is open: deliver through it, starting with whatever waited. */
  attach(send: SendStatuses): void {
    this.sender = send;
    this.schedule();
  }

  detach(): void {
    this.sender = undefined;
  }

  get backlog(): number {
    return this.pending.size;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.sender === undefined || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.batchDelayMs);
  }

  /** Sends what is pending now; resolves when that batch is delivered or put back. */
  async flush(): Promise<void> {
    if (this.inFlight) await this.inFlight;
    const send = this.sender;
    if (send === undefined || this.pending.size === 0) return;
    const batch = [...this.pending].map(([instanceId, status]) => ({ instanceId, status }));
    this.pending.clear();
    this.inFlight = send(batch).then(
      () => undefined,
      (err: unknown) => {
        this.log.warn({ err, count: batch.length }, 'status report failed; keeping it for the next session');
        // A newer status reported meanwhile wins over the one we failed to send.
        for (const u of batch) if (!this.pending.has(u.instanceId)) this.pending.set(u.instanceId, u.status);
      },
    );
    await this.inFlight;
    this.inFlight = undefined;
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.sender = undefined;
  }
}
