/**
 * Checks of a replayed WfCommons trace's outputs (`aloft replay`, `aloft submit TRACE`):
 * which files are its final products (outputs no task reads, the ones a replay stages out),
 * and that each exists with its recorded size × the size scale and the deterministic
 * content the synthetic executor writes for its lfn (agents/executors/synthetic-executor).
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { writeSyntheticFile } from '../../agents/executors/index.js';
import { importWfFormat } from '../../services/formats/index.js';
import { prepareReplayWorkflow } from '../../services/replay/index.js';

export interface FinalProduct {
  lfn: string;
  /** Recorded size × size scale, rounded as the synthetic executor rounds it. */
  bytes: number;
}

/** The trace's final products, as a replay at `sizeScale` stages them out. */
export async function finalProducts(trace: string, sizeScale: number): Promise<FinalProduct[]> {
  const { workflow } = await importWfFormat(trace);
  const replayed = prepareReplayWorkflow(workflow, { timeScale: 1, sizeScale });
  const out = new Map<string, number>();
  for (const job of replayed.jobs) {
    for (const use of job.uses) {
      if (use.link !== 'input' && use.stageOut) {
        out.set(use.lfn, Math.round((use.size ?? 0) * sizeScale));
      }
    }
  }
  return [...out].map(([lfn, bytes]) => ({ lfn, bytes })).sort((a, b) => (a.lfn < b.lfn ? -1 : 1));
}

/** Every final product is in `dir` with its size and the synthetic executor's bytes. */
export async function expectSyntheticOutputs(
  dir: string,
  finals: readonly FinalProduct[],
): Promise<void> {
  expect(finals.length).toBeGreaterThan(0);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'aloft-replay-check-'));
  try {
    for (const f of finals) {
      const file = path.join(dir, ...f.lfn.split('/'));
      expect((await stat(file)).size, f.lfn).toBe(f.bytes);
      const want = path.join(scratch, 'expected');
      await writeSyntheticFile(want, f.lfn, f.bytes);
      expect((await readFile(file)).equals(await readFile(want)), `${f.lfn} content`).toBe(true);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
