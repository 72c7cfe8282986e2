/**
 * Wire codecs for the NATS transport: how a payload becomes bytes. Injectable so the agent
 * protocol can travel as protobuf (proto/codec/ provides one with this exact shape); the
 * default is JSON in UTF-8.
 *
 * Contract: `encode` throws (any error) for a value it cannot represent; `decode` throws for
 * bytes it cannot read. The transport turns an encode failure into AloftError
 * INVALID_ARGUMENT for the caller, and drops (with a log line, never the payload) an
 * incoming message that fails to decode. Replies to a request are encoded and decoded
 * under `replySubject(requestSubject)`, so a subject-typed codec can tell an offer from
 * the reply to it.
 */
export interface Codec {
  encode(subject: string, data: unknown): Uint8Array;
  decode(subject: string, bytes: Uint8Array): unknown;
}

/** The subject a codec sees for the reply to a request sent on `subject`. */
export function replySubject(subject: string): string {
  return `${subject}.reply`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON that refuses what JSON would silently lose: functions and symbols (as the
 * in-process transport's structuredClone refuses them). BigInt and cycles throw in
 * JSON.stringify already. An absent payload (`undefined`) travels as zero bytes.
 */
export const jsonCodec: Codec = {
  encode(_subject, data) {
    if (data === undefined) return new Uint8Array(0);
    const text = JSON.stringify(data, (_key, value: unknown) => {
      if (typeof value === 'function' || typeof value === 'symbol') {
        throw new TypeError(`a ${typeof value} cannot be sent as JSON`);
      }
      return value;
    });
    return encoder.encode(text);
  },
  decode(_subject, bytes) {
    if (bytes.length === 0) return undefined;
    return JSON.parse(decoder.decode(bytes)) as unknown;
  },
};
