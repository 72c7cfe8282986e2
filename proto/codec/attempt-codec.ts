/**
 * AttemptKey, Failure, InvocationRecord and AttemptOutcome (proto/attempt.ts) <->
 * their aloft.v1 messages. exitCode/signal null <-> absent on the wire; a failed outcome
 * without a Failure, or an ok outcome with one, is refused.
 */
import { aloft } from '../generated/aloft.js';
import type {
  AttemptKey,
  AttemptOutcome,
  CacheUse,
  Failure,
  FailureKind,
  FileRecord,
  InvocationRecord,
  TransferRecord,
} from '../attempt.js';
import { EnumMap, fromInt64, present, toSint, toUint, type Problems } from './wire-support.js';

import v1 = aloft.v1;

export const FAILURE_KINDS: readonly FailureKind[] = [
  'application',
  'infrastructure',
  'data',
  'timeout',
  'cancelled',
];
export const FAILURE_KIND = new EnumMap<FailureKind>('failure kind', FAILURE_KINDS);
const FILE_LINK = new EnumMap<FileRecord['link']>('file link', ['input', 'output']);
/** CACHE_USE_UNSPECIFIED (0) = absent. */
const CACHE_USE = new EnumMap<CacheUse>('cache use', ['hit', 'miss', 'bypass']);

export function keyOut(p: Problems, path: string, k: AttemptKey): v1.IAttemptKey {
  return {
    job: k.job,
    attempt: toUint(p, `${path}.attempt`, k.attempt, 32),
    epoch: toUint(p, `${path}.epoch`, k.epoch, 64),
  };
}

export function keyIn(p: Problems, path: string, k: v1.IAttemptKey | null | undefined): AttemptKey {
  if (!present(k)) {
    p.add(path, 'missing (every message about an attempt carries its key)');
    return { job: '', attempt: 0, epoch: 0 };
  }
  return {
    job: k.job ?? '',
    attempt: k.attempt ?? 0,
    epoch: fromInt64(p, `${path}.epoch`, k.epoch),
  };
}

export function failureOut(p: Problems, path: string, f: Failure): v1.IFailure {
  const o: v1.IFailure = {
    kind: FAILURE_KIND.encode(p, `${path}.kind`, f.kind),
    message: f.message,
  };
  if (f.missingFiles !== undefined) o.missingFiles = { values: f.missingFiles };
  if (f.code !== undefined) o.code = f.code;
  return o;
}

export function failureIn(p: Problems, path: string, f: v1.IFailure): Failure {
  const o: Failure = {
    kind: FAILURE_KIND.decode(p, `${path}.kind`, f.kind),
    message: f.message ?? '',
  };
  if (present(f.missingFiles)) o.missingFiles = f.missingFiles.values ?? [];
  if (present(f.code)) o.code = f.code;
  return o;
}

function fileRecordOut(p: Problems, path: string, f: FileRecord): v1.IFileRecord {
  const o: v1.IFileRecord = {
    lfn: f.lfn,
    link: FILE_LINK.encode(p, `${path}.link`, f.link),
    size: toUint(p, `${path}.size`, f.size, 64),
  };
  if (f.sha256 !== undefined) o.sha256 = f.sha256;
  return o;
}

function fileRecordIn(p: Problems, path: string, f: v1.IFileRecord): FileRecord {
  const o: FileRecord = {
    lfn: f.lfn ?? '',
    link: FILE_LINK.decode(p, `${path}.link`, f.link),
    size: fromInt64(p, `${path}.size`, f.size),
  };
  if (present(f.sha256)) o.sha256 = f.sha256;
  return o;
}

function transferRecordOut(p: Problems, path: string, t: TransferRecord): v1.ITransferRecord {
  const o: v1.ITransferRecord = {
    lfn: t.lfn,
    src: t.src,
    dst: t.dst,
    bytes: toUint(p, `${path}.bytes`, t.bytes, 64),
    durationMs: t.durationMs,
  };
  if (t.sha256 !== undefined) o.sha256 = t.sha256;
  if (t.failedSources !== undefined) o.failedSources = { values: t.failedSources };
  if (t.cache !== undefined) o.cache = CACHE_USE.encode(p, `${path}.cache`, t.cache);
  return o;
}

