/**
 * The NATS transport (issue 3; DESIGN §6, §8): the Transport seam over a real nats-server
 * with `@nats-io/transport-node`, behaving as the in-process transport does (same subject
 * rules, same error codes, handlers never inside `publish`, a private decoded copy per
 * subscriber), plus what a WAN link to an edge node needs:
 *
 * - reconnect forever with a jittered wait (the client's default gives up after ~20 s);
 *   publishes made while disconnected wait in a bounded reconnect buffer and go out, in
 *   order, once reconnected (the client itself drops them on every dial attempt);
 *   requests fail fast with UNAVAILABLE while disconnected;
 * - connection status events (`onStatus`) for disconnect / reconnect / permission errors;
 * - a per-connection inbox prefix, so server permissions can confine an agent's replies;
 * - headers (W3C `traceparent`) on publish, request and delivered messages;
 * - an injectable Codec (JSON by default); undecodable incoming messages are logged
 *   (subject and size, never the payload) and dropped;
 * - the server's max_payload enforced before sending (RESOURCE_EXHAUSTED naming subject and
 *   size), with opt-in chunking (`publishChunked`) reassembled transparently on subscribe.
 *
 * Delivery is at-most-once, as the Transport contract says: reliability is the protocol's
 * job (outbox, acks, dedup), not this module's.
 */
import {
  connect,
  errors as natsErrors,
  headers as natsHeaders,
  type MsgHdrsImpl,
  nkeyAuthenticator,
  nkeys,
  nuid,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type NodeConnectionOptions,
  type Status,
} from '@nats-io/transport-node';
import { AloftError, toAloftError, type Problem } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import { checkHeaders } from './headers.js';
import { checkPattern, checkSubject } from './in-process.js';
import {
  CHUNK_HEADER,
  ChunkAssembler,
  MAX_CHUNKED_BYTES,
  MSG_ID_HEADER,
  splitChunks,
  type ChunkLimits,
} from './nats-chunks.js';
import { jsonCodec, replySubject, type Codec } from './nats-codec.js';
import type {
  Message,
  PublishOptions,
  RequestOptions,
  Subscription,
  Transport,
} from './transport.js';

