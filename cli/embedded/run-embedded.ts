/**
 * The embedded mode (DESIGN §6): plan a loaded workflow, pick or resume its run directory,
 * and run it in this process — the engine and one local agent (id `local`, serving every
 * site of the plan) over the in-process transport, the journal and the stores in the run
 * directory. `aloft run` and `aloft replay` both end here.
 *
 * Exit codes: 0 succeeded (or already complete), 1 failed, 130 interrupted.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { createAgent } from '../../agents/agent/index.js';
import { AloftError, type Problem } from '../../lib/errors/index.js';
import { createLogger, type Logger } from '../../lib/logging/index.js';
import { createInProcessTransport } from '../../lib/transport/index.js';
import type { Plan, PlanOptions } from '../../proto/plan.js';
import { createEngine } from '../../services/engine/index.js';
import { openJournal } from '../../services/journal/index.js';
import type { LoadedWorkflow } from '../../services/model/types.js';
import { plan as makePlan, planJsonChunks } from '../../services/planner/index.js';
import {
  digestOf,
  dirUrl,
  initRunDir,
  lockRunDir,
  OutputReplicaCatalog,
  RUN_INFO_FORMAT,
  runPaths,
  storeRootUrl,
  type RunInfo,
} from '../../services/run/index.js';
import { startProgress, summaryText } from './progress.js';
import { existingOutputs } from '../plan-flags.js';
import { resolveRun, runsRoot, type ReuseInputs } from './resolve-run.js';

export interface RunEmbeddedOptions {
  loaded: LoadedWorkflow;
  /** Planning options; storeRoot and outputUrl are set here from the run and output dirs,
   *  and `existing` from earlier runs and the output dir when `reuse` is on. */
  planOptions: PlanOptions;
  /** Explicit run directory; omitted = `./runs/<workflow>-NNN` (resuming the newest if it fits). */
  runDir?: string;
  outputDir: string;
  /** Attempts at once (default: os.availableParallelism()). */
  slots?: number;
  signal: AbortSignal;
  stdout: Writable;
  stderr: Writable;
  /** The workflow file (recorded in run.json). */
  workflowPath: string;
  /** Base for relative paths and `./runs` (default process.cwd()). */
  cwd?: string;
  /** Environment: ALOFT_LOG_LEVEL, ALOFT_RETRY_DELAY_MS (default process.env). */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

interface Planned {
  plan: Plan;
  digest: string;
}

const AGENT_ID = 'local';

function envInt(env: NodeJS.ProcessEnv, name: string, problems: Problem[]): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) {
    problems.push({
      where: `environment ${name}`,
      message: `'${raw}' is not a whole number of milliseconds`,
      hint: `unset ${name} or set it to e.g. 1000`,
    });
    return undefined;
  }
  return v;
}

/** Category throttles from workflow profiles `dagman: { <category>.maxjobs: N }`. */
function categoryLimits(loaded: LoadedWorkflow): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(loaded.workflow.profiles['dagman'] ?? {})) {
    const m = /^(.+)\.maxjobs$/i.exec(k);
    const n = Number(v);
    if (m && Number.isInteger(n) && n > 0) out[m[1]!] = n;
  }
  return out;
}

/** Every site the plan runs or stores anything at: the embedded agent serves them all. */
function sitesOf(plan: Plan): string[] {
  const sites = new Set<string>();
  for (const j of plan.jobs) sites.add(j.site);
  for (const s of Object.keys(plan.stores)) sites.add(s);
  sites.add(plan.options.outputSite);
  return [...sites].sort();
}

