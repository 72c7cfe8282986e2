/**
 * The executor seam of the agent (DESIGN §6 "Agents"): an executor runs the body of one
 * attempt — after the agent has staged inputs into the scratch directory and before it
 * stages outputs out — and says what happened. Executors never talk to the transport and
 * never touch the outbox; the agent owns the attempt's lifecycle.
 *
 * Contract: `run` resolves with an outcome for everything the job itself did, including
 * its failures (classified); it rejects only when it was aborted (AloftError CANCELLED) or
 * on a bug. When `ctx.signal` aborts, the executor stops its work promptly (processes:
 * SIGTERM to the process group, SIGKILL after the grace period) and settles.
 */
import type { Logger } from '../../lib/logging/index.js';
import type {
  AttemptKey,
  Failure,
  InvocationRecord,
  PlannedJob,
  TransferProgress,
} from '../../proto/index.js';

export interface ExecContext {
  /** The job to run (for a cluster: one member). */
  job: PlannedJob;
  key: AttemptKey;
  agent: string;
  site: string;
  /** The attempt's scratch directory (cwd of processes); inputs are already in it. */
  scratch: string;
  signal: AbortSignal;
  logger: Logger;
  /**
   * Prefix of the agent's own files in scratch (`${prefix}.stdout`, `.stderr`, ...); cluster
   * members get distinct prefixes so each keeps its own logs. Default `.aloft`.
   */
  filePrefix?: string;
  /**
   * Progress of a job that moves many files (transfer jobs): called with the totals so far
   * whenever they change. The agent throttles what it publishes; executors just report.
   */
  progress?: (p: TransferProgress) => void;
}

/** What an executor measured: the measurement half of an InvocationRecord (files are added
 *  by the agent's stage-out). */
export interface ExecOutcome extends Pick<
  InvocationRecord,
  | 'executor'
  | 'argv'
  | 'exitCode'
  | 'signal'
  | 'utimeMs'
  | 'stimeMs'
  | 'maxRssKb'
  | 'stdoutTail'
  | 'stderrTail'
  | 'stdoutBytes'
  | 'stderrBytes'
  | 'transfers'
> {
  /** Set when the job failed; absent = success. */
  failure?: Failure;
}

export interface Executor {
  /** Name advertised in the agent's ad and recorded in invocation records. */
  readonly name: string;
  run(ctx: ExecContext): Promise<ExecOutcome>;
  /** Release what the executor holds between attempts (helper processes, connections). */
  close?(): Promise<void>;
}

/** An outcome with nothing run yet, to fill in. */
export function emptyOutcome(executor: string, argv: string[]): ExecOutcome {
  return {
    executor,
    argv,
    exitCode: null,
    signal: null,
    utimeMs: 0,
    stimeMs: 0,
    maxRssKb: 0,
    stdoutTail: '',
    stderrTail: '',
    stdoutBytes: 0,
    stderrBytes: 0,
    transfers: [],
  };
}

/** The outcome marked failed, classified (process and docker executors). */
export function fail(
  outcome: ExecOutcome,
  kind: Failure['kind'],
  message: string,
  extra: Omit<Failure, 'kind' | 'message'> = {},
): ExecOutcome {
  return { ...outcome, failure: { kind, message, ...extra } };
}

/** argv as planned (before any staging of the executable): [pfn, ...args]. */
export function plannedArgv(job: PlannedJob): string[] {
  return [job.executable?.pfn ?? `aloft:${job.kind}`, ...(job.args ?? [])];
}
