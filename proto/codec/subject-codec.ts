/**
 * The wire codec for the NATS transport: `Codec.encode(subject, data)` /
 * `Codec.decode(subject, bytes)` carrying the agent protocol as protobuf.
 *
 * Every payload is an aloft.v1.Envelope (a oneof of the protocol messages, 2-3 bytes of
 * overhead), so a receiver always knows what it holds. The subject decides what is allowed:
 *   aloft.sched.ad.<a>         AgentAd            aloft.agent.<a>.offer   Offer
 *   aloft.sched.heartbeat.<a>  Heartbeat          aloft.agent.<a>.ack     ResultAck
 *   aloft.sched.started.<a>    AttemptStarted     aloft.agent.<a>.kill    Kill
 *   aloft.sched.result.<a>     AttemptResult      aloft.agent.<a>.offer.reply  OfferReply
 * On those subjects, encode maps the value with that message's codec and decode rejects any
 * other body (INVALID_ARGUMENT naming the subject and both types). Messages an agent
 * publishes (ad, heartbeat, started, result) must name the agent of their subject: the codec
 * refuses `aloft.sched.result.B` carrying agent A, so a result cannot be forged by
 * publishing on another agent's subject even where permissions are loose.
 * Any other subject under `aloft.` has no message type and is refused. Subjects outside
 * `aloft.` (request inboxes `_INBOX.…`, tests) carry an OfferReply when the value has
 * exactly OfferReply's shape (the only reply in the protocol), otherwise JSON text, and
 * `undefined` as an empty envelope (zero bytes), like the transport's JSON codec.
 */
import { aloft } from '../generated/aloft.js';
import { AloftError } from '../../lib/errors/index.js';
import {
  agentAdCodec,
  attemptResultCodec,
  attemptStartedCodec,
  heartbeatCodec,
  advertiseRequestCodec,
  killCodec,
  offerCodec,
  offerReplyCodec,
  resultAckCodec,
} from './agent-codec.js';
import type { MessageCodec } from './message-codec.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  Problems,
  finishBytes,
  parseBytes,
  protect,
} from './wire-support.js';

import v1 = aloft.v1;

/** The transport's codec seam (same shape as the NATS transport's injectable codec). */
export interface Codec {
  encode(subject: string, data: unknown): Uint8Array;
  decode(subject: string, bytes: Uint8Array): unknown;
}

export interface ProtobufCodecOptions {
  /** Largest payload decode accepts, in bytes (default 8 MiB). */
  maxPayload?: number;
}

type Body = Exclude<keyof v1.IEnvelope, never>;

interface Route {
  body: Body;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  codec: MessageCodec<any, any>;
  /** The value's `agent` field must equal the subject's agent token. */
  agentField: boolean;
}

const ROUTES: { pattern: RegExp; route: Route }[] = [
  {
    pattern: /^aloft\.sched\.ad\.([A-Za-z0-9_-]+)$/,
    route: { body: 'ad', codec: agentAdCodec, agentField: true },
  },
  {
    pattern: /^aloft\.sched\.heartbeat\.([A-Za-z0-9_-]+)$/,
    route: { body: 'heartbeat', codec: heartbeatCodec, agentField: true },
  },
  {
    pattern: /^aloft\.sched\.started\.([A-Za-z0-9_-]+)$/,
    route: { body: 'attemptStarted', codec: attemptStartedCodec, agentField: true },
  },
  {
    pattern: /^aloft\.sched\.result\.([A-Za-z0-9_-]+)$/,
    route: { body: 'attemptResult', codec: attemptResultCodec, agentField: true },
  },
  {
    pattern: /^aloft\.agent\.([A-Za-z0-9_-]+)\.offer$/,
    route: { body: 'offer', codec: offerCodec, agentField: false },
  },
  {
    // The reply to an offer, as the NATS transport names it (replySubject: `<request>.reply`).
    pattern: /^aloft\.agent\.([A-Za-z0-9_-]+)\.offer\.reply$/,
    route: { body: 'offerReply', codec: offerReplyCodec, agentField: false },
  },
  {
    pattern: /^aloft\.agent\.([A-Za-z0-9_-]+)\.ack$/,
    route: { body: 'resultAck', codec: resultAckCodec, agentField: false },
  },
  {
    pattern: /^aloft\.agent\.([A-Za-z0-9_-]+)\.kill$/,
    route: { body: 'kill', codec: killCodec, agentField: false },
  },
  {
    pattern: /^aloft\.agent\.([A-Za-z0-9_-]+)\.advertise$/,
    route: { body: 'advertiseRequest', codec: advertiseRequestCodec, agentField: false },
  },
];

const BODY_TYPE: Record<string, string> = {
  ad: 'aloft.v1.AgentAd',
  heartbeat: 'aloft.v1.Heartbeat',
  offer: 'aloft.v1.Offer',
  offerReply: 'aloft.v1.OfferReply',
  attemptStarted: 'aloft.v1.AttemptStarted',
  attemptResult: 'aloft.v1.AttemptResult',
  resultAck: 'aloft.v1.ResultAck',
  kill: 'aloft.v1.Kill',
  advertiseRequest: 'aloft.v1.AdvertiseRequest',
  json: 'JSON text',
};