export async function runEmbedded(o: RunEmbeddedOptions): Promise<number> {
  const t0 = Date.now();
  const cwd = o.cwd ?? process.cwd();
  const env = o.env ?? process.env;
  const problems: Problem[] = [];
  const retryDelayMs = envInt(env, 'ALOFT_RETRY_DELAY_MS', problems);
  if (o.slots !== undefined && (!Number.isInteger(o.slots) || o.slots < 1)) {
    problems.push({ where: '--slots', message: `'${o.slots}' is not a positive integer` });
  }
  if (problems.length > 0) throw AloftError.invalid(problems);
  const logger = o.logger ?? createLogger({ level: env['ALOFT_LOG_LEVEL'] ?? 'warn' });
  const outputDir = path.resolve(cwd, o.outputDir);
  const name = o.loaded.workflow.name;
  for (const w of o.loaded.warnings) o.stderr.write(`warning: ${w}\n`);

  const planFor = (dir: string, reuse: ReuseInputs | undefined): Planned => {
    const options: PlanOptions = {
      ...o.planOptions,
      storeRoot: storeRootUrl(dir),
      outputUrl: dirUrl(outputDir),
    };
    delete options.available;
    delete options.existing;
    if (reuse?.available !== undefined) options.available = reuse.available;
    if (reuse?.existing !== undefined) options.existing = reuse.existing;
    const plan = makePlan(o.loaded, options);
    return { plan, digest: digestOf(planJsonChunks(plan)) };
  };
  const reuse = o.planOptions.reuse && !o.planOptions.force;
  const resolved = resolveRun({
    cwd,
    workflowName: name,
    ...(o.runDir !== undefined ? { runDir: o.runDir } : {}),
    reuse,
    ...(reuse
      ? {
          existing: await existingOutputs(
            o.loaded,
            { ...o.planOptions, outputUrl: dirUrl(outputDir) },
            { cwd, runsRoot: runsRoot(cwd), signal: o.signal },
          ),
        }
      : {}),
    planFor,
  });
  if (resolved.kind === 'complete') {
    o.stdout.write(`already complete: workflow ${name} succeeded in run dir ${resolved.dir}\n`);
    return 0;
  }
  const runDir = resolved.dir;
  const { plan, digest } = resolved.planned;
  mkdirSync(runDir, { recursive: true });
  const lock = await lockRunDir(runDir);
  try {
    const paths = runPaths(runDir);
    if (resolved.kind === 'resume') {
      o.stdout.write(`resuming ${runDir}\n`);
    } else {
      const info: RunInfo = {
        format: RUN_INFO_FORMAT,
        runId: path.basename(runDir),
        workflow: { path: path.resolve(cwd, o.workflowPath), name },
        created: new Date().toISOString(),
        outputDir,
        options: plan.options,
        planDigest: digest,
      };
      await initRunDir(runDir, planJsonChunks(plan), info, { signal: o.signal });
    }
    mkdirSync(outputDir, { recursive: true });
    mkdirSync(paths.agent, { recursive: true });
    const runId = path.basename(runDir).replace(/[^A-Za-z0-9_-]/g, '_');
    const journal = await openJournal(runDir, { signal: o.signal, logger });
    const transport = createInProcessTransport({ logger });
    const sites = sitesOf(plan);
    const agent = createAgent({
      id: AGENT_ID,
      site: sites.includes('local') ? 'local' : (sites[0] ?? 'local'),
      sites,
      transport,
      workDir: paths.agent,
      slots: o.slots ?? os.availableParallelism(),
      logger,
    });
    const limits = categoryLimits(o.loaded);
    const engine = createEngine({
      plan,
      journal,
      transport,
      runId,
      planDigest: digest,
      outputReplicas: OutputReplicaCatalog.open(paths.outputReplicas),
      logger,
      ...(Object.keys(limits).length > 0 ? { categoryLimits: limits } : {}),
      ...(retryDelayMs !== undefined ? { retryDelayMs } : {}),
    });
    const stopProgress = startProgress(o.stderr, () => engine.counts());
    // The engine stops on Ctrl-C, or when the agent cannot start.
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    o.signal.addEventListener('abort', onAbort, { once: true });
    if (o.signal.aborted) stop.abort();
    let state;
    try {
      // The engine subscribes on this call, before the agent advertises itself.
      const ended = engine.run(stop.signal);
      try {
        await agent.start();
      } catch (e) {
        stop.abort();
        await ended.catch(() => undefined);
        throw e;
      }
      state = await ended;
    } finally {
      o.signal.removeEventListener('abort', onAbort);
      stopProgress();
      await agent.stop({ graceMs: 0 });
      await journal.close();
      await transport.close();
    }
    o.stdout.write(
      summaryText({
        workflow: name,
        state,
        counts: engine.counts(),
        retries: engine.retries(),
        wallMs: Date.now() - t0,
        outputDir,
        runDir,
        skipped: plan.skipped.length,
      }),
    );
    return state === 'succeeded' ? 0 : state === 'failed' ? 1 : 130;
  } finally {
    await lock.release();
  }
}
