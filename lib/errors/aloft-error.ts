/**
 * The one error class of aloft (DESIGN §11). Codes follow gRPC's names so they map onto
 * the wire later without translation; `retryable` tells callers whether trying again can
 * help. Invalid input is reported as INVALID_ARGUMENT with a list of problems, so that a
 * user sees every bad key at once instead of fixing them one run at a time.
 */

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'PERMISSION_DENIED'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'RESOURCE_EXHAUSTED'
  | 'CANCELLED'
  | 'DEADLINE_EXCEEDED'
  | 'ABORTED'
  | 'UNAVAILABLE'
  | 'DATA_LOSS'
  | 'INTERNAL';

/** One thing wrong with an input: where it is, what is wrong, and how to fix it. */
export interface Problem {
  /** File, file:line, job id or key path, e.g. `workflow.yml: jobs[3].id`. */
  where: string;
  /** What is wrong, in one sentence. */
  message: string;
  /** How to fix it, when there is something better to say than "fix it". */
  hint?: string;
}

export interface AloftErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  problems?: Problem[];
}

const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set([
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'ABORTED',
  'RESOURCE_EXHAUSTED',
]);

export class AloftError extends Error {
  override readonly name = 'AloftError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly problems: readonly Problem[];

  constructor(code: ErrorCode, message: string, options: AloftErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.problems = options.problems ?? [];
  }

  /** Invalid user input: a workflow, catalog, flag or message. Exit code 2 at the CLI. */
  static invalid(problems: Problem[] | Problem, summary?: string): AloftError {
    const list = Array.isArray(problems) ? problems : [problems];
    const first = list[0];
    const message =
      summary ??
      (list.length === 1 && first
        ? `${first.where}: ${first.message}`
        : `${list.length} problems found`);
    return new AloftError('INVALID_ARGUMENT', message, { problems: list, retryable: false });
  }

  /** Plain-data form for journals and the wire (no stack traces cross a boundary). */
  toJSON(): { code: ErrorCode; message: string; retryable: boolean; problems: Problem[] } {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      problems: [...this.problems],
    };
  }
}

export function isAloftError(e: unknown): e is AloftError {
  return e instanceof AloftError;
}

/**
 * Normalise anything thrown into an AloftError at a boundary. Node system errors keep their
 * errno code in the message; AbortErrors become CANCELLED.
 */
export function toAloftError(e: unknown, fallback: ErrorCode = 'INTERNAL'): AloftError {
  if (e instanceof AloftError) return e;
  if (e instanceof Error) {
    if (e.name === 'AbortError')
      return new AloftError('CANCELLED', 'operation cancelled', { cause: e });
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === 'ENOSPC' || errno === 'EDQUOT') {
      return new AloftError('RESOURCE_EXHAUSTED', e.message, { cause: e });
    }
    if (errno === 'ENOENT')
      return new AloftError('NOT_FOUND', e.message, { cause: e, retryable: false });
    return new AloftError(fallback, e.message, { cause: e });
  }
  return new AloftError(fallback, String(e));
}

/** Render problems for a terminal: one line each, with the fix indented beneath. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems
    .map((p) => `${p.where}: ${p.message}${p.hint ? `\n    fix: ${p.hint}` : ''}`)
    .join('\n');
}
