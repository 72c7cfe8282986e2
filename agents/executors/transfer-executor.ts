/**
 * The `transfer` executor: stage_in, stage_out and inter_site jobs, done inside the agent
 * (no process per transfer, like pegasus-transfer).
 *
 * For each Transfer, sources are tried in order; each source gets up to 3 tries with
 * jittered exponential backoff (lib/retry) when its error is retryable (store unavailable,
 * checksum mismatch); a source that still fails is recorded and the next one is tried.
 * When the Transfer carries a checksum, the download is verified before it becomes visible
 * at the destination. Up to 4 transfers run at once. The job fails if any transfer fails:
 * kind `data` when every source was missing or corrupt, else `infrastructure`.
 *
 * Stores are the job's view (agents/stores `storeForJob`: its StoreAccess endpoints over the
 * agent's environment). Progress — files and bytes done of the job's total — is reported
 * through `ctx.progress` each time a transfer settles (the agent throttles what it sends).
 * Bytes count whole files: the planned size when the plan has it, else what was copied.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { AloftError } from '../../lib/errors/index.js';
import { retry, type BackoffOptions } from '../../lib/retry/index.js';
import {
  errorCode,
  storeError,
  storeFor as registryStoreFor,
  type CopyResult,
} from '../../lib/store/index.js';
import type { Failure, Transfer, TransferProgress, TransferRecord } from '../../proto/index.js';
import { storeForJob, type StoreResolver } from '../stores/index.js';
import { emptyOutcome, type ExecContext, type ExecOutcome, type Executor } from './executor.js';
import { runPool } from './pool.js';

export interface TransferExecutorOptions {
  /** Tries per source (default 3). */
  tries?: number;
  /** Backoff between tries of one source (default 200 ms doubling to 5 s, half jitter). */
  backoff?: BackoffOptions;
  /** Transfers in flight at once (default 4). */
  parallel?: number;
}

/** Copy one URL to another; when the destination is a local file, straight into place. */
export async function copyUrl(
  src: string,
  dest: string,
  o: { scratch: string; signal: AbortSignal; sha256?: string; storeFor?: StoreResolver },
): Promise<CopyResult> {
  const storeFor = o.storeFor ?? registryStoreFor;
  const destStore = storeFor(dest);
  const local = destStore.localPath?.(dest);
  const get = { signal: o.signal, ...(o.sha256 !== undefined ? { sha256: o.sha256 } : {}) };
  if (local !== undefined) return await storeFor(src).get(src, local, get);
  // Remote destination: download (verified) into scratch, then upload.
  const dir = path.join(o.scratch, '.aloft.transfers');
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, randomBytes(8).toString('hex'));
  try {
    const r = await storeFor(src).get(src, tmp, get);
    await destStore.put(tmp, dest, { signal: o.signal });
    return r;
  } finally {
    await rm(tmp, { force: true });
  }
}

interface TransferResult {
  record?: TransferRecord;
  failure?: Failure;
}

export function createTransferExecutor(options: TransferExecutorOptions = {}): Executor {
  const tries = options.tries ?? 3;
  const backoff = options.backoff ?? { initialMs: 200, maxMs: 5000, jitter: 0.5 };
  const parallel = options.parallel ?? 4;

  async function one(
    t: Transfer,
    ctx: ExecContext,
    storeFor: StoreResolver,
  ): Promise<TransferResult> {
    const failed: string[] = [];
    const errors: AloftError[] = [];
    const t0 = Date.now();
    for (const source of t.sources) {
      try {
        const r = await retry(
          () =>
            copyUrl(source.url, t.dest.url, {
              scratch: ctx.scratch,
              signal: ctx.signal,
              storeFor,
              ...(t.checksum ? { sha256: t.checksum.value } : {}),
            }).catch((e: unknown) => {
              throw storeError(e, 'copy', source.url);
            }),
          {
            ...backoff,
            tries,
            signal: ctx.signal,
            onRetry: (e, attempt, delayMs) =>
              ctx.logger.info(
                { lfn: t.lfn, src: source.url, attempt, delayMs, err: e.message },
                'transfer retry',
              ),
          },
        );
        return {
          record: {
            lfn: t.lfn,
            src: source.url,
            dst: t.dest.url,
            bytes: r.bytes,
            sha256: r.sha256,
            durationMs: Date.now() - t0,
            ...(failed.length > 0 ? { failedSources: failed } : {}),
          },
        };
      } catch (e) {
        const err = e instanceof AloftError ? e : storeError(e, 'copy', source.url);
        if (err.code === 'CANCELLED' || ctx.signal.aborted) throw err;
        failed.push(source.url);
        errors.push(err);
        ctx.logger.warn(
          { lfn: t.lfn, src: source.url, err: err.message },
          'transfer source failed',
        );
      }
    }
    if (t.sources.length === 0) {
      return {
        failure: {
          kind: 'data',
          message: `transfer of ${t.lfn} lists no source`,
          missingFiles: [t.lfn],
        },
      };
    }
    const dataOnly = errors.every((e) => e.code === 'NOT_FOUND' || e.code === 'DATA_LOSS');
    const allMissing = errors.every((e) => e.code === 'NOT_FOUND');
    const last = errors[errors.length - 1];
    return {
      failure: {
        kind: dataOnly ? 'data' : 'infrastructure',
        message: `transfer of ${t.lfn} to ${t.dest.url} failed from every source: ${errors
          .map((e) => e.message)
          .join('; ')}`,
        ...(allMissing ? { missingFiles: [t.lfn] } : {}),
        ...(last ? { code: errorCode(last) } : {}),
      },
    };
  }

  async function run(ctx: ExecContext): Promise<ExecOutcome> {
    const transfers = ctx.job.transfers ?? [];
    const outcome = emptyOutcome('transfer', ['aloft:transfer', ctx.job.kind]);
    const storeFor = storeForJob(ctx.job);
    const progress: TransferProgress = {
      filesDone: 0,
      filesTotal: transfers.length,
      bytesDone: 0,
      bytesTotal: transfers.reduce((n, t) => n + (t.size ?? 0), 0),
    };
    ctx.progress?.({ ...progress });
    const results = await runPool(transfers, parallel, async (t) => {
      const r = await one(t, ctx, storeFor);
      if (r.record) {
        progress.filesDone++;
        progress.bytesDone += t.size ?? r.record.bytes;
        // A file of unplanned size counts towards the total once its size is known.
        if (t.size === undefined) progress.bytesTotal += r.record.bytes;
        ctx.progress?.({ ...progress });
      }
      return r;
    });
    const records = results.flatMap((r) => (r.record ? [r.record] : []));
    const failures = results.flatMap((r) => (r.failure ? [r.failure] : []));
    ctx.signal.throwIfAborted();
    const first = failures[0];
    if (!first) return { ...outcome, exitCode: 0, transfers: records };
    const missing = failures.flatMap((f) => f.missingFiles ?? []);
    return {
      ...outcome,
      transfers: records,
      failure: {
        ...first,
        kind: failures.some((f) => f.kind === 'infrastructure') ? 'infrastructure' : 'data',
        message:
          failures.length === 1
            ? first.message
            : `${failures.length} of ${transfers.length} transfers failed; first: ${first.message}`,
        ...(missing.length > 0 ? { missingFiles: missing } : {}),
      },
    };
  }

  return { name: 'transfer', run };
}
