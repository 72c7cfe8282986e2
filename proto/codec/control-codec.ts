/**
 * Codecs of the control API (service aloft.v1.Control) and a grpc-js compatible service
 * definition built from them, so the scheduler's server and the CLI's client need no
 * proto loader: `server.addService(controlService, impl)` and
 * `makeGenericClientConstructor(controlService, 'Control')` work with it directly.
 */
import { aloft } from '../generated/aloft.js';
import type { CleanupMode, ClusterStyle, SiteSelector } from '../plan.js';
import type { FailureKind } from '../attempt.js';
import {
  AGENT_STATES,
  WORKFLOW_STATES,
  type AgentState,
  type AgentStatus,
  type AnalyzeReply,
  type AttemptSummaryView,
  type CatalogKind,
  type CatalogSource,
  type DrainAgentRequest,
  type FailedJobView,
  type HoldStatus,
  type ListAgentsReply,
  type ListAgentsRequest,
  type ReleaseHoldReply,
  type ReleaseHoldRequest,
  type SubmitPlanOptions,
  type SubmitReplayOptions,
  type SubmitReply,
  type SubmitRequest,
  type WorkflowRef,
  type WorkflowState,
  type WorkflowStatus,
} from './wire-types.js';
import {
  FAILURE_KIND,
  FAILURE_KINDS,
  failureIn,
  failureOut,
  keyIn,
  keyOut,
} from './attempt-codec.js';
import { agentAdIn, agentAdOut } from './agent-codec.js';
import { messageCodec, type MessageCodec } from './message-codec.js';
import { EnumMap, fromInt64, present, toSint, toUint, type Problems } from './wire-support.js';

import v1 = aloft.v1;

const WORKFLOW_STATE = new EnumMap<WorkflowState>('workflow state', WORKFLOW_STATES);
const AGENT_STATE = new EnumMap<AgentState>('agent state', AGENT_STATES);
const CATALOG_KINDS: readonly CatalogKind[] = ['sites', 'replicas', 'transformations'];
const CLEANUP: readonly CleanupMode[] = ['inplace', 'leaf', 'constraint', 'none'];
const CLUSTER: readonly ClusterStyle[] = ['horizontal', 'label'];
const SELECTOR: readonly SiteSelector[] = ['random', 'round-robin'];

function oneOf<T extends string>(p: Problems, path: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) {
    p.add(path, `unknown value '${v}'`, `one of ${allowed.join(', ')}`);
  }
  return v as T;
}

// ---- Submit ----

function optionsOut(p: Problems, o: SubmitPlanOptions): v1.ISubmitPlanOptions {
  const m: v1.ISubmitPlanOptions = {};
  if (o.sites !== undefined) m.sites = { values: o.sites };
  if (o.outputSite !== undefined) m.outputSite = o.outputSite;
  if (o.cleanup !== undefined) m.cleanup = oneOf(p, 'options.cleanup', o.cleanup, CLEANUP);
  if (o.cluster !== undefined) m.cluster = { values: o.cluster };
  if (o.reuse !== undefined) m.reuse = o.reuse;
  if (o.force !== undefined) m.force = o.force;
  if (o.siteSelector !== undefined)
    m.siteSelector = oneOf(p, 'options.siteSelector', o.siteSelector, SELECTOR);
  if (o.seed !== undefined) m.seed = toSint(p, 'options.seed', o.seed, 64);
  if (o.defaultRetries !== undefined)
    m.defaultRetries = toUint(p, 'options.defaultRetries', o.defaultRetries, 32);
  return m;
}

function optionsIn(p: Problems, m: v1.ISubmitPlanOptions | null | undefined): SubmitPlanOptions {
  const o: SubmitPlanOptions = {};
  if (!present(m)) return o;
  if (present(m.sites)) o.sites = m.sites.values ?? [];
  if (present(m.outputSite)) o.outputSite = m.outputSite;
  if (present(m.cleanup)) o.cleanup = oneOf(p, 'options.cleanup', m.cleanup, CLEANUP);
  if (present(m.cluster))
    o.cluster = (m.cluster.values ?? []).map((c, i) =>
      oneOf(p, `options.cluster[${i}]`, c, CLUSTER),
    );
  if (present(m.reuse)) o.reuse = m.reuse;
  if (present(m.force)) o.force = m.force;
  if (present(m.siteSelector))
    o.siteSelector = oneOf(p, 'options.siteSelector', m.siteSelector, SELECTOR);
  if (present(m.seed)) o.seed = fromInt64(p, 'options.seed', m.seed);
  if (present(m.defaultRetries)) o.defaultRetries = m.defaultRetries;
  return o;
}

