import { z } from 'zod';
import type { NodeDescription } from '../model/index.js';
import { TaskStates } from '../model/index.js';
import { invalidParameter } from '../util/errors.js';
import type { AttachmentContainerRequest, AttachNetworkRequest, DetachNetworkRequest, HeartbeatRequest, JoinRequest, RenewRequest, RestartNoticeRequest, SessionRequest, StatusUpdateRequest } from './protocol.js';

/**
 * The dispatcher's requests, checked at its edge (zod): an agent of another
 * version, or anything else that reaches port 2377, gets a 400 with the
 * offending fields named instead of a half-written node.
 */

const labels = z.record(z.string(), z.string());

const description = z.object({
  hostname: z.string(),
  platform: z.object({ os: z.string(), architecture: z.string() }),
  resources: z.object({
    nanoCpus: z.number().nonnegative(),
    memoryBytes: z.number().nonnegative(),
    generic: z.array(z.object({ kind: z.string(), value: z.number() })).default([]),
  }),
  engine: z.object({
    version: z.string(),
    labels: labels.default({}),
    plugins: z.array(z.object({ type: z.string(), name: z.string() })).default([]),
  }),
  tls: z.object({ trustRoot: z.string(), certIssuerSubject: z.string(), certIssuerPublicKey: z.string() }).optional(),
});

const join = z.object({
  token: z.string().min(1),
  csrPem: z.string().min(1),
  advertiseAddr: z.string(),
  hostname: z.string(),
  availability: z.enum(['active', 'pause', 'drain']).optional(),
  description,
  engineEndpoint: z.string().optional(),
});

const session = z.object({
  description,
  knownInstances: z.array(z.string()).default([]),
  engineEndpoint: z.string().optional(),
  // A WireGuard public key: 32 bytes, base64.
  wireguardPublicKey: z.string().regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, 'not a WireGuard public key').optional(),
});

const heartbeat = z.object({ sessionId: z.string().min(1) });

const renew = z.object({ csrPem: z.string().min(1) });

const instanceStatus = z.object({
  state: z.enum(TaskStates),
  timestamp: z.number(),
  message: z.string(),
  err: z.string().optional(),
  container: z.object({ containerId: z.string(), pid: z.number(), exitCode: z.number().optional() }).optional(),
  ports: z.array(z.object({ protocol: z.string(), targetPort: z.number(), publishedPort: z.number() })).optional(),
});

const status = z.object({
  sessionId: z.string().min(1),
  updates: z.array(z.object({ instanceId: z.string().min(1), status: instanceStatus })),
});

const attach = z.object({
  network: z.string().min(1),
  containerName: z.string().min(1).optional(),
  aliases: z.array(z.string().min(1)).optional(),
});

const attachmentContainer = z.object({ attachmentId: z.string().min(1), containerId: z.string().min(1), containerName: z.string() });

const detach = z.object({ attachmentId: z.string().min(1) });

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    throw invalidParameter(`invalid ${what} request: ${r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`);
  }
  return r.data;
}

/** zod's output keeps optional keys as `undefined`; the model wants them absent. */
function dropUndefined<T>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}

export const parseJoin = (b: unknown): JoinRequest => dropUndefined(parse(join, b, 'join') as JoinRequest);
export const parseSession = (b: unknown): SessionRequest => dropUndefined(parse(session, b, 'session') as SessionRequest);
export const parseHeartbeat = (b: unknown): HeartbeatRequest => parse(heartbeat, b, 'heartbeat');
export const parseRestartNotice = (b: unknown): RestartNoticeRequest => parse(heartbeat, b, 'restart notice');
export const parseRenew = (b: unknown): RenewRequest => parse(renew, b, 'renew');
export const parseStatus = (b: unknown): StatusUpdateRequest => dropUndefined(parse(status, b, 'status') as StatusUpdateRequest);
export const parseAttach = (b: unknown): AttachNetworkRequest => dropUndefined(parse(attach, b, 'attach') as AttachNetworkRequest);
export const parseAttachmentContainer = (b: unknown): AttachmentContainerRequest => parse(attachmentContainer, b, 'attachment container');
export const parseDetach = (b: unknown): DetachNetworkRequest => parse(detach, b, 'detach');
export type { NodeDescription };