function transferRecordIn(p: Problems, path: string, t: v1.ITransferRecord): TransferRecord {
  const o: TransferRecord = {
    lfn: t.lfn ?? '',
    src: t.src ?? '',
    dst: t.dst ?? '',
    bytes: fromInt64(p, `${path}.bytes`, t.bytes),
    durationMs: t.durationMs ?? 0,
  };
  if (present(t.sha256)) o.sha256 = t.sha256;
  if (present(t.failedSources)) o.failedSources = t.failedSources.values ?? [];
  if (t.cache) o.cache = CACHE_USE.decode(p, `${path}.cache`, t.cache);
  return o;
}

export function recordOut(p: Problems, path: string, r: InvocationRecord): v1.IInvocationRecord {
  const o: v1.IInvocationRecord = {
    job: r.job,
    attempt: toUint(p, `${path}.attempt`, r.attempt, 32),
    agent: r.agent,
    site: r.site,
    host: r.host,
    user: r.user,
    executor: r.executor,
    argv: r.argv,
    cwd: r.cwd,
    start: r.start,
    durationMs: r.durationMs,
    utimeMs: r.utimeMs,
    stimeMs: r.stimeMs,
    maxRssKb: toUint(p, `${path}.maxRssKb`, r.maxRssKb, 64),
    stdoutTail: r.stdoutTail,
    stderrTail: r.stderrTail,
    stdoutBytes: toUint(p, `${path}.stdoutBytes`, r.stdoutBytes, 64),
    stderrBytes: toUint(p, `${path}.stderrBytes`, r.stderrBytes, 64),
    files: r.files.map((f, i) => fileRecordOut(p, `${path}.files[${i}]`, f)),
    transfers: r.transfers.map((t, i) => transferRecordOut(p, `${path}.transfers[${i}]`, t)),
  };
  if (r.exitCode !== null) o.exitCode = toSint(p, `${path}.exitCode`, r.exitCode, 32);
  if (r.signal !== null) o.signal = r.signal;
  return o;
}

export function recordIn(
  p: Problems,
  path: string,
  r: v1.IInvocationRecord | null | undefined,
): InvocationRecord {
  if (!present(r)) {
    p.add(path, 'missing');
    r = {};
  }
  return {
    job: r.job ?? '',
    attempt: r.attempt ?? 0,
    agent: r.agent ?? '',
    site: r.site ?? '',
    host: r.host ?? '',
    user: r.user ?? '',
    executor: r.executor ?? '',
    argv: r.argv ?? [],
    cwd: r.cwd ?? '',
    start: r.start ?? '',
    durationMs: r.durationMs ?? 0,
    exitCode: present(r.exitCode) ? r.exitCode : null,
    signal: present(r.signal) ? r.signal : null,
    utimeMs: r.utimeMs ?? 0,
    stimeMs: r.stimeMs ?? 0,
    maxRssKb: fromInt64(p, `${path}.maxRssKb`, r.maxRssKb),
    stdoutTail: r.stdoutTail ?? '',
    stderrTail: r.stderrTail ?? '',
    stdoutBytes: fromInt64(p, `${path}.stdoutBytes`, r.stdoutBytes),
    stderrBytes: fromInt64(p, `${path}.stderrBytes`, r.stderrBytes),
    files: (r.files ?? []).map((f, i) => fileRecordIn(p, `${path}.files[${i}]`, f)),
    transfers: (r.transfers ?? []).map((t, i) => transferRecordIn(p, `${path}.transfers[${i}]`, t)),
  };
}

export function outcomeOut(p: Problems, path: string, o: AttemptOutcome): v1.IAttemptOutcome {
  const out: v1.IAttemptOutcome = { ok: o.ok, record: recordOut(p, `${path}.record`, o.record) };
  if (!o.ok) out.failure = failureOut(p, `${path}.failure`, o.failure);
  return out;
}

export function outcomeIn(
  p: Problems,
  path: string,
  o: v1.IAttemptOutcome | null | undefined,
): AttemptOutcome {
  if (!present(o)) {
    p.add(path, 'missing');
    o = {};
  }
  const record = recordIn(p, `${path}.record`, o.record);
  if (o.ok) {
    if (present(o.failure)) p.add(`${path}.failure`, 'present on an ok outcome');
    return { ok: true, record };
  }
  if (!present(o.failure)) {
    p.add(`${path}.failure`, 'missing on a failed outcome');
    return { ok: false, record, failure: { kind: 'infrastructure', message: '' } };
  }
  return { ok: false, record, failure: failureIn(p, `${path}.failure`, o.failure) };
}