function replayOut(r: SubmitReplayOptions): v1.ISubmitReplayOptions {
  const m: v1.ISubmitReplayOptions = {};
  if (r.timeScale !== undefined) m.timeScale = r.timeScale;
  if (r.sizeScale !== undefined) m.sizeScale = r.sizeScale;
  return m;
}

function replayIn(m: v1.ISubmitReplayOptions): SubmitReplayOptions {
  const r: SubmitReplayOptions = {};
  if (present(m.timeScale)) r.timeScale = m.timeScale;
  if (present(m.sizeScale)) r.sizeScale = m.sizeScale;
  return r;
}

export const submitRequestCodec = messageCodec<SubmitRequest, v1.ISubmitRequest>(
  'aloft.v1.SubmitRequest',
  v1.SubmitRequest,
  (p, r) => {
    const m: v1.ISubmitRequest = {
      catalogs: r.catalogs.map((c, i) => {
        const kind = oneOf(p, `catalogs[${i}].kind`, c.kind, CATALOG_KINDS);
        return 'yaml' in c ? { kind, yaml: c.yaml } : { kind, path: c.path };
      }),
      options: optionsOut(p, r.options),
    };
    if ('yaml' in r.workflow) m.yaml = r.workflow.yaml;
    else m.path = r.workflow.path;
    if (r.name !== undefined) m.name = r.name;
    if (r.outputDir !== undefined) m.outputDir = r.outputDir;
    if (r.replay !== undefined) m.replay = replayOut(r.replay);
    return m;
  },
  (p, m) => {
    let workflow: SubmitRequest['workflow'];
    if (present(m.yaml)) workflow = { yaml: m.yaml };
    else if (present(m.path)) workflow = { path: m.path };
    else {
      p.add('workflow', 'missing: give the workflow YAML text or a path');
      workflow = { path: '' };
    }
    const catalogs: CatalogSource[] = (m.catalogs ?? []).map((c, i) => {
      const kind = oneOf(p, `catalogs[${i}].kind`, c.kind ?? '', CATALOG_KINDS);
      if (present(c.yaml)) return { kind, yaml: c.yaml };
      if (!present(c.path))
        p.add(`catalogs[${i}]`, 'missing: give the catalog YAML text or a path');
      return { kind, path: c.path ?? '' };
    });
    const r: SubmitRequest = { workflow, catalogs, options: optionsIn(p, m.options) };
    if (present(m.name)) r.name = m.name;
    if (present(m.outputDir)) r.outputDir = m.outputDir;
    if (present(m.replay)) r.replay = replayIn(m.replay);
    return r;
  },
);

export const submitReplyCodec = messageCodec<SubmitReply, v1.ISubmitReply>(
  'aloft.v1.SubmitReply',
  v1.SubmitReply,
  (_p, r) => ({ workflowId: r.workflowId }),
  (_p, m) => ({ workflowId: m.workflowId ?? '' }),
);

export const workflowRefCodec = messageCodec<WorkflowRef, v1.IWorkflowRef>(
  'aloft.v1.WorkflowRef',
  v1.WorkflowRef,
  (_p, r) => ({ workflowId: r.workflowId }),
  (_p, m) => ({ workflowId: m.workflowId ?? '' }),
);

// ---- Status ----

const COUNT_KEYS = ['unready', 'ready', 'running', 'retrying', 'done', 'failed'] as const;

