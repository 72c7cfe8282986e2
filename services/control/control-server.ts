/**
 * The gRPC control API (service aloft.v1.Control) over one scheduler: Submit, Status,
 * Watch (server stream), Halt, Resume, Remove, Analyze, ListAgents, and the operator's
 * DrainAgent and ReleaseHold.
 *
 * Contracts:
 * - Submit takes the workflow and catalogs as ABSOLUTE PATHS readable on the scheduler's
 *   host (the CLI resolves them against its working directory), and an absolute output
 *   directory; YAML text is refused (INVALID_ARGUMENT). Planning is the scheduler's: it
 *   loads, plans and stores the workflow under `<dataDir>/runs/<id>`.
 * - A WfCommons trace is replayed with synthetic tasks (services/replay/trace-submission):
 *   scaled by the request's replay options (default `aloft replay`'s), its synthetic
 *   transformations installed on the requested compute sites, its root inputs generated
 *   once under `<dataDir>/replay-inputs/<workflow>/size-<scale>/` and reused.
 * - ListAgents carries every agent's whole ad (labels, executors, free disk, arch, os,
 *   gpus) and, while the mass-loss guard holds rescheduling, the hold.
 * - Auth: with a token configured every call must carry `authorization: Bearer <token>`
 *   (else UNAUTHENTICATED, before the handler runs). TLS optional; with a CA, client
 *   certificates are required (mTLS).
 * - Errors: an AloftError becomes the gRPC status of its code (see grpc-errors.ts).
 * - Watch sends the status at once, then on every change (polled), and ends when the
 *   workflow ends (succeeded, failed, removed) or the scheduler stops.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { AloftError, type Problem } from '../../lib/errors/index.js';
import { silentLogger, type Logger } from '../../lib/logging/index.js';
import {
  controlService,
  type AgentStatus,
  type DrainAgentRequest,
  type HoldStatus,
  type ListAgentsReply,
  type ListAgentsRequest,
  type ReleaseHoldReply,
  type ReleaseHoldRequest,
  type SubmitRequest,
  type SubmitReply,
  type WorkflowRef,
  type WorkflowStatus,
} from '../../proto/codec/index.js';
import type { LoadedWorkflow } from '../model/index.js';
import { validateSiteName } from '../model/index.js';
import { defaultPlanOptions, type PlanOptions } from '../planner/index.js';
import {
  DEFAULT_REPLAY_SCALES,
  isImportedTrace,
  prepareTraceSubmission,
  type ReplayScales,
} from '../replay/index.js';
import type { AgentInfo, Scheduler } from '../scheduler/index.js';
import { tokenCheck } from './auth.js';
import { toStatusObject, unauthenticated } from './grpc-errors.js';
import { analyzeWorkflow, checkWorkflowId, workflowStatus } from './views.js';

/** Catalog files of a submission (absolute paths on this host). */
export interface CatalogFiles {
  sites?: string;
  replicas?: string;
  transformations?: string;
}

/** Loads a workflow file with its catalogs (the composition root supplies the loader). */
export type WorkflowLoader = (
  file: string,
  catalogs: CatalogFiles,
  signal: AbortSignal,
) => Promise<LoadedWorkflow>;

export interface ControlTls {
  certFile: string;
  keyFile: string;
  /** CA that client certificates must chain to: set = mutual TLS required. */
  caFile?: string;
}

export interface ControlServerOptions {
  scheduler: Scheduler;
  dataDir: string;
  loadWorkflow: WorkflowLoader;
  /** Bearer token every call must present; undefined = no auth. Never logged. */
  token?: string;
  tls?: ControlTls;
  logger?: Logger;
  /** How often Watch looks for changes (default 250 ms). */
  watchIntervalMs?: number;
}

export interface ControlServer {
  /** Bind `HOST:PORT` (port 0 = a free one); resolves to the bound `HOST:PORT`. */
  listen(address: string, signal?: AbortSignal): Promise<string>;
  /** End Watch streams, finish calls in flight (up to `graceMs`, default 5 s), close. */
  stop(graceMs?: number): Promise<void>;
}

const ENDED: readonly WorkflowStatus['state'][] = ['succeeded', 'failed', 'removed'];

function absolute(where: string, p: string | undefined, problems: Problem[]): string | undefined {
  if (p === undefined) return undefined;
  if (!path.isAbsolute(p)) {
    problems.push({
      where,
      message: `'${p}' is not an absolute path`,
      hint: 'send absolute paths on the scheduler host (aloft submit resolves them)',
    });
    return undefined;
  }
  return p;
}

