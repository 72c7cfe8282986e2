/**
 * One message type's codec: the generated class plus the TS <-> proto mapping, turned into
 * `encode(value): Uint8Array` and `decode(bytes, options?): T` with every problem reported
 * as an AloftError naming the message type.
 */
import { Problems, finishBytes, parseBytes, protect, type DecodeOptions } from './wire-support.js';

/** The static side of a generated message class. */
export interface GeneratedType<P> {
  encode(message: P): { finish(): Uint8Array };
  decode(bytes: Uint8Array): P;
}

export interface MessageCodec<T, P = unknown> {
  /** Fully qualified protobuf name, e.g. aloft.v1.Offer. */
  readonly type: string;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array, options?: DecodeOptions): T;
  /** TS value -> proto plain object (problems collected in p). */
  toProto(p: Problems, value: T): P;
  /** Decoded proto object -> TS value (problems collected in p). */
  fromProto(p: Problems, message: P): T;
}

export function messageCodec<T, P>(
  type: string,
  generated: GeneratedType<P>,
  toProto: (p: Problems, value: T) => P,
  fromProto: (p: Problems, message: P) => T,
): MessageCodec<T, P> {
  return {
    type,
    toProto,
    fromProto,
    encode(value: T): Uint8Array {
      const p = new Problems(type);
      const m = protect(type, () => toProto(p, value));
      p.throwIfAny('encode');
      return finishBytes(type, () => generated.encode(m).finish());
    },
    decode(bytes: Uint8Array, options?: DecodeOptions): T {
      const m = parseBytes(type, bytes, options, (b) => generated.decode(b));
      const p = new Problems(type);
      const v = fromProto(p, m);
      p.throwIfAny('decode');
      return v;
    },
  };
}
