/**
 * Disk full during an attempt (issue 4 item 5): not the job's fault but the agent's, so
 * the failure is `infrastructure` with code ENOSPC and the scheduler retries the job (its
 * infrastructure retries spend none of the job's own). How it is recognised:
 *  - stage-in and stage-out: the store or copy error is RESOURCE_EXHAUSTED / ENOSPC /
 *    EDQUOT (lib/store maps errno), which staging already reports as `infrastructure`
 *    with that code;
 *  - run: a job whose write failed just exits non-zero (an `application` failure). It is
 *    taken as disk full when, after the run, the filesystem of its scratch dir has less
 *    than DISK_FULL_BYTES available, or its stderr tail says "No space left on device"
 *    (or "Disk quota exceeded").
 * What the agent then does (agent.ts): removes the attempt's scratch (kept on other
 * failures for debugging, but here it is what fills the disk), evicts every cache entry
 * not in use, and re-advertises its free disk before it reports the result.
 */
import { statfs } from 'node:fs/promises';
import type { Failure, InvocationRecord } from '../../proto/index.js';

/** Below this many bytes available after a failed run, the disk counts as full. */
export const DISK_FULL_BYTES = 1024 * 1024;

const DISK_FULL_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'RESOURCE_EXHAUSTED']);
const DISK_FULL_TEXT = /No space left on device|Disk quota exceeded/i;

/** True for an infrastructure failure that says the disk is full. */
export function isDiskFull(f: Failure | undefined): boolean {
  return f?.kind === 'infrastructure' && f.code !== undefined && DISK_FULL_CODES.has(f.code);
}

async function availableBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * The failure to report for a run that failed as `application`: unchanged, or turned into
 * an `infrastructure` ENOSPC failure when the disk was full (see the module header).
 */
export async function classifyRunFailure(
  failure: Failure,
  rec: Pick<InvocationRecord, 'stderrTail' | 'stdoutTail'>,
  scratch: string,
  jobId: string,
): Promise<Failure> {
  if (failure.kind !== 'application') return failure;
  const said = DISK_FULL_TEXT.test(rec.stderrTail) || DISK_FULL_TEXT.test(rec.stdoutTail);
  const free = await availableBytes(scratch);
  const full = free !== undefined && free < DISK_FULL_BYTES;
  if (!said && !full) return failure;
  const why = full
    ? `${free} bytes were left on the filesystem of its scratch dir`
    : 'its output says "No space left on device"';
  return {
    kind: 'infrastructure',
    message: `job ${jobId}: the agent's disk filled up during the run (${why}); the job's own failure was: ${failure.message}`,
    code: 'ENOSPC',
    ...(failure.missingFiles ? { missingFiles: failure.missingFiles } : {}),
  };
}
