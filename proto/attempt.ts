/**
 * The contract between the submit side and the execution side for one attempt of one
 * job: what the agent is asked to run, and what it reports back. Plain data; crosses the
 * in-process transport now and NATS later (issue 3 turns these into protobuf schemas).
 *
 * Every message about an attempt carries (job, attempt, epoch) so stale ones can be fenced.
 */

export interface AttemptKey {
  job: string;
  /** 1-based try number of this job. */
  attempt: number;
  /** Fencing token: bumped by the scheduler whenever ownership of the attempt changes. */
  epoch: number;
}

/** Why an attempt failed, carried as data (DESIGN §11, Temporal-style classification). */
export type FailureKind =
  /** The job's own program failed (non-zero exit, signal, missing declared output). */
  | 'application'
  /** Something around the job failed: agent lost, disk full, spawn error, store down. */
  | 'infrastructure'
  /** Data problem: missing input, checksum mismatch, unreadable replica. */
  | 'data'
  /** The job exceeded its runtime limit. */
  | 'timeout'
  /** Stopped on request (halt, remove, Ctrl-C); not the job's fault and not a try spent. */
  | 'cancelled';

export interface Failure {
  kind: FailureKind;
  /** One plain-language sentence. */
  message: string;
  /** Declared inputs or outputs that were not there. */
  missingFiles?: string[];
  /** The error code when it came from an AloftError or errno (e.g. ENOSPC). */
  code?: string;
}

export interface FileRecord {
  lfn: string;
  link: 'input' | 'output';
  size: number;
  sha256?: string;
}

export interface TransferRecord {
  lfn: string;
  src: string;
  dst: string;
  bytes: number;
  sha256?: string;
  durationMs: number;
  /** Source tried before this one succeeded, if a replica failed over. */
  failedSources?: string[];
  /**
   * How the agent's input cache served a stage-in: `hit` (no download: the cached copy, or
   * a download another attempt made at the same time), `miss` (downloaded into the cache
   * now), `bypass` (fetched straight into scratch, not cached: larger than the cache budget,
   * no way to key it, or entries in use left no room). Absent: the cache was not involved
   * (a hard link from a local store, a transfer job, an output).
   */
  cache?: CacheUse;
}

export type CacheUse = 'hit' | 'miss' | 'bypass';

/** What really happened: the kickstart record of aloft. */
export interface InvocationRecord {
  job: string;
  attempt: number;
  agent: string;
  site: string;
  host: string;
  user: string;
  /** Executor that ran it: process, transfer, synthetic, docker, slurm. */
  executor: string;
  argv: string[];
  cwd: string;
  /** ISO 8601 start time (wall clock, for humans). */
  start: string;
  durationMs: number;
  exitCode: number | null;
  signal: string | null;
  utimeMs: number;
  stimeMs: number;
  maxRssKb: number;
  stdoutTail: string;
  stderrTail: string;
  stdoutBytes: number;
  stderrBytes: number;
  files: FileRecord[];
  transfers: TransferRecord[];
}

/** The fields of an InvocationRecord that say who ran what, where; the rest is measurement. */
export type RecordIdentity = Pick<
  InvocationRecord,
  'job' | 'attempt' | 'agent' | 'site' | 'host' | 'user' | 'executor' | 'argv' | 'cwd' | 'start'
>;

/** A record with nothing measured yet (no exit, zero usage, no files), to fill in. */
export function emptyInvocationRecord(identity: RecordIdentity): InvocationRecord {
  // Field by field, not `...identity`: one record per attempt, and the spread of a
  // caller's object (any extra keys included) showed in the agent's profile.
  return {
    job: identity.job,
    attempt: identity.attempt,
    agent: identity.agent,
    site: identity.site,
    host: identity.host,
    user: identity.user,
    executor: identity.executor,
    argv: identity.argv,
    cwd: identity.cwd,
    start: identity.start,
    durationMs: 0,
    exitCode: null,
    signal: null,
    utimeMs: 0,
    stimeMs: 0,
    maxRssKb: 0,
    stdoutTail: '',
    stderrTail: '',
    stdoutBytes: 0,
    stderrBytes: 0,
    files: [],
    transfers: [],
  };
}

export type AttemptOutcome =
  | { ok: true; record: InvocationRecord }
  | { ok: false; record: InvocationRecord; failure: Failure };