export interface NatsTlsOptions {
  /** PEM text, or a path in the `*File` variant. A CA makes the client verify the server. */
  ca?: string;
  cert?: string;
  key?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface NatsTransportOptions {
  /** `nats://host:port` (or `tls://`), one or several of the same cluster. */
  servers: string | string[];
  /** Connection name shown by the server's monitoring (e.g. `agent-radar-1`). */
  name: string;
  user?: string;
  pass?: string;
  /** An nkey user seed (`SU...`); never logged. */
  nkeySeed?: string;
  token?: string;
  tls?: NatsTlsOptions;
  /** Prefix of this connection's reply inboxes, e.g. `_INBOX.agent-radar-1`. */
  inboxPrefix?: string;
  codec?: Codec;
  /** A limit below the server's max_payload (the smaller of the two applies). */
  maxPayload?: number;
  /** Base wait between reconnect attempts (default 2000 ms) ... */
  reconnectWaitMs?: number;
  /** ... plus a random 0..jitter ms (default 1000 ms), so agents do not reconnect in step. */
  reconnectJitterMs?: number;
  /** Bytes of publishes held while disconnected (default 8 MiB); beyond → UNAVAILABLE. */
  reconnectBufferBytes?: number;
  /** Keep trying when the first connect fails instead of failing (default false). */
  waitOnFirstConnect?: boolean;
  /** Client pings (default every 20 s, 3 unanswered = dead link → reconnect). */
  pingIntervalMs?: number;
  /** Handshake timeout per connection attempt (default 10 s). */
  connectTimeoutMs?: number;
  /** Bounds of chunk reassembly on subscribe. */
  chunkLimits?: ChunkLimits;
  logger?: Logger;
  /** Aborting cancels a pending connect (CANCELLED) or closes the transport. */
  signal?: AbortSignal;
}

/** Connection events, for callers that log or react (pause offers, re-advertise). */
export type NatsStatus =
  | { type: 'disconnect'; server: string }
  | { type: 'reconnecting' }
  /** Reconnected, and the server has confirmed this connection's subscriptions. */
  | { type: 'reconnect'; server: string }
  | { type: 'permission'; operation: 'publish' | 'subscription'; subject: string; message: string }
  | { type: 'error'; message: string }
  | { type: 'slow-consumer'; subject: string; pending: number }
  | { type: 'close'; error?: string };

export interface NatsTransport extends Transport {
  readonly name: string;
  /**
   * Publish a message of any size up to MAX_CHUNKED_BYTES: sent whole when it fits the
   * server's max_payload, else as `aloft-chunk` pieces that subscribers reassemble.
   */
  publishChunked(subject: string, data: unknown, options?: PublishOptions): void;
  /** Register a status listener; returns a function that removes it. */
  onStatus(listener: (status: NatsStatus) => void): () => void;
  isConnected(): boolean;
  /** The largest message `publish` accepts now (payload + headers), in bytes. */
  maxPayload(): number;
  /** Resolves when the server has processed everything sent so far (a PING round trip).
   *  Messages the server routed back to this connection have been handled by then. */
  flush(signal?: AbortSignal): Promise<void>;
}

const DEFAULT_SERVER_MAX_PAYLOAD = 1024 * 1024;
/** Room kept for the chunk headers (`aloft-msg-id`, `aloft-chunk`) and the header preamble. */
const CHUNK_HEADER_ROOM = 128;

interface Buffered {
  subject: string;
  bytes: Uint8Array;
  headers: MsgHdrs | undefined;
}

function validateOptions(o: NatsTransportOptions): void {
  const problems: Problem[] = [];
  const servers = typeof o.servers === 'string' ? [o.servers] : o.servers;
  if (servers.length === 0) {
    problems.push({
      where: 'nats servers',
      message: 'no server given',
      hint: 'e.g. nats://host:4222',
    });
  }
  for (const s of servers) {
    if (!/^((nats|tls):\/\/)?[^\s/]+(:\d+)?$/.test(s)) {
      problems.push({
        where: `nats server '${s}'`,
        message: 'not a NATS server address',
        hint: 'use nats://host:port or tls://host:port',
      });
    }
  }
  if (!o.name) problems.push({ where: 'nats name', message: 'a connection name is required' });
  if (o.pass !== undefined && o.user === undefined) {
    problems.push({ where: 'nats pass', message: 'a password needs a user' });
  }
  const auths = [o.user !== undefined, o.nkeySeed !== undefined, o.token !== undefined];
  if (auths.filter(Boolean).length > 1) {
    problems.push({
      where: 'nats credentials',
      message: 'give only one of user/pass, nkey seed or token',
    });
  }
  if (o.nkeySeed !== undefined) {
    try {
      const kp = nkeys.fromSeed(new TextEncoder().encode(o.nkeySeed));
      if (!kp.getPublicKey().startsWith('U')) throw new Error('not a user seed');
    } catch {
      // The seed itself is a secret: never echo it.
      problems.push({
        where: 'nats nkey seed',
        message: 'not a valid nkey user seed',
        hint: 'a user seed starts with SU; generate one with `nk -gen user`',
      });
    }
  }
  if (o.inboxPrefix !== undefined) {
    try {
      checkSubject(o.inboxPrefix);
    } catch {
      problems.push({
        where: `nats inbox prefix '${o.inboxPrefix}'`,
        message: 'not a valid subject prefix',
        hint: 'e.g. _INBOX.agent-radar-1',
      });
    }
  }
  const positive: [string, number | undefined][] = [
    ['maxPayload', o.maxPayload],
    ['reconnectBufferBytes', o.reconnectBufferBytes],
    ['pingIntervalMs', o.pingIntervalMs],
    ['connectTimeoutMs', o.connectTimeoutMs],
  ];
  for (const [k, v] of positive) {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) {
      problems.push({ where: `nats ${k}`, message: `must be a positive integer, got ${v}` });
    }
  }
  for (const [k, v] of [
    ['reconnectWaitMs', o.reconnectWaitMs],
    ['reconnectJitterMs', o.reconnectJitterMs],
  ] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) {
      problems.push({ where: `nats ${k}`, message: `must be an integer >= 0, got ${v}` });
    }
  }
  if (problems.length > 0) throw AloftError.invalid(problems);
}

