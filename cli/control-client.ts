/**
 * The CLI's client of the scheduler's control API (aloft.v1.Control over gRPC). Where the
 * scheduler is, and how to authenticate, come from flags or the environment:
 *   --scheduler HOST:PORT | ALOFT_SCHEDULER   (required)
 *   --token T             | ALOFT_TOKEN        (sent as `authorization: Bearer T`)
 *   --tls-ca FILE         | ALOFT_TLS_CA       (TLS: the CA that verifies the scheduler)
 *   --tls-cert/--tls-key  | ALOFT_TLS_CERT/_KEY (mTLS: this client's certificate)
 * A scheduler that cannot be reached (or refuses the token) is an environment problem:
 * AloftError INVALID_ARGUMENT "cannot reach scheduler at ADDR: …", exit 2. Errors the
 * scheduler returns arrive as the AloftError it threw (same code, same problems).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  Client,
  credentials,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ServiceError,
} from '@grpc/grpc-js';
import { AloftError, type Problem } from '../lib/errors/index.js';
import {
  controlService,
  type AgentStatus,
  type AnalyzeReply,
  type ControlMethod,
  type DrainAgentRequest,
  type ListAgentsReply,
  type ListAgentsRequest,
  type ReleaseHoldReply,
  type SubmitReply,
  type SubmitRequest,
  type WorkflowStatus,
} from '../proto/codec/index.js';
import { fromServiceError } from '../services/control/index.js';
import { renderTransfers } from '../services/status/index.js';
import { str, type FlagSpec, type Parsed } from './args.js';
import type { CommandContext } from './command.js';

/** The connection flags every client command takes. */
export const CONTROL_FLAGS = {
  scheduler: { type: 'string' },
  token: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
} satisfies FlagSpec;

export const CONTROL_FLAGS_USAGE = `Scheduler connection:
  --scheduler HOST:PORT   the scheduler's control API (or ALOFT_SCHEDULER)
  --token T               its bearer token (or ALOFT_TOKEN)
  --tls-ca FILE           use TLS; FILE is the CA that verifies the scheduler (or ALOFT_TLS_CA)
  --tls-cert/--tls-key F  client certificate and key for mutual TLS (or ALOFT_TLS_CERT/_KEY)
`;

/** Unary calls give up after this long (Submit plans the workflow: longer). */
const CALL_DEADLINE_MS = 60_000;
const SUBMIT_DEADLINE_MS = 10 * 60_000;