export const workflowStatusCodec = messageCodec<WorkflowStatus, v1.IWorkflowStatus>(
  'aloft.v1.WorkflowStatus',
  v1.WorkflowStatus,
  (p, s) => {
    const counts: v1.IStateCounts = {};
    for (const k of COUNT_KEYS) counts[k] = toUint(p, `counts.${k}`, s.counts[k], 32);
    const m: v1.IWorkflowStatus = {
      workflowId: s.workflowId,
      name: s.name,
      state: WORKFLOW_STATE.encode(p, 'state', s.state),
      total: toUint(p, 'total', s.total, 32),
      counts,
      updatedAt: s.updatedAt,
    };
    if (s.detail !== undefined) m.detail = s.detail;
    if (s.transfers && s.transfers.length > 0) {
      m.transfers = s.transfers.map((t, i) => ({
        job: t.job,
        attempt: toUint(p, `transfers[${i}].attempt`, t.attempt, 32),
        progress: {
          filesDone: toUint(p, `transfers[${i}].filesDone`, t.filesDone, 32),
          filesTotal: toUint(p, `transfers[${i}].filesTotal`, t.filesTotal, 32),
          bytesDone: toUint(p, `transfers[${i}].bytesDone`, t.bytesDone, 64),
          bytesTotal: toUint(p, `transfers[${i}].bytesTotal`, t.bytesTotal, 64),
        },
      }));
    }
    return m;
  },
  (p, m) => {
    if (!present(m.counts)) p.add('counts', 'missing');
    const c = m.counts ?? {};
    const s: WorkflowStatus = {
      workflowId: m.workflowId ?? '',
      name: m.name ?? '',
      state: WORKFLOW_STATE.decode(p, 'state', m.state),
      total: m.total ?? 0,
      counts: {
        unready: c.unready ?? 0,
        ready: c.ready ?? 0,
        running: c.running ?? 0,
        retrying: c.retrying ?? 0,
        done: c.done ?? 0,
        failed: c.failed ?? 0,
      },
      updatedAt: m.updatedAt ?? '',
    };
    if (present(m.detail)) s.detail = m.detail;
    if (m.transfers && m.transfers.length > 0) {
      s.transfers = m.transfers.map((t, i) => ({
        job: t.job ?? '',
        attempt: t.attempt ?? 0,
        filesDone: t.progress?.filesDone ?? 0,
        filesTotal: t.progress?.filesTotal ?? 0,
        bytesDone: fromInt64(p, `transfers[${i}].bytesDone`, t.progress?.bytesDone),
        bytesTotal: fromInt64(p, `transfers[${i}].bytesTotal`, t.progress?.bytesTotal),
      }));
    }
    return s;
  },
);

// ---- Analyze ----

function historyOut(p: Problems, path: string, h: AttemptSummaryView): v1.IAttemptSummary {
  const m: v1.IAttemptSummary = {
    attempt: toUint(p, `${path}.attempt`, h.attempt, 32),
    kind: FAILURE_KIND.encode(p, `${path}.kind`, h.kind),
    message: h.message,
  };
  if (h.agent !== undefined) m.agent = h.agent;
  if (h.exitCode !== null) m.exitCode = toSint(p, `${path}.exitCode`, h.exitCode, 32);
  if (h.signal !== null) m.signal = h.signal;
  return m;
}

function historyIn(p: Problems, path: string, m: v1.IAttemptSummary): AttemptSummaryView {
  const h: AttemptSummaryView = {
    attempt: m.attempt ?? 0,
    exitCode: present(m.exitCode) ? m.exitCode : null,
    signal: present(m.signal) ? m.signal : null,
    kind: FAILURE_KIND.decode(p, `${path}.kind`, m.kind),
    message: m.message ?? '',
  };
  if (present(m.agent)) h.agent = m.agent;
  return h;
}

const FAILED_OPTIONAL = ['site', 'agent', 'host', 'executor', 'cwd', 'start'] as const;

function failedOut(p: Problems, path: string, f: FailedJobView): v1.IFailedJob {
  const m: v1.IFailedJob = {
    job: f.job,
    kind: f.kind,
    transformation: f.transformation,
    state: f.state,
    attempts: toUint(p, `${path}.attempts`, f.attempts, 32),
    failedAttempts: toUint(p, `${path}.failedAttempts`, f.failedAttempts, 32),
    argv: f.argv,
    command: f.command,
    stderrTail: f.stderrTail,
    stdoutTail: f.stdoutTail,
    missingFiles: f.missingFiles,
    failure: failureOut(p, `${path}.failure`, f.failure),
    cause: f.cause,
    nextStep: f.nextStep,
    history: f.history.map((h, i) => historyOut(p, `${path}.history[${i}]`, h)),
  };
  for (const k of FAILED_OPTIONAL) if (f[k] !== undefined) m[k] = f[k];
  if (f.attempt !== undefined) m.attempt = toUint(p, `${path}.attempt`, f.attempt, 32);
  if (f.exitCode !== null) m.exitCode = toSint(p, `${path}.exitCode`, f.exitCode, 32);
  if (f.signal !== null) m.signal = f.signal;
  if (f.durationMs !== undefined) m.durationMs = f.durationMs;
  if (f.maxRssMb !== undefined) m.maxRssMb = f.maxRssMb;
  return m;
}

