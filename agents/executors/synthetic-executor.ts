/**
 * The `synthetic` executor (executable pfn `aloft:synthetic`): an in-process stand-in for a
 * real task, for replaying WfCommons traces. It reads every input fully (exercising I/O and
 * proving the inputs are there), waits `resources.runtimeSec × time-scale` (abortable),
 * then writes each output at `size × size-scale` bytes of deterministic pseudo-random
 * content seeded by the lfn, in 64 KiB chunks. Scales come from the `aloft` profile keys
 * `synthetic.time-scale` and `synthetic.size-scale` (default 1 each).
 */
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AloftError } from '../../lib/errors/index.js';
import type { PlannedJob } from '../../proto/index.js';
import { emptyOutcome, type ExecContext, type ExecOutcome, type Executor } from './executor.js';
import { scratchPath } from './scratch-path.js';

export const SYNTHETIC_PFN = 'aloft:synthetic';
const CHUNK = 64 * 1024;

function scale(job: PlannedJob, key: string): number | string {
  const raw = job.profiles?.['aloft']?.[key];
  if (raw === undefined || raw.trim() === '') return 1;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : `profile aloft.${key} '${raw}' is not a number ≥ 0`;
}

/** FNV-1a of the lfn: the seed of its content, so the same lfn always gets the same bytes. */
function seedOf(lfn: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < lfn.length; i++) {
    h ^= lfn.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h || 1;
}

/** Write `size` deterministic pseudo-random bytes (xorshift32 seeded by lfn) to file. */
export async function writeSyntheticFile(
  file: string,
  lfn: string,
  size: number,
  signal?: AbortSignal,
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const fh = await open(file, 'w');
  try {
    let x = seedOf(lfn);
    const words = new Uint32Array(CHUNK / 4);
    const bytes = new Uint8Array(words.buffer);
    let left = size;
    while (left > 0) {
      signal?.throwIfAborted();
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x >>> 0;
      }
      const n = Math.min(left, CHUNK);
      let off = 0;
      while (off < n) off += (await fh.write(bytes, off, n - off)).bytesWritten;
      left -= n;
    }
  } finally {
    await fh.close();
  }
}

/** Read a file to its end, returning its size; undefined when it does not exist. */
async function readFully(file: string, signal?: AbortSignal): Promise<number | undefined> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let total = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) return total;
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

export function createSyntheticExecutor(): Executor {
  async function run(ctx: ExecContext): Promise<ExecOutcome> {
    const { job, scratch, signal } = ctx;
    const outcome = emptyOutcome('synthetic', [SYNTHETIC_PFN, ...(job.args ?? [])]);
    const timeScale = scale(job, 'synthetic.time-scale');
    const sizeScale = scale(job, 'synthetic.size-scale');
    for (const s of [timeScale, sizeScale]) {
      if (typeof s === 'string') {
        return { ...outcome, failure: { kind: 'application', message: `job ${job.id}: ${s}` } };
      }
    }
    try {
      const missing: string[] = [];
      let read = 0;
      for (const input of job.inputs ?? []) {
        const n = await readFully(scratchPath(scratch, input.lfn), signal);
        if (n === undefined) missing.push(input.lfn);
        else read += n;
      }
      if (missing.length > 0) {
        return {
          ...outcome,
          failure: {
            kind: 'data',
            message: `job ${job.id}: input ${missing.join(', ')} missing in scratch`,
            missingFiles: missing,
          },
        };
      }
      const waitMs = Math.max(0, job.resources.runtimeSec * (timeScale as number) * 1000);
      await sleep(waitMs, undefined, { signal });
      for (const output of job.outputs ?? []) {
        const size = Math.round((output.size ?? 0) * (sizeScale as number));
        await writeSyntheticFile(scratchPath(scratch, output.lfn), output.lfn, size, signal);
      }
      ctx.logger.debug({ job: job.id, bytesRead: read, waitMs }, 'synthetic task done');
      return { ...outcome, exitCode: 0 };
    } catch (e) {
      if (signal.aborted) throw new AloftError('CANCELLED', `job ${job.id} stopped`, { cause: e });
      throw e;
    }
  }
  return { name: 'synthetic', run };
}
