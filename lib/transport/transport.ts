/**
 * The transport seam (DESIGN §2): how the scheduler and agents exchange messages. The
 * embedded mode uses the in-process implementation; issue 3 adds NATS behind the same
 * interface. Payloads are plain JSON-serialisable values; implementations must behave as
 * if they were serialised (receivers never share mutable objects with senders).
 *
 * Subjects are dot-separated tokens; subscriptions may use `*` (one token) and `>` (the
 * rest), NATS-style. Delivery is at-most-once per subscriber; reliability (retransmit,
 * ack, dedup) is the protocol's job, not the transport's.
 */

export interface Message<T = unknown> {
  subject: string;
  data: T;
  /** Present when the sender expects a reply (request/reply). */
  reply?: (data: unknown) => void;
  /** Headers the sender attached (e.g. W3C `traceparent`); absent when there were none. */
  headers?: Record<string, string>;
}

/** Per-message options for `publish` and `request`. */
export interface PublishOptions {
  /** Header names are tokens (no `:` or whitespace); values are one line of text. */
  headers?: Record<string, string>;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface RequestOptions extends PublishOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface Transport {
  publish(subject: string, data: unknown, options?: PublishOptions): void;
  subscribe<T = unknown>(subject: string, handler: (msg: Message<T>) => void): Subscription;
  /** Resolves with the first reply; rejects with AloftError DEADLINE_EXCEEDED on timeout,
   *  UNAVAILABLE when nobody is subscribed, CANCELLED when the signal aborts. */
  request<R = unknown>(subject: string, data: unknown, options: RequestOptions): Promise<R>;
  close(): Promise<void>;
}