function failedIn(p: Problems, path: string, m: v1.IFailedJob): FailedJobView {
  if (!present(m.failure)) p.add(`${path}.failure`, 'missing');
  const f: FailedJobView = {
    job: m.job ?? '',
    kind: m.kind ?? '',
    transformation: m.transformation ?? '',
    state: m.state ?? '',
    attempts: m.attempts ?? 0,
    failedAttempts: m.failedAttempts ?? 0,
    exitCode: present(m.exitCode) ? m.exitCode : null,
    signal: present(m.signal) ? m.signal : null,
    argv: m.argv ?? [],
    command: m.command ?? '',
    stderrTail: m.stderrTail ?? '',
    stdoutTail: m.stdoutTail ?? '',
    missingFiles: m.missingFiles ?? [],
    failure: failureIn(p, `${path}.failure`, m.failure ?? { kind: 2 }),
    cause: m.cause ?? '',
    nextStep: m.nextStep ?? '',
    history: (m.history ?? []).map((h, i) => historyIn(p, `${path}.history[${i}]`, h)),
  };
  for (const k of FAILED_OPTIONAL) {
    const v = m[k];
    if (present(v)) f[k] = v;
  }
  if (present(m.attempt)) f.attempt = m.attempt;
  if (present(m.durationMs)) f.durationMs = m.durationMs;
  if (present(m.maxRssMb)) f.maxRssMb = m.maxRssMb;
  return f;
}

const SUMMARY_KEYS = [
  'total',
  'succeeded',
  'failed',
  'unsubmitted',
  'running',
  'retrying',
] as const;

export const analyzeReplyCodec = messageCodec<AnalyzeReply, v1.IAnalyzeReply>(
  'aloft.v1.AnalyzeReply',
  v1.AnalyzeReply,
  (p, a) => {
    const summary: v1.IAnalysisSummary = {};
    for (const k of SUMMARY_KEYS) summary[k] = toUint(p, `summary.${k}`, a.summary[k], 32);
    const attemptFailures: Record<string, number> = {};
    for (const k of FAILURE_KINDS) {
      const n = a.attemptFailures[k];
      if (n !== undefined) attemptFailures[k] = toUint(p, `attemptFailures.${k}`, n, 32);
    }
    const m: v1.IAnalyzeReply = {
      workflowId: a.workflowId,
      name: a.name,
      state: WORKFLOW_STATE.encode(p, 'state', a.state),
      summary,
      failedJobs: a.failedJobs.map((f, i) => failedOut(p, `failedJobs[${i}]`, f)),
      idleJobs: a.idleJobs.map((j, i) => ({
        job: j.job,
        summary: j.summary,
        requirements: j.requirements.map((r, k) => ({
          requirement: r.requirement,
          matching: toUint(p, `idleJobs[${i}].requirements[${k}].matching`, r.matching, 32),
        })),
      })),
      lostAttempts: a.lostAttempts.map((l, i) => ({
        key: keyOut(p, `lostAttempts[${i}].key`, l.key),
        agent: l.agent,
        site: l.site,
        lostAt: l.lostAt,
        reason: l.reason,
      })),
      blocked: { count: toUint(p, 'blocked.count', a.blocked.count, 32), first: a.blocked.first },
      retriedThenSucceeded: {
        count: toUint(p, 'retriedThenSucceeded.count', a.retriedThenSucceeded.count, 32),
        first: a.retriedThenSucceeded.first,
      },
      attemptFailures,
    };
    if (a.detail !== undefined) m.detail = a.detail;
    if (a.detailJson !== undefined) m.detailJson = a.detailJson;
    return m;
  },
  (p, m) => {
    const s = m.summary ?? {};
    const attemptFailures: Partial<Record<FailureKind, number>> = {};
    for (const [k, n] of Object.entries(m.attemptFailures ?? {})) {
      const kind = oneOf(p, `attemptFailures.${k}`, k, FAILURE_KINDS);
      attemptFailures[kind] = n;
    }
    const a: AnalyzeReply = {
      workflowId: m.workflowId ?? '',
      name: m.name ?? '',
      state: WORKFLOW_STATE.decode(p, 'state', m.state),
      summary: {
        total: s.total ?? 0,
        succeeded: s.succeeded ?? 0,
        failed: s.failed ?? 0,
        unsubmitted: s.unsubmitted ?? 0,
        running: s.running ?? 0,
        retrying: s.retrying ?? 0,
      },
      failedJobs: (m.failedJobs ?? []).map((f, i) => failedIn(p, `failedJobs[${i}]`, f)),
      idleJobs: (m.idleJobs ?? []).map((j) => ({
        job: j.job ?? '',
        summary: j.summary ?? '',
        requirements: (j.requirements ?? []).map((r) => ({
          requirement: r.requirement ?? '',
          matching: r.matching ?? 0,
        })),
      })),
      lostAttempts: (m.lostAttempts ?? []).map((l, i) => ({
        key: keyIn(p, `lostAttempts[${i}].key`, l.key),
        agent: l.agent ?? '',
        site: l.site ?? '',
        lostAt: l.lostAt ?? '',
        reason: l.reason ?? '',
      })),
      blocked: { count: m.blocked?.count ?? 0, first: m.blocked?.first ?? [] },
      retriedThenSucceeded: {
        count: m.retriedThenSucceeded?.count ?? 0,
        first: m.retriedThenSucceeded?.first ?? [],
      },
      attemptFailures,
    };
    if (present(m.detail)) a.detail = m.detail;
    if (present(m.detailJson)) a.detailJson = m.detailJson;
    return a;
  },
);

