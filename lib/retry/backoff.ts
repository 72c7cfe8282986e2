/**
 * The one retry helper (DESIGN §11): exponential backoff with full jitter, abortable.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AloftError, toAloftError } from '../errors/index.js';

export interface BackoffOptions {
  /** First delay in ms. */
  initialMs: number;
  /** Upper bound of any single delay in ms. */
  maxMs: number;
  /** Growth factor per attempt. */
  factor?: number;
  /** 0 = no jitter, 1 = full jitter (delay drawn uniformly from [0, d]). */
  jitter?: number;
  /** Random source, injectable for deterministic tests. */
  random?: () => number;
}

/** Delay before retry number `attempt` (1-based): min(max, initial * factor^(attempt-1)), jittered. */
export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const factor = o.factor ?? 2;
  const base = Math.min(o.maxMs, o.initialMs * Math.pow(factor, Math.max(0, attempt - 1)));
  const jitter = o.jitter ?? 0.5;
  const r = (o.random ?? Math.random)();
  return Math.round(base * (1 - jitter) + base * jitter * r);
}

export interface RetryOptions extends BackoffOptions {
  /** Total tries including the first. */
  tries: number;
  signal?: AbortSignal;
  /** Whether an error is worth another try; defaults to AloftError.retryable. */
  shouldRetry?: (e: AloftError, attempt: number) => boolean;
  onRetry?: (e: AloftError, attempt: number, delayMs: number) => void;
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    o.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (thrown) {
      const e = toAloftError(thrown);
      const again = attempt < o.tries && (o.shouldRetry ? o.shouldRetry(e, attempt) : e.retryable);
      if (!again || e.code === 'CANCELLED') throw e;
      const delay = backoffDelay(attempt, o);
      o.onRetry?.(e, attempt, delay);
      await sleep(delay, undefined, o.signal ? { signal: o.signal } : undefined);
    }
  }
}