/** A replay scale from the request: absent = the default; else a finite number in range. */
function scaleOf(
  name: 'timeScale' | 'sizeScale',
  v: number | undefined,
  max: number,
  problems: Problem[],
): number {
  if (v === undefined) return DEFAULT_REPLAY_SCALES[name];
  if (!Number.isFinite(v) || v < 0 || v > max) {
    problems.push({
      where: `Submit replay.${name}`,
      message: `${v} is not a number from 0 to ${max}`,
      hint: `e.g. ${DEFAULT_REPLAY_SCALES[name]} (\`aloft replay\`'s default)`,
    });
  }
  return v;
}

/** Check a Submit request; throws INVALID_ARGUMENT with every problem. */
function readSubmit(req: SubmitRequest): {
  file: string;
  catalogs: CatalogFiles;
  outputDir: string;
  planOptions: PlanOptions;
  scales: ReplayScales;
} {
  const problems: Problem[] = [];
  let file: string | undefined;
  if ('path' in req.workflow) {
    file = absolute('Submit workflow', req.workflow.path, problems);
  } else {
    problems.push({
      where: 'Submit workflow',
      message: 'YAML text is not accepted',
      hint: 'send the workflow as an absolute path readable by the scheduler (same host)',
    });
  }
  const catalogs: CatalogFiles = {};
  for (const c of req.catalogs) {
    const where = `Submit catalog ${c.kind}`;
    if (!('path' in c)) {
      problems.push({ where, message: 'YAML text is not accepted', hint: 'send a path' });
      continue;
    }
    if (catalogs[c.kind] !== undefined) problems.push({ where, message: 'given twice' });
    const p = absolute(where, c.path, problems);
    if (p !== undefined) catalogs[c.kind] = p;
  }
  const outputDir = absolute('Submit outputDir', req.outputDir, problems);
  if (req.outputDir === undefined) {
    problems.push({
      where: 'Submit outputDir',
      message: 'missing',
      hint: 'send the absolute directory the outputs go to',
    });
  }
  const scales: ReplayScales = {
    timeScale: scaleOf('timeScale', req.replay?.timeScale, 1e6, problems),
    sizeScale: scaleOf('sizeScale', req.replay?.sizeScale, 1e3, problems),
  };
  const o = req.options;
  const base = defaultPlanOptions();
  const sites = o.sites ?? [];
  for (const s of [...sites, ...(o.outputSite !== undefined ? [o.outputSite] : [])]) {
    const bad = validateSiteName(s);
    if (bad) problems.push({ where: 'Submit options', message: `site name ${bad}` });
  }
  if (problems.length > 0 || file === undefined || outputDir === undefined) {
    throw AloftError.invalid(problems);
  }
  const planOptions: PlanOptions = {
    ...base,
    sites,
    outputSite: o.outputSite ?? base.outputSite,
    cleanup: o.cleanup ?? base.cleanup,
    cluster: o.cluster ?? [],
    reuse: o.reuse ?? false,
    force: o.force ?? false,
    ...(o.siteSelector !== undefined ? { siteSelector: o.siteSelector } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.defaultRetries !== undefined ? { defaultRetries: o.defaultRetries } : {}),
  };
  return { file, catalogs, outputDir, planOptions, scales };
}

function agentStatus(a: AgentInfo): AgentStatus {
  return {
    ad: {
      agent: a.agent,
      site: a.site,
      sites: a.sites,
      host: a.host,
      slots: a.slots,
      cores: a.cores,
      memoryMb: a.memoryMb,
      diskFreeMb: a.diskFreeMb,
      executors: a.executors,
      labels: a.labels,
      ...(a.arch !== undefined ? { arch: a.arch } : {}),
      ...(a.os !== undefined ? { os: a.os } : {}),
      ...(a.gpus !== undefined ? { gpus: a.gpus } : {}),
      ...(a.prefetch !== undefined ? { prefetch: a.prefetch } : {}),
    },
    state: a.state,
    slotsInUse: a.slotsInUse,
    queued: a.queued,
    heartbeatAgeMs: Math.max(0, Math.round(a.heartbeatAgeMs)),
    running: a.running,
  };
}

function holdStatus(h: ReturnType<Scheduler['hold']>): HoldStatus {
  return { held: h.held, message: h.message, agents: [...h.agents].sort() };
}

