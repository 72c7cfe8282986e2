/**
 * The agent's stage-in and stage-out hooks for one attempt.
 *
 * Stage-in puts every input into scratch under its lfn (subdirectories created): a
 * hard link when the store is local (file://) and on the same filesystem — no copy, and
 * the store's object is never modified through it by aloft. Every other input (s3://,
 * http(s)://, file:// on another filesystem) goes through the agent's input cache when it
 * has one (agents/cache: fetched once per agent, verified, then hard-linked — read-only —
 * into scratch; entries stay pinned until the attempt calls `release`), else it is copied
 * through the store. Each input's TransferRecord says `cache: hit | miss | bypass` when
 * the cache was involved. A declared checksum is verified. Missing or corrupt inputs fail
 * the attempt as `data` (all of them listed in missingFiles), anything else (disk full:
 * code ENOSPC) as `infrastructure`.
 *
 * Stage-out checks that every declared output exists (optional ones may be absent),
 * otherwise fails as `application` naming the files; then uploads each to its URL through
 * its store, recording size and sha256.
 *
 * Which store serves a URL is the caller's `storeFor` (the job's view, agents/stores: its
 * StoreAccess endpoints over the agent's environment); default the global registry.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AloftError, toAloftError } from '../../lib/errors/index.js';
import { errorCode, storeError, storeFor as registryStoreFor } from '../../lib/store/index.js';
import { LINK_FALLBACK, type Fetched, type InputCache } from '../cache/index.js';
import type {
  Failure,
  FileRecord,
  PlannedFile,
  PlannedJob,
  TransferRecord,
} from '../../proto/index.js';
import { fileUrl, runPool, scratchPath } from '../executors/index.js';
import type { StoreResolver } from '../stores/index.js';

export interface StageResult {
  files: FileRecord[];
  transfers: TransferRecord[];
  failure?: Failure;
  /** Stage-in: unpin the cache entries linked into scratch; call once the attempt is over. */
  release?: () => void;
}

export interface StageInOptions {
  /** The agent's input cache; without one, non-local inputs are copied through the store. */
  cache?: InputCache;
  /** Which store serves a URL (default the registry): `storeForJob(job)`. */
  storeFor?: StoreResolver;
}

export interface StageOutOptions {
  /** Which store serves a URL (default the registry): `storeForJob(job)`. */
  storeFor?: StoreResolver;
}

const PARALLEL = 4;

function uniqueByLfn(files: PlannedFile[]): PlannedFile[] {
  const seen = new Set<string>();
  return files.filter((f) => (seen.has(f.lfn) ? false : (seen.add(f.lfn), true)));
}

/** Inputs to stage for a job; for a cluster, its members' inputs not produced inside it. */
export function inputsOf(job: PlannedJob): PlannedFile[] {
  if (job.kind !== 'cluster') return uniqueByLfn(job.inputs ?? []);
  const members = job.members ?? [];
  const produced = new Set(members.flatMap((m) => (m.outputs ?? []).map((o) => o.lfn)));
  const all = [...(job.inputs ?? []), ...members.flatMap((m) => m.inputs ?? [])];
  return uniqueByLfn(all.filter((f) => !produced.has(f.lfn)));
}

/** Outputs to verify and upload; for a cluster, its own and all its members'. */
export function outputsOf(job: PlannedJob): PlannedFile[] {
  if (job.kind !== 'cluster') return uniqueByLfn(job.outputs ?? []);
  return uniqueByLfn([
    ...(job.outputs ?? []),
    ...(job.members ?? []).flatMap((m) => m.outputs ?? []),
  ]);
}

async function sha256Of(file: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { signal }), hash);
  return hash.digest('hex');
}

async function stageInOne(
  f: PlannedFile,
  scratch: string,
  signal: AbortSignal,
  cache: InputCache | undefined,
  pinned: (() => void)[],
  storeFor: StoreResolver,
): Promise<{ record: FileRecord; transfer: TransferRecord }> {
  const dest = scratchPath(scratch, f.lfn);
  await mkdir(path.dirname(dest), { recursive: true });
  const t0 = Date.now();
  const store = storeFor(f.url);
  const local = store.localPath?.(f.url);
  let linked = false;
  if (local !== undefined) {
    try {
      await link(local, dest);
      linked = true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (!LINK_FALLBACK.has(code)) throw storeError(e, 'get', f.url);
    }
  }
  let bytes: number;
  let sha256: string | undefined;
  let cached: Fetched | undefined;
  if (linked) {
    bytes = (await stat(dest)).size;
    if (f.checksum) {
      sha256 = await sha256Of(dest, signal);
      if (sha256 !== f.checksum.value.toLowerCase()) {
        await rm(dest, { force: true });
        throw new AloftError(
          'DATA_LOSS',
          `${f.url}: checksum mismatch (expected sha256 ${f.checksum.value}, got ${sha256})`,
        );
      }
    }
  } else if (cache) {
    cached = await cache.fetchInto(
      { url: f.url, store, ...(f.checksum ? { sha256: f.checksum.value } : {}) },
      dest,
      signal,
    );
    pinned.push(cached.release);
    bytes = cached.bytes;
    sha256 = cached.sha256;
  } else {
    const r = await store.get(f.url, dest, {
      signal,
      ...(f.checksum ? { sha256: f.checksum.value } : {}),
    });
    bytes = r.bytes;
    sha256 = r.sha256;
  }
  return {
    record: { lfn: f.lfn, link: 'input', size: bytes },
    transfer: {
      lfn: f.lfn,
      src: f.url,
      dst: fileUrl(dest),
      bytes,
      ...(sha256 !== undefined ? { sha256 } : {}),
      durationMs: Date.now() - t0,
      ...(cached ? { cache: cached.use } : {}),
    },
  };
}