function connectError(e: unknown, servers: string, name: string): AloftError {
  if (e instanceof AloftError) return e;
  if (e instanceof natsErrors.AuthorizationError) {
    return new AloftError(
      'UNAVAILABLE',
      `NATS at ${servers} refused the credentials of connection '${name}' (${e.message})`,
      { cause: e, retryable: false },
    );
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new AloftError('UNAVAILABLE', `cannot connect to NATS at ${servers}: ${msg}`, {
    cause: e,
  });
}

function toNatsHeaders(
  subject: string,
  h: Record<string, string> | undefined,
): MsgHdrs | undefined {
  if (!h || Object.keys(h).length === 0) return undefined;
  checkHeaders(subject, h);
  const out = natsHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}

/** Encoded size of a header block, as the client counts it against max_payload. */
function headerBytes(h: MsgHdrs | undefined): number {
  return h ? (h as MsgHdrsImpl).encode().length : 0;
}

function fromNatsHeaders(h: MsgHdrs | undefined): Record<string, string> | undefined {
  if (!h) return undefined;
  let out: Record<string, string> | undefined;
  for (const [k, values] of h) {
    if (k === CHUNK_HEADER || k === MSG_ID_HEADER) continue;
    (out ??= {})[k] = values.join(',');
  }
  return out;
}

/** Connect and return a NatsTransport. Rejects with UNAVAILABLE (unreachable, refused
 *  credentials: not retryable), CANCELLED (signal) or INVALID_ARGUMENT (bad options). */
export async function createNatsTransport(options: NatsTransportOptions): Promise<NatsTransport> {
  validateOptions(options);
  const servers = typeof options.servers === 'string' ? [options.servers] : options.servers;
  const serversText = servers.join(',');
  const codec = options.codec ?? jsonCodec;
  const logger = (options.logger ?? silentLogger).child({
    component: 'nats-transport',
    connection: options.name,
  });
  if (options.signal?.aborted) throw new AloftError('CANCELLED', 'NATS connect cancelled');

  const jitter = options.reconnectJitterMs ?? 1000;
  const connOpts: NodeConnectionOptions = {
    servers,
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectWaitMs ?? 2000,
    reconnectJitter: jitter,
    reconnectJitterTLS: jitter,
    waitOnFirstConnect: options.waitOnFirstConnect ?? false,
    pingInterval: options.pingIntervalMs ?? 20_000,
    maxPingOut: 3,
    timeout: options.connectTimeoutMs ?? 10_000,
    noAsyncTraces: true,
  };
  if (options.inboxPrefix !== undefined) connOpts.inboxPrefix = options.inboxPrefix;
  if (options.user !== undefined) connOpts.user = options.user;
  if (options.pass !== undefined) connOpts.pass = options.pass;
  if (options.token !== undefined) connOpts.token = options.token;
  if (options.nkeySeed !== undefined) {
    connOpts.authenticator = nkeyAuthenticator(new TextEncoder().encode(options.nkeySeed));
  }
  if (options.tls) connOpts.tls = { ...options.tls };

  let nc: NatsConnection;
  {
    const connecting = connect(connOpts);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new AloftError('CANCELLED', 'NATS connect cancelled'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      nc = await Promise.race([connecting, aborted]);
    } catch (e) {
      // A connect that succeeds after the abort must not leak a connection.
      connecting.then((c) => c.close()).catch(() => undefined);
      throw connectError(e, serversText, options.name);
    } finally {
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    }
  }
  return wrap(nc, options, codec, logger);
}

function wrap(
  nc: NatsConnection,
  options: NatsTransportOptions,
  codec: Codec,
  logger: Logger,
): NatsTransport {
  const listeners = new Set<(s: NatsStatus) => void>();
  const pendingRequests = new Set<(e: AloftError) => void>();
  const bufferLimit = options.reconnectBufferBytes ?? 8 * 1024 * 1024;
  let buffered: Buffered[] = [];
  let bufferedBytes = 0;
  let connected = true;
  let closed = false;
  let serverMaxPayload = nc.info?.max_payload ?? DEFAULT_SERVER_MAX_PAYLOAD;

  function emit(s: NatsStatus): void {
    for (const l of [...listeners]) {
      try {
        l(s);
      } catch (e) {
        logger.error({ err: e }, 'status listener failed');
      }
    }
  }

  function limit(): number {
    if (nc.info) serverMaxPayload = nc.info.max_payload;
    return Math.min(serverMaxPayload, options.maxPayload ?? Number.POSITIVE_INFINITY);
  }

  function assertOpen(): void {
    if (closed) throw new AloftError('UNAVAILABLE', 'transport is closed', { retryable: false });
  }

  function encode(subject: string, data: unknown): Uint8Array {
    try {
      return codec.encode(subject, data);
    } catch (e) {
      throw new AloftError(
        'INVALID_ARGUMENT',
        `payload for ${subject} is not serialisable: ${(e as Error).message}`,
        { cause: e, retryable: false },
      );
    }
  }

  function checkSize(subject: string, bytes: Uint8Array, hdrs: MsgHdrs | undefined): void {
    const size = bytes.length + headerBytes(hdrs);
    const max = limit();
    if (size > max) {
      throw new AloftError(
        'RESOURCE_EXHAUSTED',
        `message on ${subject} is ${size} bytes, over the max_payload of ${max} bytes; ` +
          'send it with publishChunked or through the store',
        { retryable: false },
      );
    }
  }

  /**
   * Outgoing messages wait for the end of the current event-loop turn and are then handed
   * to the client together: nats.js writes whatever was published within one microtask
   * flush as one socket write, so everything this process sends while handling one batch
   * of incoming I/O leaves in one write instead of one each (on loopback a write costs
   * tens of microseconds; the scheduler and agent send several messages per job). Order
   * is kept; the delay is one turn of the loop.
   */
  let outq: (() => void)[] = [];
  let outScheduled = false;
  function flushOut(): void {
    outScheduled = false;
    const q = outq;
    outq = [];
    for (const run of q) run();
  }
  function enqueue(run: () => void): void {
    outq.push(run);
    if (!outScheduled) {
      outScheduled = true;
      setImmediate(flushOut);
    }
  }

  /** Send at the end of this turn, or hold in the reconnect buffer while disconnected. */
  function send(subject: string, bytes: Uint8Array, hdrs: MsgHdrs | undefined): void {
    if (connected) {
      enqueue(() => publishNow(subject, bytes, hdrs));
      return;
    }
    hold(subject, bytes, hdrs);
  }

  function publishNow(subject: string, bytes: Uint8Array, hdrs: MsgHdrs | undefined): void {
    if (!connected) {
      // Lost the connection within the turn: the reconnect buffer takes it if it can.
      try {
        hold(subject, bytes, hdrs);
      } catch (e) {
        logger.warn({ err: e, subject }, 'message dropped: disconnected and buffer full');
      }
      return;
    }
    try {
      nc.publish(subject, bytes, hdrs ? { headers: hdrs } : undefined);
    } catch (e) {
      logger.error({ err: e, subject }, 'publish failed');
    }
  }

  /** Keep a message for the reconnect (UNAVAILABLE when the buffer is full). */
  function hold(subject: string, bytes: Uint8Array, hdrs: MsgHdrs | undefined): void {
    if (bufferedBytes + bytes.length > bufferLimit) {
      throw new AloftError(
        'UNAVAILABLE',
        `not connected to NATS and the reconnect buffer (${bufferLimit} bytes) is full; ` +
          `message on ${subject} not sent`,
      );
    }
    buffered.push({ subject, bytes, headers: hdrs });
    bufferedBytes += bytes.length;
  }

  function flushBuffer(): void {
    const queue = buffered;
    buffered = [];
    bufferedBytes = 0;
    for (const b of queue) {
      try {
        nc.publish(b.subject, b.bytes, b.headers ? { headers: b.headers } : undefined);
      } catch (e) {
        logger.error({ err: e, subject: b.subject }, 'buffered publish failed after reconnect');
      }
    }
    if (queue.length > 0) logger.info({ messages: queue.length }, 'reconnect buffer sent');
  }

  function onNatsStatus(s: Status): void {
    switch (s.type) {
      case 'disconnect':
        connected = false;
        logger.warn({ server: s.server }, 'nats disconnected');
        emit({ type: 'disconnect', server: s.server });
        break;
      case 'reconnecting':
        emit({ type: 'reconnecting' });
        break;
      case 'reconnect':
        connected = true;
        limit();
        logger.info({ server: s.server }, 'nats reconnected');
        flushBuffer();
        // Reported once the server has answered a PING sent after the re-sent SUBs, so a
        // listener that reacts (re-advertises, expects replies) finds its subscriptions live.
        nc.flush().then(
          () => emit({ type: 'reconnect', server: s.server }),
          () => undefined, // lost again before confirming: a new disconnect follows
        );
        break;
      case 'error':
        if (s.error instanceof natsErrors.PermissionViolationError) {
          const { operation, subject } = s.error;
          logger.error({ operation, subject }, 'nats permissions violation');
          emit({ type: 'permission', operation, subject, message: s.error.message });
        } else {
          logger.error({ err: s.error }, 'nats error');
          emit({ type: 'error', message: s.error.message });
        }
        break;
      case 'slowConsumer':
        logger.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'nats slow consumer');
        emit({ type: 'slow-consumer', subject: s.sub.getSubject(), pending: s.pending });
        break;
      case 'staleConnection':
        logger.warn('nats connection stale');
        break;
      default:
        break;
    }
  }

  void (async () => {
    for await (const s of nc.status()) onNatsStatus(s);
  })().catch((e: unknown) => logger.error({ err: e }, 'nats status loop failed'));

  void nc.closed().then((err) => {
    connected = false;
    const wasClosing = closed;
    closed = true;
    for (const fail of [...pendingRequests]) {
      fail(new AloftError('UNAVAILABLE', 'NATS connection closed before a reply arrived'));
    }
    if (!wasClosing) logger.error({ err }, 'nats connection closed unexpectedly');
    emit(err ? { type: 'close', error: err.message } : { type: 'close' });
  });

  const onSignalAbort = (): void => void transport.close();
  options.signal?.addEventListener('abort', onSignalAbort, { once: true });

  function deliver<T>(handler: (m: Message<T>) => void, msg: Msg, bytes: Uint8Array): void {
    let data: unknown;
    try {
      data = codec.decode(msg.subject, bytes);
    } catch (e) {
      logger.warn(
        { subject: msg.subject, bytes: bytes.length, err: (e as Error).message },
        'undecodable message dropped',
      );
      return;
    }
    const m: Message<T> = { subject: msg.subject, data: data as T };
    const reply = msg.reply;
    if (reply) {
      const requestSubject = msg.subject;
      m.reply = (answer: unknown) => {
        if (closed) return;
        try {
          const out = encode(replySubject(requestSubject), answer);
          checkSize(reply, out, undefined);
          send(reply, out, undefined);
        } catch (e) {
          logger.error({ err: e, subject: requestSubject }, 'reply not sent');
        }
      };
    }
    const headers = fromNatsHeaders(msg.headers);
    if (headers) m.headers = headers;
    try {
      const r: unknown = handler(m);
      if (r instanceof Promise) {
        r.catch((e: unknown) =>
          logger.error({ err: e, subject: msg.subject }, 'subscriber failed'),
        );
      }
    } catch (e) {
      logger.error({ err: e, subject: msg.subject }, 'subscriber failed');
    }
  }

  const transport: NatsTransport = {
    name: options.name,

    publish(subject, data, opts) {
      assertOpen();
      checkSubject(subject);
      const hdrs = toNatsHeaders(subject, opts?.headers);
      const bytes = encode(subject, data);
      checkSize(subject, bytes, hdrs);
      send(subject, bytes, hdrs);
    },

    publishChunked(subject, data, opts) {
      assertOpen();
      checkSubject(subject);
      const user = opts?.headers;
      const bytes = encode(subject, data);
      if (bytes.length > MAX_CHUNKED_BYTES) {
        throw new AloftError(
          'RESOURCE_EXHAUSTED',
          `message on ${subject} is ${bytes.length} bytes, over the chunking limit of ` +
            `${MAX_CHUNKED_BYTES} bytes; send it through the store`,
          { retryable: false },
        );
      }
      const plain = toNatsHeaders(subject, user);
      const plainSize = bytes.length + headerBytes(plain);
      const max = limit();
      if (plainSize <= max) {
        send(subject, bytes, plain);
        return;
      }
      const room = max - headerBytes(plain) - CHUNK_HEADER_ROOM;
      if (room < 64) {
        throw new AloftError(
          'RESOURCE_EXHAUSTED',
          `max_payload of ${max} bytes leaves no room to chunk the message on ${subject}`,
          { retryable: false },
        );
      }
      const parts = splitChunks(bytes, room);
      const id = nuid.next();
      // Buffer space is checked for the whole message up front: never send half of it.
      if (!connected && bufferedBytes + bytes.length > (options.reconnectBufferBytes ?? 8 << 20)) {
        throw new AloftError(
          'UNAVAILABLE',
          `not connected to NATS and the reconnect buffer is full; message on ${subject} not sent`,
        );
      }
      parts.forEach((part, i) => {
        const h = toNatsHeaders(subject, user) ?? natsHeaders();
        h.set(MSG_ID_HEADER, id);
        h.set(CHUNK_HEADER, `${i + 1}/${parts.length}`);
        send(subject, part, h);
      });
    },

    subscribe<T>(pattern: string, handler: (msg: Message<T>) => void): Subscription {
      assertOpen();
      checkPattern(pattern);
      let active = true;
      const assembler = new ChunkAssembler(options.chunkLimits);
      assembler.onDropped = (id, reason) =>
        logger.warn({ subject: pattern, msgId: id, reason }, 'chunked message dropped');
      const sub = nc.subscribe(pattern, {
        callback: (err, msg) => {
          if (err) {
            // Terminal for this subscription (e.g. a permissions violation); already
            // reported through the status stream.
            logger.error({ err, subject: pattern }, 'subscription ended by the server');
            active = false;
            return;
          }
          if (!active) return;
          const chunk = msg.headers?.get(CHUNK_HEADER);
          if (chunk) {
            const id = msg.headers?.get(MSG_ID_HEADER) ?? '';
            const r = assembler.add(id, chunk, msg.data, Date.now());
            if (r.kind === 'invalid') {
              logger.warn({ subject: msg.subject, reason: r.reason }, 'bad chunk dropped');
            } else if (r.kind === 'complete') {
              deliver(handler, msg, r.bytes);
            }
            return;
          }
          deliver(handler, msg, msg.data);
        },
      });
      return {
        unsubscribe() {
          if (!active) return;
          active = false;
          assembler.clear();
          if (!closed && !sub.isClosed()) sub.unsubscribe();
        },
      };
    },

    request<R>(subject: string, data: unknown, opts: RequestOptions): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        assertOpen();
        checkSubject(subject);
        if (opts.signal?.aborted) {
          reject(new AloftError('CANCELLED', `request to ${subject} cancelled`));
          return;
        }
        const hdrs = toNatsHeaders(subject, opts.headers);
        const bytes = encode(subject, data);
        checkSize(subject, bytes, hdrs);
        if (!connected) {
          reject(new AloftError('UNAVAILABLE', `not connected to NATS; request to ${subject}`));
          return;
        }
        let done = false;
        const finish = (): void => {
          done = true;
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
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        pendingRequests.add(fail);
        enqueue(() => {
          if (done) return;
          if (!connected) {
            fail(new AloftError('UNAVAILABLE', `not connected to NATS; request to ${subject}`));
            return;
          }
          sendRequest();
        });
        const sendRequest = (): void =>
          void nc
            .request(subject, bytes, {
              timeout: opts.timeoutMs,
              ...(hdrs ? { headers: hdrs } : {}),
            })
            .then((msg) => {
              if (done) return;
              let answer: unknown;
              try {
                answer = codec.decode(replySubject(subject), msg.data);
              } catch (e) {
                fail(
                  new AloftError('INTERNAL', `reply from ${subject} could not be decoded`, {
                    cause: e,
                  }),
                );
                return;
              }
              finish();
              resolve(answer as R);
            })
            .catch((e: unknown) => fail(requestError(e, subject, opts.timeoutMs)));
      });
    },

    onStatus(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    isConnected: () => connected && !closed,

    maxPayload: () => limit(),

    async flush(signal) {
      assertOpen();
      flushOut();
      if (signal?.aborted) throw new AloftError('CANCELLED', 'flush cancelled');
      let onAbort: (() => void) | undefined;
      try {
        await Promise.race([
          nc.flush(),
          new Promise<never>((_, reject) => {
            onAbort = () => reject(new AloftError('CANCELLED', 'flush cancelled'));
            signal?.addEventListener('abort', onAbort, { once: true });
          }),
        ]);
      } catch (e) {
        throw toAloftError(e, 'UNAVAILABLE');
      } finally {
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      }
    },

    async close() {
      if (closed && nc.isClosed()) return;
      flushOut(); // what was sent before close() goes out with the drain
      closed = true;
      options.signal?.removeEventListener('abort', onSignalAbort);
      for (const fail of [...pendingRequests]) {
        fail(new AloftError('UNAVAILABLE', 'transport closed before a reply arrived'));
      }
      if (buffered.length > 0) {
        logger.warn({ messages: buffered.length }, 'closing with unsent buffered messages');
        buffered = [];
        bufferedBytes = 0;
      }
      if (nc.isClosed()) return;
      // Drain (deliver what arrived, send what is queued) when connected; a drain needs
      // the server, so a disconnected transport just closes.
      if (connected) {
        const timer = setTimeout(() => void nc.close().catch(() => undefined), 5_000);
        try {
          await nc.drain();
        } catch {
          await nc.close().catch(() => undefined);
        } finally {
          clearTimeout(timer);
        }
      } else {
        await nc.close().catch(() => undefined);
      }
      await nc.closed();
    },
  };
  return transport;
}

function requestError(e: unknown, subject: string, timeoutMs: number): AloftError {
  if (e instanceof AloftError) return e;
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : undefined;
  if (
    e instanceof natsErrors.NoRespondersError ||
    cause instanceof natsErrors.NoRespondersError ||
    (e instanceof natsErrors.RequestError && e.isNoResponders())
  ) {
    return new AloftError('UNAVAILABLE', `no subscriber for ${subject}`, { cause: e });
  }
  if (e instanceof natsErrors.TimeoutError || cause instanceof natsErrors.TimeoutError) {
    return new AloftError('DEADLINE_EXCEEDED', `no reply from ${subject} within ${timeoutMs} ms`, {
      cause: e,
    });
  }
  if (e instanceof natsErrors.PermissionViolationError) {
    return new AloftError('UNAVAILABLE', `not permitted: ${e.message}`, {
      cause: e,
      retryable: false,
    });
  }
  if (
    e instanceof natsErrors.ClosedConnectionError ||
    e instanceof natsErrors.DrainingConnectionError
  ) {
    return new AloftError('UNAVAILABLE', `NATS connection closed; request to ${subject}`, {
      cause: e,
    });
  }
  return toAloftError(e, 'UNAVAILABLE');
}