export function createControlServer(options: ControlServerOptions): ControlServer {
  const { scheduler, dataDir } = options;
  const log = (options.logger ?? silentLogger).child({ component: 'control' });
  const authorized = tokenCheck(options.token);
  const every = options.watchIntervalMs ?? 250;
  /** Aborted by stop(): ends Watch streams and cancels loads in flight. */
  const stopping = new AbortController();
  let server: Server | undefined;

  function unary<Req, Res>(
    name: string,
    fn: (req: Req, signal: AbortSignal) => Promise<Res> | Res,
  ): (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void {
    return (call, cb) => {
      const denied = authorized(call.metadata);
      if (denied !== undefined) {
        log.warn({ rpc: name, peer: call.getPeer() }, 'unauthenticated call refused');
        cb(unauthenticated(denied));
        return;
      }
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort());
      const signal = AbortSignal.any([ac.signal, stopping.signal]);
      Promise.resolve()
        .then(() => fn(call.request, signal))
        .then(
          (res) => cb(null, res),
          (e: unknown) => {
            log.debug({ rpc: name, err: (e as Error).message }, 'call failed');
            cb(toStatusObject(e));
          },
        );
    };
  }

  /** Input generation per inputs dir, one at a time (their temp files would collide). */
  const generating = new Map<string, Promise<unknown>>();

  async function replayTrace(
    loaded: LoadedWorkflow,
    s: ReturnType<typeof readSubmit>,
    signal: AbortSignal,
  ): Promise<LoadedWorkflow> {
    // A path component of its own: no dots (no '..'), nothing else a path could carry.
    const name = loaded.workflow.name.replace(/[^A-Za-z0-9_-]/g, '_');
    const inputsDir = path.join(
      path.resolve(dataDir),
      'replay-inputs',
      name,
      `size-${s.scales.sizeScale}`,
    );
    const before = generating.get(inputsDir) ?? Promise.resolve();
    const mine = before
      .catch(() => undefined)
      .then(() =>
        prepareTraceSubmission(loaded, {
          sites: s.planOptions.sites,
          inputsDir,
          scales: s.scales,
          signal,
        }),
      );
    generating.set(inputsDir, mine);
    try {
      const made = await mine;
      log.info(
        { workflow: name, inputsDir, ...s.scales, ...made.inputs },
        'trace prepared for replay',
      );
      return made.loaded;
    } finally {
      if (generating.get(inputsDir) === mine) generating.delete(inputsDir);
    }
  }

  async function submit(req: SubmitRequest, signal: AbortSignal): Promise<SubmitReply> {
    const s = readSubmit(req);
    let loaded = await options.loadWorkflow(s.file, s.catalogs, signal);
    if (isImportedTrace(loaded)) {
      loaded = await replayTrace(loaded, s, signal);
    } else if (req.replay !== undefined) {
      throw AloftError.invalid({
        where: `Submit ${s.file}`,
        message: 'replay options apply to WfCommons traces only',
        hint: 'submit a WfFormat trace, or leave out the replay scales',
      });
    }
    if (req.name !== undefined && req.name !== '') loaded.workflow.name = req.name;
    const workflowId = await scheduler.submit(loaded, s.planOptions, { outputDir: s.outputDir });
    log.info({ workflow: workflowId, file: s.file }, 'workflow submitted over the control API');
    return { workflowId };
  }

  function watch(call: ServerWritableStream<WorkflowRef, WorkflowStatus>): void {
    const denied = authorized(call.metadata);
    if (denied !== undefined) {
      log.warn({ rpc: 'Watch', peer: call.getPeer() }, 'unauthenticated call refused');
      call.destroy(Object.assign(new Error(denied), unauthenticated(denied)));
      return;
    }
    const id = call.request.workflowId;
    let last = '';
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (e?: unknown): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      stopping.signal.removeEventListener('abort', onStop);
      if (e === undefined) call.end();
      else call.destroy(Object.assign(new Error((e as Error).message), toStatusObject(e)));
    };
    const onStop = (): void => finish();
    stopping.signal.addEventListener('abort', onStop, { once: true });
    call.on('cancelled', () => finish());
    const tick = async (): Promise<void> => {
      try {
        const st = await workflowStatus(scheduler, dataDir, id);
        if (done) return;
        const { updatedAt: _t, ...rest } = st;
        const key = JSON.stringify(rest);
        if (key !== last) {
          last = key;
          call.write(st);
        }
        if (ENDED.includes(st.state)) return finish();
        timer = setTimeout(() => void tick(), every);
      } catch (e) {
        finish(e);
      }
    };
    void tick();
  }

  const impl: UntypedServiceImplementation = {
    Submit: unary('Submit', submit),
    Status: unary<WorkflowRef, WorkflowStatus>('Status', (r, signal) =>
      workflowStatus(scheduler, dataDir, r.workflowId, signal),
    ),
    Watch: watch,
    Halt: unary<WorkflowRef, WorkflowStatus>('Halt', (r, signal) => {
      checkWorkflowId(r.workflowId);
      scheduler.halt(r.workflowId);
      log.info({ workflow: r.workflowId }, 'workflow halted');
      return workflowStatus(scheduler, dataDir, r.workflowId, signal);
    }),
    Resume: unary<WorkflowRef, WorkflowStatus>('Resume', (r, signal) => {
      checkWorkflowId(r.workflowId);
      scheduler.resume(r.workflowId);
      log.info({ workflow: r.workflowId }, 'workflow resumed');
      return workflowStatus(scheduler, dataDir, r.workflowId, signal);
    }),
    Remove: unary<WorkflowRef, WorkflowStatus>('Remove', async (r, signal) => {
      checkWorkflowId(r.workflowId);
      await scheduler.remove(r.workflowId);
      log.info({ workflow: r.workflowId }, 'workflow removed');
      return workflowStatus(scheduler, dataDir, r.workflowId, signal);
    }),
    Analyze: unary<WorkflowRef, Awaited<ReturnType<typeof analyzeWorkflow>>>(
      'Analyze',
      (r, signal) => analyzeWorkflow(scheduler, dataDir, r.workflowId, signal),
    ),
    ListAgents: unary<ListAgentsRequest, ListAgentsReply>('ListAgents', (r) => {
      const hold = scheduler.hold();
      return {
        agents: scheduler
          .listAgents()
          .filter((a) => !r.site || a.site === r.site || a.sites.includes(r.site))
          .map(agentStatus),
        ...(hold.held ? { hold: holdStatus(hold) } : {}),
      };
    }),
    DrainAgent: unary<DrainAgentRequest, AgentStatus>('DrainAgent', (r) => {
      const on = r.undo !== true;
      if (!scheduler.drainAgent(r.agent, on)) {
        throw new AloftError('NOT_FOUND', `no agent '${r.agent}' known to this scheduler`, {
          retryable: false,
          problems: [
            {
              where: `agent ${JSON.stringify(r.agent)}`,
              message: 'never heard from',
              hint: 'list the agents with `aloft agents`',
            },
          ],
        });
      }
      log.info({ agent: r.agent }, on ? 'agent drained by an operator' : 'agent undrained');
      const info = scheduler.listAgents().find((a) => a.agent === r.agent)!;
      return agentStatus(info);
    }),
    ReleaseHold: unary<ReleaseHoldRequest, ReleaseHoldReply>('ReleaseHold', () => {
      const hold = scheduler.hold();
      if (!hold.held) return { released: false };
      scheduler.releaseHold();
      log.info({ agents: hold.agents }, 'mass-loss hold released by an operator');
      return { released: true, hold: holdStatus(hold) };
    }),
  };

  async function credentials(signal?: AbortSignal): Promise<ServerCredentials> {
    const tls = options.tls;
    if (!tls) return ServerCredentials.createInsecure();
    const read = async (what: string, f: string): Promise<Buffer> => {
      try {
        return await readFile(f, { signal });
      } catch (e) {
        throw AloftError.invalid({
          where: `${what} ${f}`,
          message: `cannot be read: ${(e as Error).message}`,
          hint: 'point it at a PEM file',
        });
      }
    };
    const [cert, key, ca] = await Promise.all([
      read('tlsCert', tls.certFile),
      read('tlsKey', tls.keyFile),
      tls.caFile !== undefined ? read('tlsCa', tls.caFile) : Promise.resolve(null),
    ]);
    return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
  }

  return {
    async listen(address, signal) {
      if (server) throw new AloftError('FAILED_PRECONDITION', 'control server already listening');
      const creds = await credentials(signal);
      const s = new Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
      s.addService(controlService as unknown as ServiceDefinition, impl);
      const port = await new Promise<number>((resolve, reject) =>
        s.bindAsync(address, creds, (err, p) => (err ? reject(err) : resolve(p))),
      ).catch((e: unknown) => {
        throw AloftError.invalid({
          where: `listen ${address}`,
          message: `cannot listen: ${(e as Error).message}`,
          hint: 'pick a free HOST:PORT (port 0 = any free port)',
        });
      });
      server = s;
      const host = address.slice(0, address.lastIndexOf(':'));
      const bound = `${host}:${port}`;
      log.info(
        { address: bound, tls: !!options.tls, mtls: !!options.tls?.caFile, auth: !!options.token },
        'control API listening',
      );
      return bound;
    },

    async stop(graceMs = 5000) {
      stopping.abort();
      const s = server;
      server = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          s.forceShutdown();
          resolve();
        }, graceMs);
        s.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
