/**
 * Opening a run directory for the projections (status, analyze, stats): check it is one,
 * read its plan, and hand out a journal reader. Read-only: never writes to the run dir.
 *
 * A run directory is what `aloft run` prints: it holds `journal.jsonl` and `plan.json`.
 * Anything else is invalid input (exit 2) with a message saying what to pass instead.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AloftError } from '../../lib/errors/index.js';
import type { Plan } from '../../proto/plan.js';
import { runPaths } from '../run/index.js';
import { JournalTail } from './journal-tail.js';

export interface OpenRun {
  /** Absolute path of the run directory. */
  dir: string;
  /** As the user typed it, for messages. */
  given: string;
  plan: Plan;
  journal: JournalTail;
}

export async function openRunDir(
  given: string,
  o: { command: string; cwd?: string; signal?: AbortSignal },
): Promise<OpenRun> {
  const paths = runPaths(path.resolve(o.cwd ?? process.cwd(), given));
  const dir = paths.dir;
  const where = `aloft ${o.command}`;
  const journalFile = paths.journal;
  const planName = path.basename(paths.plan);
  const isFile = await stat(journalFile).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) {
    throw AloftError.invalid({
      where,
      message: `${given} is not an aloft run directory (no ${path.basename(journalFile)})`,
      hint: "pass the directory 'aloft run' printed",
    });
  }
  o.signal?.throwIfAborted();
  const planFile = paths.plan;
  let text: string;
  try {
    text = await readFile(planFile, { encoding: 'utf8', signal: o.signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw AloftError.invalid({
      where,
      message: `${given} has a journal but no readable ${planName}`,
      hint: `the run directory is incomplete; pass the directory 'aloft run' printed, or run the workflow again`,
    });
  }
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch (e) {
    throw AloftError.invalid({
      where: path.join(given, planName),
      message: `not valid JSON (${(e as Error).message})`,
      hint: 'the run directory is damaged; run the workflow again into a new run directory',
    });
  }
  if (!isPlan(plan)) {
    throw AloftError.invalid({
      where: path.join(given, planName),
      message:
        "not an aloft plan (expected format 'aloft-plan/1' and jobs with id, kind and parents)",
      hint: 'pass the run directory of an aloft run',
    });
  }
  return { dir, given, plan, journal: new JournalTail(journalFile) };
}

function isPlan(v: unknown): v is Plan {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Partial<Plan>;
  if (p.format !== 'aloft-plan/1' || !Array.isArray(p.jobs)) return false;
  for (const j of p.jobs as unknown[]) {
    if (typeof j !== 'object' || j === null) return false;
    const job = j as { id?: unknown; kind?: unknown; parents?: unknown };
    if (typeof job.id !== 'string' || typeof job.kind !== 'string') return false;
    if (!Array.isArray(job.parents)) return false;
  }
  return true;
}