/** The protobuf message type carried on `subject`, or undefined for non-protocol subjects.
 *  Throws INVALID_ARGUMENT for an `aloft.` subject that has no message type. */
export function messageTypeForSubject(subject: string): string | undefined {
  const r = routeOf(subject);
  return r ? r.route.codec.type : undefined;
}

function routeOf(subject: string): { route: Route; agent: string } | undefined {
  for (const { pattern, route } of ROUTES) {
    const m = pattern.exec(subject);
    if (m) return { route, agent: m[1]! };
  }
  if (subject.startsWith('aloft.')) {
    throw AloftError.invalid({
      where: `subject '${subject}'`,
      message: 'no aloft.v1 message type is carried on this subject',
      hint: 'build subjects with proto/subjects.ts; a new subject needs a schema and a route in proto/codec/subject-codec.ts',
    });
  }
  return undefined;
}

function isOfferReply(data: unknown): boolean {
  if (typeof data !== 'object' || data === null) return false;
  const keys = Object.keys(data);
  const d = data as Record<string, unknown>;
  if (d['accepted'] === true) return keys.length === 1;
  return d['accepted'] === false && typeof d['reason'] === 'string' && keys.length === 2;
}

function checkAgent(
  subject: string,
  agent: string,
  value: unknown,
  where: 'encode' | 'decode',
): void {
  const named = (value as { agent?: unknown }).agent;
  if (named !== agent) {
    throw AloftError.invalid(
      {
        where: `subject '${subject}'`,
        message: `message names agent '${String(named)}' but the subject is agent '${agent}'s`,
        hint: 'an agent publishes only on its own subjects, naming itself',
      },
      `cannot ${where} message on '${subject}': it names agent '${String(named)}', the subject names '${agent}'`,
    );
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toProtoChecked(codec: MessageCodec<any, any>, data: unknown): unknown {
  const p = new Problems(codec.type);
  const m: unknown = protect(codec.type, () => codec.toProto(p, data));
  p.throwIfAny('encode');
  return m;
}

/** Create the protobuf Codec for the NATS transport. */
export function createProtobufCodec(options: ProtobufCodecOptions = {}): Codec {
  const maxBytes = options.maxPayload ?? DEFAULT_MAX_MESSAGE_BYTES;
  return {
    encode(subject: string, data: unknown): Uint8Array {
      const r = routeOf(subject);
      let env: v1.IEnvelope;
      if (r) {
        if (typeof data !== 'object' || data === null) {
          throw AloftError.invalid({
            where: `subject '${subject}'`,
            message: `payload is not an object (expected ${r.route.codec.type})`,
          });
        }
        if (r.route.agentField) checkAgent(subject, r.agent, data, 'encode');
        const m = toProtoChecked(r.route.codec, data);
        env = { [r.route.body]: m };
      } else if (isOfferReply(data)) {
        const p = new Problems(offerReplyCodec.type);
        env = { offerReply: offerReplyCodec.toProto(p, data as never) };
      } else if (data === undefined) {
        env = {};
      } else {
        const text = JSON.stringify(data);
        if (text === undefined) {
          throw AloftError.invalid({
            where: `subject '${subject}'`,
            message: 'payload is not JSON-serialisable',
          });
        }
        env = { json: text };
      }
      return finishBytes('aloft.v1.Envelope', () => v1.Envelope.encode(env).finish());
    },

    decode(subject: string, bytes: Uint8Array): unknown {
      const r = routeOf(subject);
      const env = parseBytes('aloft.v1.Envelope', bytes, { maxBytes }, (b) =>
        v1.Envelope.decode(b),
      );
      const body = env.body;
      if (body === undefined) {
        if (!r) return undefined;
        throw AloftError.invalid({
          where: `subject '${subject}'`,
          message: 'empty aloft.v1.Envelope (no message)',
        });
      }
      if (r) {
        if (body !== r.route.body) {
          throw AloftError.invalid({
            where: `subject '${subject}'`,
            message: `carries ${BODY_TYPE[body] ?? body}, expected ${r.route.codec.type}`,
          });
        }
        const p = new Problems(r.route.codec.type);
        const v: unknown = r.route.codec.fromProto(p, env[body]);
        p.throwIfAny('decode');
        if (r.route.agentField) checkAgent(subject, r.agent, v, 'decode');
        return v;
      }
      if (body === 'offerReply') {
        const p = new Problems(offerReplyCodec.type);
        return offerReplyCodec.fromProto(p, env.offerReply!);
      }
      if (body === 'json') {
        try {
          return JSON.parse(env.json ?? '') as unknown;
        } catch (e) {
          throw AloftError.invalid({
            where: `subject '${subject}'`,
            message: `JSON body is not valid: ${e instanceof Error ? e.message : String(e)}`,
          });
        }
      }
      throw AloftError.invalid({
        where: `subject '${subject}'`,
        message: `carries ${BODY_TYPE[body] ?? body}, which belongs on an aloft protocol subject`,
      });
    },
  };
}
