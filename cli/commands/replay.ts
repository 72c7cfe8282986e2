/**
 * `aloft replay TRACE` — run a WfCommons trace with synthetic tasks (DESIGN §4): each task
 * reads its inputs, waits its recorded runtime × --time-scale and writes its outputs at
 * their recorded sizes × --size-scale. Real workflow shapes for testing infrastructure and
 * for benchmarks. Runs embedded, like `aloft run`, and resumes the same way.
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from '../command.js';
import { parseFlags, positionals, num, str, throwIfProblems } from '../args.js';
import type { Problem } from '../../lib/errors/index.js';
import { importWfFormat } from '../../services/formats/index.js';
import { defaultPlanOptions } from '../../services/planner/index.js';
import {
  generateInputs,
  prepareReplayWorkflow,
  rootInputs,
  syntheticCatalogs,
  REPLAY_SITE,
} from '../../services/replay/index.js';
import { runEmbedded } from '../embedded/index.js';
import { createLogger } from '../../lib/logging/index.js';
import { registerStores } from '../stores.js';
import { existsSync } from 'node:fs';
import { AloftError } from '../../lib/errors/index.js';

const USAGE = `usage: aloft replay TRACE [--time-scale X] [--size-scale Y] [--slots N] [--run-dir DIR]

Run a WfCommons WfFormat trace (JSON or .json.gz, schema 1.3-1.5) with synthetic tasks.

  --time-scale X   multiply every task's recorded runtime by X (default 0.001)
  --size-scale Y   multiply every file's recorded size by Y (default 0.0001)
  --slots N        concurrent tasks (default: number of cores)
  --run-dir DIR    run directory (default ./runs/replay-<trace>); an unfinished run resumes
  --output-dir DIR where final products go (default RUNDIR/outputs)
`;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'run a WfCommons trace with synthetic tasks (infrastructure tests, benchmarks)',
  usage: USAGE,
  async run(argv, ctx) {
    const parsed = parseFlags('replay', argv, {
      'time-scale': { type: 'string' },
      'size-scale': { type: 'string' },
      slots: { type: 'string' },
      'run-dir': { type: 'string' },
      'output-dir': { type: 'string' },
    });
    const [trace] = positionals('replay', parsed, ['TRACE']);
    const problems: Problem[] = [];
    const timeScale = num('replay', parsed, 'time-scale', { min: 0, max: 1e6 }, problems) ?? 0.001;
    const sizeScale = num('replay', parsed, 'size-scale', { min: 0, max: 1e3 }, problems) ?? 0.0001;
    const slots =
      num('replay', parsed, 'slots', { min: 1, max: 4096, integer: true }, problems) ??
      os.availableParallelism();
    throwIfProblems(problems);
    const logger = createLogger({ level: ctx.env['ALOFT_LOG_LEVEL'] ?? 'warn' });
    registerStores({ env: ctx.env, logger });
    const tracePath = path.resolve(ctx.cwd, trace!);
    if (!existsSync(tracePath)) {
      throw AloftError.invalid({
        where: trace!,
        message: 'no such trace file',
        hint: 'pass the path of a WfCommons WfFormat JSON file (.json or .json.gz)',
      });
    }

    const imported = await importWfFormat(tracePath, { signal: ctx.signal });
    const base = path
      .basename(tracePath)
      .replace(/\.json(\.gz)?$/, '')
      .replace(/[^A-Za-z0-9_.-]/g, '_');
    const runDir = path.resolve(
      ctx.cwd,
      str(parsed, 'run-dir') ?? path.join('runs', `replay-${base}`),
    );
    const outputDir = path.resolve(
      ctx.cwd,
      str(parsed, 'output-dir') ?? path.join(runDir, 'outputs'),
    );
    const inputsDir = path.join(runDir, 'inputs');
    const inputsUrl = pathToFileURL(inputsDir).href + '/';

    const workflow = prepareReplayWorkflow(imported.workflow, { timeScale, sizeScale });
    const generated = await generateInputs(rootInputs(workflow), inputsDir, sizeScale, ctx.signal);
    ctx.stderr.write(
      `replay ${imported.workflow.name}: ${workflow.jobs.length} tasks, ${generated.files} input files (${generated.bytes} bytes)\n`,
    );
    const catalogs = syntheticCatalogs(workflow, inputsUrl);
    return runEmbedded({
      loaded: { ...imported, workflow, ...catalogs },
      planOptions: defaultPlanOptions({
        sites: [REPLAY_SITE],
        outputSite: REPLAY_SITE,
        storeRoot: pathToFileURL(path.join(runDir, 'stores')).href + '/',
        outputUrl: pathToFileURL(outputDir).href + '/',
      }),
      runDir,
      outputDir,
      slots,
      signal: ctx.signal,
      stdout: ctx.stdout,
      stderr: ctx.stderr,
      workflowPath: tracePath,
      logger,
    });
  },
};