export interface ControlClientOptions {
  address: string;
  token?: string;
  /** PEM text of the CA (TLS when set). */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface ControlClient {
  readonly address: string;
  submit(req: SubmitRequest, signal?: AbortSignal): Promise<SubmitReply>;
  status(workflowId: string, signal?: AbortSignal): Promise<WorkflowStatus>;
  /** Every status the scheduler streams until the workflow ends; resolves to the last. */
  watch(
    workflowId: string,
    onStatus: (s: WorkflowStatus) => void,
    signal?: AbortSignal,
  ): Promise<WorkflowStatus | undefined>;
  halt(workflowId: string, signal?: AbortSignal): Promise<WorkflowStatus>;
  resume(workflowId: string, signal?: AbortSignal): Promise<WorkflowStatus>;
  remove(workflowId: string, signal?: AbortSignal): Promise<WorkflowStatus>;
  analyze(workflowId: string, signal?: AbortSignal): Promise<AnalyzeReply>;
  listAgents(req: ListAgentsRequest, signal?: AbortSignal): Promise<ListAgentsReply>;
  /** Stop (or with `undo`, resume) giving the agent new work; NOT_FOUND for an unknown agent. */
  drainAgent(req: DrainAgentRequest, signal?: AbortSignal): Promise<AgentStatus>;
  /** Reschedule the attempts held back by the mass-loss guard. */
  releaseHold(signal?: AbortSignal): Promise<ReleaseHoldReply>;
  close(): void;
}

/** Whether the command was given a scheduler (flag or environment). */
export function schedulerAddress(parsed: Parsed, env: NodeJS.ProcessEnv): string | undefined {
  const v = str(parsed, 'scheduler') ?? env['ALOFT_SCHEDULER'];
  return v === undefined || v === '' ? undefined : v;
}

const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Options from the flags and environment; every problem reported at once. */
export function controlOptionsFromFlags(
  command: string,
  parsed: Parsed,
  ctx: Pick<CommandContext, 'env' | 'cwd'>,
): ControlClientOptions {
  const problems: Problem[] = [];
  const where = `aloft ${command}`;
  const address = schedulerAddress(parsed, ctx.env);
  if (address === undefined) {
    problems.push({
      where,
      message: 'no scheduler given',
      hint: 'pass --scheduler HOST:PORT or set ALOFT_SCHEDULER',
    });
  } else if (!ADDRESS.test(address)) {
    problems.push({
      where: `${where} --scheduler`,
      message: `'${address}' is not HOST:PORT`,
      hint: 'e.g. --scheduler 127.0.0.1:7070',
    });
  }
  const pem = (flag: string, envName: string): Buffer | undefined => {
    const f = str(parsed, flag) ?? ctx.env[envName];
    if (f === undefined || f === '') return undefined;
    try {
      return readFileSync(path.resolve(ctx.cwd, f));
    } catch (e) {
      problems.push({
        where: `${where} --${flag}`,
        message: `${f} cannot be read: ${(e as Error).message}`,
        hint: 'point it at a PEM file',
      });
      return undefined;
    }
  };
  const ca = pem('tls-ca', 'ALOFT_TLS_CA');
  const cert = pem('tls-cert', 'ALOFT_TLS_CERT');
  const key = pem('tls-key', 'ALOFT_TLS_KEY');
  if ((cert === undefined) !== (key === undefined)) {
    problems.push({ where, message: '--tls-cert and --tls-key go together' });
  }
  if (cert !== undefined && ca === undefined) {
    problems.push({ where, message: '--tls-cert needs --tls-ca (mutual TLS is TLS)' });
  }
  if (problems.length > 0) throw AloftError.invalid(problems);
  const token = str(parsed, 'token') ?? ctx.env['ALOFT_TOKEN'];
  return {
    address: address!,
    ...(token !== undefined && token !== '' ? { token } : {}),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
  };
}

export function createControlClient(o: ControlClientOptions): ControlClient {
  const creds: ChannelCredentials = o.ca
    ? credentials.createSsl(o.ca, o.key ?? null, o.cert ?? null)
    : credentials.createInsecure();
  const client = new Client(o.address, creds);

  const metadata = (): Metadata => {
    const md = new Metadata();
    if (o.token !== undefined) md.set('authorization', `Bearer ${o.token}`);
    return md;
  };

  function unary<Req, Res>(
    m: ControlMethod<Req, Res>,
    req: Req,
    signal: AbortSignal | undefined,
    deadlineMs = CALL_DEADLINE_MS,
  ): Promise<Res> {
    signal?.throwIfAborted();
    return new Promise<Res>((resolve, reject) => {
      const opts: CallOptions = { deadline: Date.now() + deadlineMs };
      const call = client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        metadata(),
        opts,
        (err: ServiceError | null, res?: Res) => {
          signal?.removeEventListener('abort', cancel);
          if (err) reject(fromServiceError(err, o.address));
          else resolve(res as Res);
        },
      );
      const cancel = (): void => call.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  const ref = (workflowId: string) => ({ workflowId });

  return {
    address: o.address,
    submit: (req, signal) => unary(controlService.Submit, req, signal, SUBMIT_DEADLINE_MS),
    status: (id, signal) => unary(controlService.Status, ref(id), signal),
    halt: (id, signal) => unary(controlService.Halt, ref(id), signal),
    resume: (id, signal) => unary(controlService.Resume, ref(id), signal),
    remove: (id, signal) => unary(controlService.Remove, ref(id), signal),
    analyze: (id, signal) => unary(controlService.Analyze, ref(id), signal),
    listAgents: (req, signal) => unary(controlService.ListAgents, req, signal),
    drainAgent: (req, signal) => unary(controlService.DrainAgent, req, signal),
    releaseHold: (signal) => unary(controlService.ReleaseHold, {}, signal),
    watch(id, onStatus, signal) {
      signal?.throwIfAborted();
      const m = controlService.Watch;
      return new Promise((resolve, reject) => {
        let last: WorkflowStatus | undefined;
        const stream = client.makeServerStreamRequest(
          m.path,
          m.requestSerialize,
          m.responseDeserialize,
          ref(id),
          metadata(),
          {},
        );
        const cancel = (): void => stream.cancel();
        signal?.addEventListener('abort', cancel, { once: true });
        stream.on('data', (s: WorkflowStatus) => {
          last = s;
          onStatus(s);
        });
        stream.on('error', (e: ServiceError) => {
          signal?.removeEventListener('abort', cancel);
          // Cancelled by our own signal: the caller stopped watching.
          if (signal?.aborted) resolve(last);
          else reject(fromServiceError(e, o.address));
        });
        stream.on('end', () => {
          signal?.removeEventListener('abort', cancel);
          resolve(last);
        });
      });
    },
    close: () => client.close(),
  };
}

/** A client from the command's flags; the caller closes it. */
export function controlClientFromFlags(
  command: string,
  parsed: Parsed,
  ctx: Pick<CommandContext, 'env' | 'cwd'>,
): ControlClient {
  return createControlClient(controlOptionsFromFlags(command, parsed, ctx));
}

/** Run `fn` with a client, closing it afterwards. */
export async function withControlClient<T>(
  command: string,
  parsed: Parsed,
  ctx: Pick<CommandContext, 'env' | 'cwd'>,
  fn: (c: ControlClient) => Promise<T>,
): Promise<T> {
  const c = controlClientFromFlags(command, parsed, ctx);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** One status as a line of text: `ID (name): state — n/total done, counts`. */
export function renderWorkflowStatus(s: WorkflowStatus): string {
  const c = s.counts;
  const parts = [
    `unready ${c.unready}`,
    `ready ${c.ready}`,
    `running ${c.running}`,
    `retrying ${c.retrying}`,
    `done ${c.done}`,
    `failed ${c.failed}`,
  ];
  const transfers =
    s.transfers && s.transfers.length > 0
      ? renderTransfers(s.transfers)
          .map((l) => `  ${l}\n`)
          .join('')
      : '';
  return (
    `workflow ${s.workflowId} (${s.name}): ${s.state}${s.detail ? ` (${s.detail})` : ''}\n` +
    `  ${c.done}/${s.total} done — ${parts.join(', ')}\n` +
    transfers
  );
}
