/**
 * Shared machinery of the protobuf codecs: size limits, turning protobufjs' exceptions into
 * AloftErrors that name the message type, collecting every problem of one message, and the
 * checked conversions between JS numbers and protobuf integer types.
 *
 * Contract: nothing here lets a raw protobufjs error escape. Malformed bytes and values the
 * TS types cannot represent (an unknown enum number, a missing required sub-message, an
 * int64 beyond 2^53) become AloftError INVALID_ARGUMENT; a payload over the limit becomes
 * RESOURCE_EXHAUSTED (not retryable) before any byte is parsed.
 */
import type Long from 'long';
import { AloftError, type Problem } from '../../lib/errors/index.js';

/** Default limit for one decoded message (NATS' own max_payload defaults to 1 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

export interface DecodeOptions {
  /** Reject payloads larger than this many bytes (default DEFAULT_MAX_MESSAGE_BYTES). */
  maxBytes?: number;
}

/** Problems found while mapping one message; thrown together at the end. */
export class Problems {
  readonly list: Problem[] = [];
  constructor(readonly type: string) {}

  add(path: string, message: string, hint?: string): void {
    this.list.push({
      where: `${this.type}${path ? `: ${path}` : ''}`,
      message,
      ...(hint ? { hint } : {}),
    });
  }

  throwIfAny(direction: 'decode' | 'encode'): void {
    if (this.list.length === 0) return;
    const first = this.list[0]!;
    const head = `cannot ${direction} ${first.where}: ${first.message}`;
    const summary = this.list.length === 1 ? head : `${head} (and ${this.list.length - 1} more)`;
    throw AloftError.invalid(this.list, summary);
  }
}

/** Parse `bytes` with a generated decoder; size-checked, protobufjs errors normalised. */
export function parseBytes<P>(
  type: string,
  bytes: Uint8Array,
  options: DecodeOptions | undefined,
  decode: (b: Uint8Array) => P,
): P {
  if (!(bytes instanceof Uint8Array)) {
    throw AloftError.invalid({ where: type, message: 'payload is not a byte array' });
  }
  const max = options?.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (bytes.length > max) {
    throw new AloftError(
      'RESOURCE_EXHAUSTED',
      `${type}: payload of ${bytes.length} bytes exceeds the limit of ${max} bytes`,
      { retryable: false },
    );
  }
  try {
    return decode(bytes);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw AloftError.invalid(
      {
        where: type,
        message: `malformed protobuf payload (${bytes.length} bytes): ${reason}`,
        hint: 'the sender and receiver must speak the same aloft.v1 schema',
      },
      `cannot decode ${type}: malformed protobuf payload (${reason})`,
    );
  }
}

/** Encode with a generated encoder; protobufjs errors (should not happen after our checks)
 *  become INVALID_ARGUMENT naming the type. */
export function finishBytes(type: string, encode: () => Uint8Array): Uint8Array {
  try {
    return encode();
  } catch (e) {
    throw AloftError.invalid({
      where: type,
      message: `cannot encode: ${e instanceof Error ? e.message : String(e)}`,
    });
  }
}

/** Run a TS -> proto mapping; a TypeError from a value that does not have the TS shape
 *  (a missing array, a null where an object belongs) becomes INVALID_ARGUMENT. */
export function protect<R>(type: string, map: () => R): R {
  try {
    return map();
  } catch (e) {
    if (e instanceof AloftError) throw e;
    throw AloftError.invalid({
      where: type,
      message: `value does not have the shape of ${type}: ${e instanceof Error ? e.message : String(e)}`,
    });
  }
}

const MAX_U32 = 0xffffffff;

/** A protobuf 64-bit integer as decoded (Long when the `long` package is present). */
export type Int64 = number | Long;

/** int64/uint64 from the wire → a JS number, only if it is a safe integer. */
export function fromInt64(p: Problems, path: string, v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  const n = typeof v === 'number' ? v : v.toNumber();
  if (!Number.isSafeInteger(n)) {
    p.add(path, `integer ${String(v)} is beyond JavaScript's safe range (2^53)`);
    return 0;
  }
  return n;
}

/** A JS number going into a uint32/uint64 field: a non-negative safe integer. */
export function toUint(p: Problems, path: string, v: number, bits: 32 | 64): number {
  if (!Number.isSafeInteger(v) || v < 0 || (bits === 32 && v > MAX_U32)) {
    p.add(path, `${v} is not a non-negative ${bits === 32 ? '32-bit' : 'safe'} integer`);
    return 0;
  }
  return v;
}

/** A JS number going into an sint32/sint64 field. */
export function toSint(p: Problems, path: string, v: number, bits: 32 | 64): number {
  const ok = Number.isSafeInteger(v) && (bits === 64 || (v >= -0x80000000 && v <= 0x7fffffff));
  if (!ok) {
    p.add(path, `${v} is not a ${bits === 32 ? '32-bit' : 'safe'} integer`);
    return 0;
  }
  return v;
}

/** A bidirectional map between a TS string union and a protobuf enum (0 = unspecified). */
export class EnumMap<T extends string> {
  private readonly toNum = new Map<string, number>();
  private readonly toStr = new Map<number, T>();

  constructor(
    readonly what: string,
    values: readonly T[],
  ) {
    values.forEach((v, i) => {
      this.toNum.set(v, i + 1);
      this.toStr.set(i + 1, v);
    });
  }

  encode(p: Problems, path: string, v: T): number {
    const n = this.toNum.get(v);
    if (n === undefined) {
      p.add(
        path,
        `unknown ${this.what} '${String(v)}'`,
        `one of ${[...this.toNum.keys()].join(', ')}`,
      );
      return 0;
    }
    return n;
  }

  decode(p: Problems, path: string, n: number | null | undefined): T {
    const v = this.toStr.get(n ?? 0);
    if (v === undefined) {
      p.add(path, `unknown ${this.what} ${n ?? 0}`, 'the sender uses a newer or broken schema');
      return [...this.toStr.values()][0]!;
    }
    return v;
  }
}

/** True when an optional protobuf field was present on the wire. */
export function present<V>(v: V | null | undefined): v is V {
  return v !== null && v !== undefined;
}
