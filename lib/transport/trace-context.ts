/**
 * W3C Trace Context (`traceparent`) for message headers (DESIGN §7): the scheduler starts
 * or continues a trace and every message about an attempt carries it, so one trace spans
 * submit → offer → run → result across processes.
 * Format: `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`.
 */
import { randomBytes } from 'node:crypto';

export const TRACEPARENT_HEADER = 'traceparent';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** Parse a traceparent; undefined when malformed or all-zero ids (per the spec: ignore). */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  const m = value === undefined ? null : TRACEPARENT.exec(value);
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, sampled: (parseInt(m[3]!, 16) & 1) === 1 };
}

/** A traceparent for a new span: child of `parent` when given, else the root of a new trace. */
export function newTraceparent(parent?: TraceContext): string {
  const traceId = parent?.traceId ?? randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  const flags = parent === undefined || parent.sampled ? '01' : '00';
  return `00-${traceId}-${spanId}-${flags}`;
}
