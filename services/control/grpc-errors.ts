/**
 * AloftError <-> gRPC status, both directions. The server sends an AloftError as the gRPC
 * status of the same name (the codes are gRPC's) plus trailing metadata `aloft-code` and
 * `aloft-problems-bin` (the problems as JSON), so the client rebuilds the same AloftError
 * and the CLI renders it like a local one. A status without `aloft-code` did not come from
 * our handlers (connection refused, TLS failure, deadline): `fromServiceError` reports
 * those as "cannot reach scheduler", an environment problem (exit 2).
 */
import { Metadata, status as Status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { AloftError, toAloftError, type ErrorCode, type Problem } from '../../lib/errors/index.js';

const CODE_KEY = 'aloft-code';
const PROBLEMS_KEY = 'aloft-problems-bin';

const CODES: readonly ErrorCode[] = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'FAILED_PRECONDITION',
  'RESOURCE_EXHAUSTED',
  'CANCELLED',
  'DEADLINE_EXCEEDED',
  'ABORTED',
  'UNAVAILABLE',
  'DATA_LOSS',
  'INTERNAL',
];

/** The gRPC status object of an error thrown by a handler. */
export function toStatusObject(e: unknown): Partial<StatusObject> {
  const err = toAloftError(e);
  const metadata = new Metadata();
  metadata.set(CODE_KEY, err.code);
  if (err.problems.length > 0) {
    metadata.set(PROBLEMS_KEY, Buffer.from(JSON.stringify(err.problems), 'utf8'));
  }
  return { code: Status[err.code], details: err.message, metadata };
}

/** An UNAUTHENTICATED status with a message saying what to do. */
export function unauthenticated(message: string): Partial<StatusObject> {
  return { code: Status.UNAUTHENTICATED, details: message, metadata: new Metadata() };
}

function problemsOf(md: Metadata | undefined): Problem[] {
  const raw = md?.get(PROBLEMS_KEY)[0];
  if (!raw) return [];
  try {
    const list = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : raw) as unknown;
    if (!Array.isArray(list)) return [];
    return list.filter(
      (p): p is Problem =>
        typeof p === 'object' &&
        p !== null &&
        typeof (p as Problem).where === 'string' &&
        typeof (p as Problem).message === 'string',
    );
  } catch {
    return [];
  }
}

/** A failed call as the AloftError the CLI renders (`address` names the scheduler). */
export function fromServiceError(e: ServiceError, address: string): AloftError {
  const code = e.metadata?.get(CODE_KEY)[0];
  if (typeof code === 'string' && (CODES as readonly string[]).includes(code)) {
    const problems = problemsOf(e.metadata);
    return new AloftError(code as ErrorCode, e.details || e.message, {
      problems,
      retryable: false,
    });
  }
  const where = `scheduler ${address}`;
  if (e.code === Status.UNAUTHENTICATED) {
    return AloftError.invalid({
      where,
      message: `not authorized: ${e.details}`,
      hint: 'pass the scheduler token with --token or ALOFT_TOKEN',
    });
  }
  if (e.code === Status.PERMISSION_DENIED) {
    return AloftError.invalid({ where, message: `permission denied: ${e.details}` });
  }
  if (e.code === Status.CANCELLED) {
    return new AloftError('CANCELLED', 'cancelled', { retryable: false });
  }
  return AloftError.invalid({
    where,
    message: `cannot reach scheduler at ${address}: ${(e.details || e.message).replace(/\.?\s*Resolution note:.*$/s, '')}`,
    hint: 'check that `aloft scheduler` runs there (and --scheduler / ALOFT_SCHEDULER, --tls-ca)',
  });
}