// ---- ListAgents ----

export const listAgentsRequestCodec = messageCodec<ListAgentsRequest, v1.IListAgentsRequest>(
  'aloft.v1.ListAgentsRequest',
  v1.ListAgentsRequest,
  (_p, r) => (r.site !== undefined ? { site: r.site } : {}),
  (_p, m) => (present(m.site) ? { site: m.site } : {}),
);

function agentStatusOut(p: Problems, path: string, a: AgentStatus): v1.IAgentStatus {
  return {
    ad: agentAdOut(p, a.ad, `${path}.ad.`),
    state: AGENT_STATE.encode(p, `${path}.state`, a.state),
    slotsInUse: toUint(p, `${path}.slotsInUse`, a.slotsInUse, 32),
    queued: toUint(p, `${path}.queued`, a.queued, 32),
    heartbeatAgeMs: a.heartbeatAgeMs,
    running: a.running.map((k, i) => keyOut(p, `${path}.running[${i}]`, k)),
  };
}

function agentStatusIn(p: Problems, path: string, m: v1.IAgentStatus): AgentStatus {
  if (!present(m.ad)) p.add(`${path}.ad`, 'missing');
  return {
    ad: agentAdIn(p, m.ad ?? {}, `${path}.ad.`),
    state: AGENT_STATE.decode(p, `${path}.state`, m.state),
    slotsInUse: m.slotsInUse ?? 0,
    queued: m.queued ?? 0,
    heartbeatAgeMs: m.heartbeatAgeMs ?? 0,
    running: (m.running ?? []).map((k, i) => keyIn(p, `${path}.running[${i}]`, k)),
  };
}

const holdOut = (h: HoldStatus): v1.IHoldStatus => ({
  held: h.held,
  message: h.message,
  agents: h.agents,
});

const holdIn = (m: v1.IHoldStatus): HoldStatus => ({
  held: m.held ?? false,
  message: m.message ?? '',
  agents: m.agents ?? [],
});

export const listAgentsReplyCodec = messageCodec<ListAgentsReply, v1.IListAgentsReply>(
  'aloft.v1.ListAgentsReply',
  v1.ListAgentsReply,
  (p, r) => {
    const m: v1.IListAgentsReply = {
      agents: r.agents.map((a, i) => agentStatusOut(p, `agents[${i}]`, a)),
    };
    if (r.hold !== undefined) m.hold = holdOut(r.hold);
    return m;
  },
  (p, m) => {
    const r: ListAgentsReply = {
      agents: (m.agents ?? []).map((a, i) => agentStatusIn(p, `agents[${i}]`, a)),
    };
    if (present(m.hold)) r.hold = holdIn(m.hold);
    return r;
  },
);

export const agentStatusCodec = messageCodec<AgentStatus, v1.IAgentStatus>(
  'aloft.v1.AgentStatus',
  v1.AgentStatus,
  (p, a) => agentStatusOut(p, 'agent', a),
  (p, m) => agentStatusIn(p, 'agent', m),
);

// ---- DrainAgent, ReleaseHold ----

export const drainAgentRequestCodec = messageCodec<DrainAgentRequest, v1.IDrainAgentRequest>(
  'aloft.v1.DrainAgentRequest',
  v1.DrainAgentRequest,
  (_p, r) => (r.undo !== undefined ? { agent: r.agent, undo: r.undo } : { agent: r.agent }),
  (_p, m) => (m.undo ? { agent: m.agent ?? '', undo: true } : { agent: m.agent ?? '' }),
);

