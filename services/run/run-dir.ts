/**
 * The run directory: one directory per run of a workflow, everything a run needs to resume
 * and everything a user looks at afterwards.
 *
 *   plan.json            the plan, written atomically once (its sha256 is the plan digest)
 *   run.json             workflow path and name, creation time, options, plan digest
 *   journal.jsonl        the journal (services/journal)
 *   stores/<site>/       file:// store of each site without its own storage
 *   agent/               the embedded agent's work dir (scratch, outbox)
 *   output-replicas.yml  registered outputs (Pegasus replica catalog)
 *   lock                 pid of the process running it (stale after a crash: taken over)
 *
 * Default run directories are `<runsRoot>/<workflow-name>-NNN` (001, 002, ...).
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AloftError } from '../../lib/errors/index.js';
import type { PlanOptions } from '../../proto/plan.js';
import { readJournalSync, type RunEndState } from '../journal/index.js';
import { writeFileAtomic } from './atomic-write.js';
import { OUTPUT_REPLICAS_FILE } from './output-replicas.js';

export const RUN_INFO_FORMAT = 'aloft-run/1';

export interface RunPaths {
  dir: string;
  plan: string;
  info: string;
  journal: string;
  stores: string;
  agent: string;
  outputReplicas: string;
  lock: string;
}

export function runPaths(runDir: string): RunPaths {
  const dir = path.resolve(runDir);
  return {
    dir,
    plan: path.join(dir, 'plan.json'),
    info: path.join(dir, 'run.json'),
    journal: path.join(dir, 'journal.jsonl'),
    stores: path.join(dir, 'stores'),
    agent: path.join(dir, 'agent'),
    outputReplicas: path.join(dir, OUTPUT_REPLICAS_FILE),
    lock: path.join(dir, 'lock'),
  };
}

/** `file://` URL of the run's store root, ending in '/' (PlanOptions.storeRoot). */
export function storeRootUrl(runDir: string): string {
  return pathToFileURL(runPaths(runDir).stores).href + '/';
}

/** `file://` URL of a directory, ending in '/' (PlanOptions.outputUrl). */
export function dirUrl(dir: string): string {
  return pathToFileURL(path.resolve(dir)).href + '/';
}

export interface RunInfo {
  format: typeof RUN_INFO_FORMAT;
  runId: string;
  workflow: { path: string; name: string };
  created: string;
  outputDir: string;
  /** The options the plan was made with (as in plan.json), e.g. `available` for a resume. */
  options: PlanOptions;
  planDigest: string;
}

/** sha256 (hex) of text given whole or in chunks (the plan file's bytes: its digest). */
export function digestOf(text: string | Iterable<string>): string {
  const h = createHash('sha256');
  if (typeof text === 'string') h.update(text);
  else for (const chunk of text) h.update(chunk);
  return h.digest('hex');
}

export function readRunInfo(runDir: string): RunInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(runPaths(runDir).info, 'utf8')) as RunInfo;
    return info.format === RUN_INFO_FORMAT ? info : undefined;
  } catch {
    return undefined;
  }
}

/** sha256 of the stored plan file, or undefined when there is none. */
export function storedPlanDigest(runDir: string): string | undefined {
  try {
    return createHash('sha256')
      .update(readFileSync(runPaths(runDir).plan))
      .digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * How the run in `runDir` last ended: the state of its last `run_finished`, 'running' when
 * it started (or resumed) and never finished (crashed, killed, or still going), 'new' when
 * nothing ran yet.
 */
export function runState(runDir: string): RunEndState | 'running' | 'new' {
  let state: RunEndState | 'running' | 'new' = 'new';
  for (const e of readJournalSync(runDir)) {
    if (e.type === 'run_started') state = 'running';
    else if (e.type === 'run_finished') state = e.state;
  }
  return state;
}

/**
 * Write plan.json and run.json of a new run (atomically; plan first, so a run.json always
 * names a plan that exists). Creates the directory and its `stores/` and `agent/`.
 */
export async function initRunDir(
  runDir: string,
  planFile: string | Iterable<string>,
  info: RunInfo,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const p = runPaths(runDir);
  await fsp.mkdir(p.stores, { recursive: true });
  await fsp.mkdir(p.agent, { recursive: true });
  await writeFileAtomic(p.plan, planFile, options);
  await writeFileAtomic(p.info, JSON.stringify(info, null, 2) + '\n', options);
}

/** A workflow name made safe for a directory name: [A-Za-z0-9_.-], never dots only. */
export function safeRunName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[.]+/, '_');
  return s === '' ? 'workflow' : s.slice(0, 100);
}

export interface NumberedRun {
  dir: string;
  n: number;
}

/** Existing `<runsRoot>/<name>-NNN` directories, oldest first. */
export function listRuns(runsRoot: string, name: string): NumberedRun[] {
  const safe = safeRunName(name);
  let names: string[];
  try {
    names = readdirSync(runsRoot);
  } catch {
    return [];
  }
  const re = new RegExp(`^${safe.replace(/[.]/g, '\\.')}-(\\d{3,})$`);
  const out: NumberedRun[] = [];
  for (const n of names) {
    const m = re.exec(n);
    if (m) out.push({ dir: path.join(runsRoot, n), n: Number(m[1]) });
  }
  return out.sort((a, b) => a.n - b.n);
}

export function numberedRunDir(runsRoot: string, name: string, n: number): string {
  return path.join(runsRoot, `${safeRunName(name)}-${String(n).padStart(3, '0')}`);
}

export function isRunDir(dir: string): boolean {
  return existsSync(runPaths(dir).plan);
}

export interface RunLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claim the run directory for this process. A lock left by a process that no longer exists
 * (kill -9, a crash) is taken over; one held by a live process is FAILED_PRECONDITION.
 */
export async function lockRunDir(runDir: string): Promise<RunLock> {
  const file = runPaths(runDir).lock;
  await fsp.mkdir(path.dirname(file), { recursive: true });
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fh = await fsp.open(file, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return {
        release: async () => {
          await fsp.rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number((await fsp.readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new AloftError(
        'FAILED_PRECONDITION',
        `run dir ${runDir} is in use by process ${pid}; wait for it, or stop it (Ctrl-C) first`,
      );
    }
    await fsp.rm(file, { force: true });
  }
  throw new AloftError('ABORTED', `could not lock run dir ${runDir}; try again`);
}