export async function stageIn(
  inputs: PlannedFile[],
  scratch: string,
  jobId: string,
  signal: AbortSignal,
  options: StageInOptions = {},
): Promise<StageResult> {
  const storeFor = options.storeFor ?? registryStoreFor;
  const pinned: (() => void)[] = [];
  const release = (): void => {
    for (const r of pinned.splice(0)) r();
  };
  let results;
  try {
    results = await runPool(inputs, PARALLEL, async (f) => {
      signal.throwIfAborted();
      try {
        return {
          f,
          ok: await stageInOne(f, scratch, signal, options.cache, pinned, storeFor),
        };
      } catch (e) {
        const err = storeError(e, 'get', f.url);
        if (err.code === 'CANCELLED' || signal.aborted) throw err;
        return { f, err };
      }
    });
  } catch (e) {
    release();
    throw e;
  }
  const files: FileRecord[] = [];
  const transfers: TransferRecord[] = [];
  const missing: string[] = [];
  const corrupt: string[] = [];
  const other: AloftError[] = [];
  for (const r of results) {
    if (r.ok) {
      files.push(r.ok.record);
      transfers.push(r.ok.transfer);
    } else if (r.err.code === 'NOT_FOUND') {
      missing.push(r.f.lfn);
    } else if (r.err.code === 'DATA_LOSS' || r.err.code === 'INVALID_ARGUMENT') {
      corrupt.push(`${r.f.lfn} (${r.err.message})`);
      missing.push(r.f.lfn);
    } else {
      other.push(r.err);
    }
  }
  const result: StageResult = { files, transfers, release };
  if (missing.length > 0) {
    const notFound = missing.filter((l) => !corrupt.some((c) => c.startsWith(`${l} (`)));
    const parts = [
      ...(notFound.length > 0 ? [`input ${notFound.join(', ')} not found`] : []),
      ...(corrupt.length > 0 ? [`input ${corrupt.join(', ')} unusable`] : []),
    ];
    result.failure = {
      kind: 'data',
      message: `job ${jobId}: ${parts.join('; ')}`,
      missingFiles: missing,
    };
  } else if (other[0]) {
    result.failure = {
      kind: 'infrastructure',
      message: `job ${jobId}: stage-in failed: ${other.map((e) => e.message).join('; ')}`,
      code: errorCode(other[0]),
    };
  }
  return result;
}

export async function stageOut(
  outputs: PlannedFile[],
  scratch: string,
  jobId: string,
  signal: AbortSignal,
  options: StageOutOptions = {},
): Promise<StageResult> {
  const storeFor = options.storeFor ?? registryStoreFor;
  const present: { f: PlannedFile; file: string }[] = [];
  const missing: string[] = [];
  for (const f of outputs) {
    const file = scratchPath(scratch, f.lfn);
    const s = await stat(file).catch(() => undefined);
    if (s?.isFile()) present.push({ f, file });
    else if (!f.optional || s !== undefined) missing.push(f.lfn);
  }
  if (missing.length > 0) {
    const one = missing.length === 1;
    return {
      files: [],
      transfers: [],
      failure: {
        kind: 'application',
        message: `job ${jobId}: declared output${one ? '' : 's'} ${missing.join(', ')} ${
          one ? 'was' : 'were'
        } not produced`,
        missingFiles: missing,
      },
    };
  }
  type Upload = { record: FileRecord; transfer: TransferRecord } | { err: AloftError };
  const results = await runPool(present, PARALLEL, async ({ f, file }): Promise<Upload> => {
    signal.throwIfAborted();
    const t0 = Date.now();
    try {
      const r = await storeFor(f.url).put(file, f.url, { signal });
      return {
        record: { lfn: f.lfn, link: 'output', size: r.bytes, sha256: r.sha256 },
        transfer: {
          lfn: f.lfn,
          src: fileUrl(file),
          dst: f.url,
          bytes: r.bytes,
          sha256: r.sha256,
          durationMs: Date.now() - t0,
        },
      };
    } catch (e) {
      const err = storeError(e, 'put', f.url);
      if (err.code === 'CANCELLED' || signal.aborted) throw err;
      return { err };
    }
  });
  const files = results.flatMap((r) => ('record' in r ? [r.record] : []));
  const transfers = results.flatMap((r) => ('transfer' in r ? [r.transfer] : []));
  const errors = results.flatMap((r) => ('err' in r ? [r.err] : []));
  const first = errors[0];
  if (!first) return { files, transfers };
  return {
    files,
    transfers,
    failure: {
      kind: 'infrastructure',
      message: `job ${jobId}: stage-out failed: ${errors.map((e) => e.message).join('; ')}`,
      code: errorCode(first),
    },
  };
}

/** A Failure for an unexpected error in a hook (normalised; never a stack trace). */
export function failureOf(e: unknown, jobId: string): Failure {
  const err = toAloftError(e);
  const code = errorCode(err);
  if (err.code === 'CANCELLED') return { kind: 'cancelled', message: err.message };
  if (err.code === 'DATA_LOSS')
    return { kind: 'data', message: `job ${jobId}: ${err.message}`, code };
  if (err.code === 'INVALID_ARGUMENT') {
    return { kind: 'data', message: `job ${jobId}: ${err.message}`, code };
  }
  return { kind: 'infrastructure', message: `job ${jobId}: ${err.message}`, code };
}
