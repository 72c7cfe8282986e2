/**
 * TS forms of the aloft.v1 messages that have no TS type in proto/*.ts yet: the heartbeat,
 * the ad's optional hardware fields, and the control API (aloft.v1.Control). Plain data,
 * mapped field by field to the schemas in proto/schemas/aloft/v1/ by this folder's codecs.
 */
import type { AgentAd, TransferProgress } from '../agent-protocol.js';
import type { AttemptKey, Failure, FailureKind } from '../attempt.js';
import type { CleanupMode, ClusterStyle, SiteSelector } from '../plan.js';

/** Ad fields beyond proto/agent-protocol.ts' AgentAd; absent when the agent does not say. */
export interface AgentAdExtras {
  gpus?: number;
  /** os.arch(): x64, arm64, ... */
  arch?: string;
  /** os.platform(): linux, darwin, ... */
  os?: string;
  /** Bytes held in the agent's input cache. */
  cacheBytes?: number;
}

/** An ad as it travels: AgentAd plus the optional hardware fields. */
export type WireAgentAd = AgentAd & AgentAdExtras;

/** Tiny liveness message every few seconds (subject aloft.sched.heartbeat.<agent>). */
export interface Heartbeat {
  agent: string;
  /** +1 per heartbeat of one agent process. */
  seq: number;
  /** Attempts running on the agent now. */
  running: AttemptKey[];
  slotsInUse: number;
  diskFreeMb: number;
}

// ---- control API ----

export type CatalogKind = 'sites' | 'replicas' | 'transformations';

/** A catalog given with a submission: its YAML text, or a path on the scheduler's host. */
export type CatalogSource =
  { kind: CatalogKind; yaml: string } | { kind: CatalogKind; path: string };

/** Planning options of a submission; absent = the scheduler's default. */
export interface SubmitPlanOptions {
  sites?: string[];
  outputSite?: string;
  cleanup?: CleanupMode;
  cluster?: ClusterStyle[];
  reuse?: boolean;
  force?: boolean;
  siteSelector?: SiteSelector;
  seed?: number;
  defaultRetries?: number;
}

export interface SubmitRequest {
  /** Pegasus 5 YAML text, or a path on the scheduler's host. */
  workflow: { yaml: string } | { path: string };
  /** Name for the workflow when the YAML text has none. */
  name?: string;
  catalogs: CatalogSource[];
  outputDir?: string;
  options: SubmitPlanOptions;
  /** Scales of a replayed WfCommons trace; absent = `aloft replay`'s defaults. */
  replay?: SubmitReplayOptions;
}

/** Recorded runtimes and file sizes of a replayed trace are multiplied by these. */
export interface SubmitReplayOptions {
  timeScale?: number;
  sizeScale?: number;
}

export interface SubmitReply {
  workflowId: string;
}

/** Names a workflow: the request of Status, Watch, Halt, Resume, Remove and Analyze. */
export interface WorkflowRef {
  workflowId: string;
}

export type WorkflowState = 'running' | 'succeeded' | 'failed' | 'halted' | 'removed';
export const WORKFLOW_STATES: readonly WorkflowState[] = [
  'running',
  'succeeded',
  'failed',
  'halted',
  'removed',
];

/** Jobs by state (the status projection's states). */
export interface StateCounts {
  unready: number;
  ready: number;
  running: number;
  retrying: number;
  done: number;
  failed: number;
}

export interface WorkflowStatus {
  workflowId: string;
  name: string;
  state: WorkflowState;
  total: number;
  counts: StateCounts;
  /** ISO 8601 time of the latest journal event reflected. */
  updatedAt: string;
  detail?: string;
  /** Transfer jobs running now, with the progress their agents last reported. */
  transfers?: JobTransferView[];
}

/** A running transfer job with the progress its agent last reported. */
export interface JobTransferView extends TransferProgress {
  job: string;
  attempt: number;
}

export interface AttemptSummaryView {
  attempt: number;
  agent?: string;
  exitCode: number | null;
  signal: string | null;
  kind: FailureKind;
  message: string;
}

/** One failed job as `aloft analyze` shows it (services/analyzer FailedJob). */
export interface FailedJobView {
  job: string;
  /** Planned job kind name, or 'unknown'. */
  kind: string;
  transformation: string;
  /** Job state name: failed, retrying, ready, unready. */
  state: string;
  site?: string;
  agent?: string;
  host?: string;
  attempts: number;
  failedAttempts: number;
  attempt?: number;
  exitCode: number | null;
  signal: string | null;
  executor?: string;
  argv: string[];
  command: string;
  cwd?: string;
  start?: string;
  durationMs?: number;
  maxRssMb?: number;
  stderrTail: string;
  stdoutTail: string;
  missingFiles: string[];
  failure: Failure;
  cause: string;
  nextStep: string;
  history: AttemptSummaryView[];
}

export interface IdleJobView {
  job: string;
  /** Plain language, naming the requirement no agent satisfies. */
  summary: string;
  requirements: { requirement: string; matching: number }[];
}

export interface LostAttemptView {
  key: AttemptKey;
  agent: string;
  site: string;
  /** ISO 8601. */
  lostAt: string;
  reason: string;
}

export interface AnalyzeReply {
  workflowId: string;
  name: string;
  state: WorkflowState;
  detail?: string;
  summary: {
    total: number;
    succeeded: number;
    failed: number;
    unsubmitted: number;
    running: number;
    retrying: number;
  };
  failedJobs: FailedJobView[];
  idleJobs: IdleJobView[];
  lostAttempts: LostAttemptView[];
  blocked: { count: number; first: string[] };
  retriedThenSucceeded: { count: number; first: string[] };
  attemptFailures: Partial<Record<FailureKind, number>>;
  /** Nested analysis detail too rich to model, as a JSON text. */
  detailJson?: string;
}

export interface ListAgentsRequest {
  site?: string;
}

export type AgentState = 'ready' | 'draining' | 'quarantined' | 'lost';
export const AGENT_STATES: readonly AgentState[] = ['ready', 'draining', 'quarantined', 'lost'];

export interface AgentStatus {
  ad: WireAgentAd;
  state: AgentState;
  slotsInUse: number;
  /** Attempts reserved in its queue (ad.prefetch > 0), waiting for a slot. */
  queued: number;
  /** Age of the latest heartbeat on the scheduler's clock, ms. */
  heartbeatAgeMs: number;
  running: AttemptKey[];
}

/** The mass-loss guard's hold on rescheduling the attempts of lost agents. */
export interface HoldStatus {
  held: boolean;
  message: string;
  /** Lost agents whose attempts wait for the hold to be released. */
  agents: string[];
}

export interface ListAgentsReply {
  agents: AgentStatus[];
  /** Present while rescheduling is held. */
  hold?: HoldStatus;
}

export interface DrainAgentRequest {
  agent: string;
  /** Undo a drain: the agent takes work again. */
  undo?: boolean;
}

export type ReleaseHoldRequest = Record<string, never>;

export interface ReleaseHoldReply {
  /** False when nothing was held. */
  released: boolean;
  /** The hold that was released. */
  hold?: HoldStatus;
}
