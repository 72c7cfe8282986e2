/**
 * What the process and docker executors both need before starting a compute job: its argv
 * (a stageable executable is fetched into scratch, made executable and run as `./name`)
 * and where its stdout/stderr go (the job's `stdout`/`stderr` lfns, else `<prefix>.stdout`
 * and `<prefix>.stderr` in scratch).
 */
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { storeError, storeFor } from '../../lib/store/index.js';
import type { Executable, PlannedJob } from '../../proto/index.js';
import { fail, type ExecContext, type ExecOutcome } from './executor.js';
import { scratchPath } from './scratch-path.js';

const SAFE_NAME = /^[A-Za-z0-9_.+-]+$/;

/**
 * The job's argv, or the failed outcome when a stageable executable cannot be fetched.
 * Cancellation propagates as a throw.
 */
export async function commandOf(
  ctx: Pick<ExecContext, 'job' | 'scratch' | 'signal'>,
  exe: Executable,
  outcome: ExecOutcome,
): Promise<{ argv: string[] } | { failed: ExecOutcome }> {
  const { job, scratch } = ctx;
  const args = job.args ?? [];
  if (exe.type !== 'stageable') return { argv: [exe.pfn, ...args] };
  const name = path.basename(exe.name);
  if (!SAFE_NAME.test(name)) {
    return {
      failed: fail(
        outcome,
        'infrastructure',
        `job ${job.id}: executable name '${exe.name}' cannot be used as a file name`,
      ),
    };
  }
  try {
    const dest = path.join(scratch, name);
    await storeFor(exe.pfn).get(exe.pfn, dest, { signal: ctx.signal });
    await chmod(dest, 0o755);
  } catch (e) {
    const err = storeError(e, 'get', exe.pfn);
    if (err.code === 'CANCELLED') throw err;
    return {
      failed: fail(
        outcome,
        'infrastructure',
        `cannot fetch executable ${exe.name} for job ${job.id}: ${err.message}`,
        { code: err.code },
      ),
    };
  }
  return { argv: [`./${name}`, ...args] };
}

export function stdioPaths(
  job: PlannedJob,
  scratch: string,
  prefix: string,
): { stdoutPath: string; stderrPath: string } {
  return {
    stdoutPath: job.stdout
      ? scratchPath(scratch, job.stdout)
      : path.join(scratch, `${prefix}.stdout`),
    stderrPath: job.stderr
      ? scratchPath(scratch, job.stderr)
      : path.join(scratch, `${prefix}.stderr`),
  };
}
