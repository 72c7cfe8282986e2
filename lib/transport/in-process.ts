/**
 * The in-process transport (DESIGN §6, embedded mode): the scheduler and a local agent in one
 * process, talking through the same Transport interface that NATS implements later. It owns
 * subject matching (NATS-style `*` and `>`), delivery and request/reply. It behaves as if
 * messages were serialised: every subscriber receives its own `structuredClone` of the
 * payload, and handlers always run later, from a microtask, never inside `publish`, so a
 * handler that publishes cannot re-enter another handler half-way through.
 */
import { AloftError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import { checkHeaders } from './headers.js';
import type {
  Message,
  PublishOptions,
  RequestOptions,
  Subscription,
  Transport,
} from './transport.js';

export interface InProcessTransportOptions {
  /** Where handler errors are logged (they are swallowed, as NATS does). */
  logger?: Logger;
}

interface Sub {
  pattern: string;
  tokens: string[];
  wildcard: boolean;
  handler: (msg: Message<unknown>) => void;
  active: boolean;
}

const TOKEN_CHARS = /^[^\s.*>]+$/;

/** A subject to publish to: dot-separated non-empty tokens, no wildcards, no whitespace. */
export function checkSubject(subject: string): string[] {
  const tokens = subject.split('.');
  if (subject.length === 0 || tokens.some((t) => !TOKEN_CHARS.test(t))) {
    throw AloftError.invalid({
      where: `subject '${subject}'`,
      message: 'not a valid subject to publish to',
      hint: 'use dot-separated non-empty tokens without whitespace, `*` or `>`',
    });
  }
  return tokens;
}

/** A subscription pattern: like a subject, plus whole-token `*` anywhere and `>` last. */
export function checkPattern(pattern: string): string[] {
  const tokens = pattern.split('.');
  const ok =
    pattern.length > 0 &&
    tokens.every(
      (t, i) => t === '*' || (t === '>' && i === tokens.length - 1) || TOKEN_CHARS.test(t),
    );
  if (!ok) {
    throw AloftError.invalid({
      where: `subject pattern '${pattern}'`,
      message: 'not a valid subscription pattern',
      hint: 'use dot-separated tokens; `*` matches one whole token, `>` (last only) the rest',
    });
  }
  return tokens;
}

function matches(pattern: readonly string[], subject: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '>') return subject.length > i;
    if (i >= subject.length) return false;
    if (p !== '*' && p !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}

export function createInProcessTransport(options: InProcessTransportOptions = {}): Transport {
  const logger = (options.logger ?? silentLogger).child({ component: 'transport' });
  /** Literal subscriptions indexed by subject; wildcard ones scanned. Order = subscribe order. */
  const literal = new Map<string, Sub[]>();
  const wildcards: Sub[] = [];
  const pendingRequests = new Set<(e: AloftError) => void>();
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new AloftError('UNAVAILABLE', 'transport is closed', { retryable: false });
  }

  function subscribersOf(subject: string, tokens: string[]): Sub[] {
    const exact = literal.get(subject) ?? [];
    if (wildcards.length === 0) return [...exact];
    return [...exact, ...wildcards.filter((s) => matches(s.tokens, tokens))];
  }

  /**
   * One private copy per subscriber, made now (at publish time, so later mutation by the
   * sender is never observed) and all before anything is queued, so a payload that cannot
   * be cloned fails the publish as a whole instead of reaching some subscribers only.
   */
  function copies(subject: string, data: unknown, n: number): unknown[] {
    try {
      return Array.from({ length: n }, () => structuredClone(data));
    } catch (e) {
      throw new AloftError('INVALID_ARGUMENT', `payload for ${subject} is not serialisable`, {
        cause: e,
        retryable: false,
      });
    }
  }

  /** Validated headers, frozen into a private record; undefined when there are none. */
  function headersOf(subject: string, opts?: PublishOptions): Record<string, string> | undefined {
    if (!opts?.headers || Object.keys(opts.headers).length === 0) return undefined;
    checkHeaders(subject, opts.headers);
    return { ...opts.headers };
  }

  function deliver(
    sub: Sub,
    subject: string,
    copy: unknown,
    reply: ((d: unknown) => void) | undefined,
    headers: Record<string, string> | undefined,
  ): void {
    queueMicrotask(() => {
      if (!sub.active) return;
      const msg: Message<unknown> = reply
        ? { subject, data: copy, reply }
        : { subject, data: copy };
      if (headers) msg.headers = { ...headers };
      try {
        const r: unknown = sub.handler(msg);
        if (r instanceof Promise) {
          r.catch((e: unknown) => logger.error({ err: e, subject }, 'subscriber failed'));
        }
      } catch (e) {
        logger.error({ err: e, subject }, 'subscriber failed');
      }
    });
  }

  return {
    publish(subject, data, opts) {
      assertOpen();
      const tokens = checkSubject(subject);
      const headers = headersOf(subject, opts);
      const subs = subscribersOf(subject, tokens);
      const payloads = copies(subject, data, subs.length);
      subs.forEach((sub, i) => deliver(sub, subject, payloads[i], undefined, headers));
    },

    subscribe<T>(pattern: string, handler: (msg: Message<T>) => void): Subscription {
      assertOpen();
      const tokens = checkPattern(pattern);
      const wildcard = tokens.some((t) => t === '*' || t === '>');
      const sub: Sub = {
        pattern,
        tokens,
        wildcard,
        handler: handler as (msg: Message<unknown>) => void,
        active: true,
      };
      if (wildcard) wildcards.push(sub);
      else literal.set(pattern, [...(literal.get(pattern) ?? []), sub]);
      return {
        unsubscribe() {
          if (!sub.active) return;
          sub.active = false;
          if (sub.wildcard) {
            const i = wildcards.indexOf(sub);
            if (i >= 0) wildcards.splice(i, 1);
          } else {
            const rest = (literal.get(sub.pattern) ?? []).filter((s) => s !== sub);
            if (rest.length > 0) literal.set(sub.pattern, rest);
            else literal.delete(sub.pattern);
          }
        },
      };
    },

    request<R>(subject: string, data: unknown, opts: RequestOptions): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        assertOpen();
        const tokens = checkSubject(subject);
        const headers = headersOf(subject, opts);
        if (opts.signal?.aborted) {
          reject(new AloftError('CANCELLED', `request to ${subject} cancelled`));
          return;
        }
        const subs = subscribersOf(subject, tokens);
        if (subs.length === 0) {
          reject(new AloftError('UNAVAILABLE', `no subscriber for ${subject}`));
          return;
        }
        let done = false;
        const finish = (): void => {
          done = true;
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          pendingRequests.delete(fail);
        };
        const fail = (e: AloftError): void => {
          if (done) return;
          finish();
          reject(e);
        };
        const onAbort = (): void =>
          fail(new AloftError('CANCELLED', `request to ${subject} cancelled`));
        const timer = setTimeout(
          () =>
            fail(
              new AloftError(
                'DEADLINE_EXCEEDED',
                `no reply from ${subject} within ${opts.timeoutMs} ms`,
              ),
            ),
          opts.timeoutMs,
        );
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        pendingRequests.add(fail);
        // First reply wins; later replies (several responders) are dropped.
        const reply = (answer: unknown): void => {
          if (done) return;
          let copy: unknown;
          try {
            copy = structuredClone(answer);
          } catch (e) {
            fail(
              new AloftError('INTERNAL', `reply on ${subject} is not serialisable`, { cause: e }),
            );
            return;
          }
          finish();
          resolve(copy as R);
        };
        try {
          const payloads = copies(subject, data, subs.length);
          subs.forEach((sub, i) => deliver(sub, subject, payloads[i], reply, headers));
        } catch (e) {
          fail(e as AloftError);
        }
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const subs of literal.values()) for (const s of subs) s.active = false;
      for (const s of wildcards) s.active = false;
      literal.clear();
      wildcards.length = 0;
      for (const fail of [...pendingRequests]) {
        fail(new AloftError('UNAVAILABLE', 'transport closed before a reply arrived'));
      }
    },
  };
}