export const releaseHoldRequestCodec = messageCodec<ReleaseHoldRequest, v1.IReleaseHoldRequest>(
  'aloft.v1.ReleaseHoldRequest',
  v1.ReleaseHoldRequest,
  () => ({}),
  () => ({}),
);

export const releaseHoldReplyCodec = messageCodec<ReleaseHoldReply, v1.IReleaseHoldReply>(
  'aloft.v1.ReleaseHoldReply',
  v1.ReleaseHoldReply,
  (_p, r) => {
    const m: v1.IReleaseHoldReply = { released: r.released };
    if (r.hold !== undefined) m.hold = holdOut(r.hold);
    return m;
  },
  (_p, m) => {
    const r: ReleaseHoldReply = { released: m.released ?? false };
    if (present(m.hold)) r.hold = holdIn(m.hold);
    return r;
  },
);

// ---- the service ----

/** One method of a grpc-js ServiceDefinition (structurally; no grpc-js import here). */
export interface ControlMethod<Req, Res> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  originalName: string;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(bytes: Buffer): Res;
}

function method<Req, Res>(
  name: string,
  req: MessageCodec<Req>,
  res: MessageCodec<Res>,
  responseStream = false,
): ControlMethod<Req, Res> {
  const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  return {
    path: `/aloft.v1.Control/${name}`,
    requestStream: false,
    responseStream,
    originalName: name.charAt(0).toLowerCase() + name.slice(1),
    requestSerialize: (v) => buf(req.encode(v)),
    requestDeserialize: (b) => req.decode(b),
    responseSerialize: (v) => buf(res.encode(v)),
    responseDeserialize: (b) => res.decode(b),
  };
}

/** grpc-js service definition of aloft.v1.Control (method keys as in the .proto). */
export const controlService = {
  Submit: method('Submit', submitRequestCodec, submitReplyCodec),
  Status: method('Status', workflowRefCodec, workflowStatusCodec),
  Watch: method('Watch', workflowRefCodec, workflowStatusCodec, true),
  Halt: method('Halt', workflowRefCodec, workflowStatusCodec),
  Resume: method('Resume', workflowRefCodec, workflowStatusCodec),
  Remove: method('Remove', workflowRefCodec, workflowStatusCodec),
  Analyze: method('Analyze', workflowRefCodec, analyzeReplyCodec),
  ListAgents: method('ListAgents', listAgentsRequestCodec, listAgentsReplyCodec),
  DrainAgent: method('DrainAgent', drainAgentRequestCodec, agentStatusCodec),
  ReleaseHold: method('ReleaseHold', releaseHoldRequestCodec, releaseHoldReplyCodec),
} as const;

export const encodeSubmitRequest = (v: SubmitRequest): Uint8Array => submitRequestCodec.encode(v);
export const decodeSubmitRequest = (b: Uint8Array): SubmitRequest => submitRequestCodec.decode(b);
export const encodeSubmitReply = (v: SubmitReply): Uint8Array => submitReplyCodec.encode(v);
export const decodeSubmitReply = (b: Uint8Array): SubmitReply => submitReplyCodec.decode(b);
export const encodeWorkflowRef = (v: WorkflowRef): Uint8Array => workflowRefCodec.encode(v);
export const decodeWorkflowRef = (b: Uint8Array): WorkflowRef => workflowRefCodec.decode(b);
export const encodeWorkflowStatus = (v: WorkflowStatus): Uint8Array =>
  workflowStatusCodec.encode(v);
export const decodeWorkflowStatus = (b: Uint8Array): WorkflowStatus =>
  workflowStatusCodec.decode(b);
export const encodeAnalyzeReply = (v: AnalyzeReply): Uint8Array => analyzeReplyCodec.encode(v);
export const decodeAnalyzeReply = (b: Uint8Array): AnalyzeReply => analyzeReplyCodec.decode(b);
export const encodeListAgentsRequest = (v: ListAgentsRequest): Uint8Array =>
  listAgentsRequestCodec.encode(v);
export const decodeListAgentsRequest = (b: Uint8Array): ListAgentsRequest =>
  listAgentsRequestCodec.decode(b);
export const encodeListAgentsReply = (v: ListAgentsReply): Uint8Array =>
  listAgentsReplyCodec.encode(v);
export const decodeListAgentsReply = (b: Uint8Array): ListAgentsReply =>
  listAgentsReplyCodec.decode(b);
