/**
 * `aloft run WORKFLOW`: plan and run a workflow in this process (embedded mode), in a run
 * directory that a later `aloft run` of the same workflow resumes after a failure, a crash
 * or Ctrl-C. Takes exactly the catalog and planning flags of `aloft plan`.
 */
import os from 'node:os';
import type { Command } from '../command.js';
import { num, parseFlags, positionals, str, throwIfProblems } from '../args.js';
import type { Problem } from '../../lib/errors/index.js';
import { loadWorkflowForCli } from '../load-workflow.js';
import { PLAN_FLAGS, PLAN_FLAGS_USAGE, catalogPaths, planOptionsFromFlags } from '../plan-flags.js';
import { runEmbedded } from '../embedded/index.js';
import { createLogger } from '../../lib/logging/index.js';
import { registerStores } from '../stores.js';

const USAGE = `usage: aloft run WORKFLOW [flags]

Plan WORKFLOW (Pegasus 5 YAML) and run it here: every job on this machine, data in the run
directory, results in the output directory. If the newest run of this workflow did not
succeed and the workflow is unchanged, it is resumed: jobs that finished are not rerun.

  --output-dir DIR   where final outputs go (default ./outputs)
  --run-dir DIR      run directory (default ./runs/<workflow>-NNN; an unfinished run with
                     the same plan resumes, a finished one reports "already complete")
  --slots N          jobs running at once (default: ${os.availableParallelism()}, the cores here)
${PLAN_FLAGS_USAGE}
Exit status: 0 succeeded, 1 a job failed (see 'aloft analyze RUNDIR'; run again to resume),
2 invalid input, 130 interrupted (run again to resume).
Environment: ALOFT_LOG_LEVEL (default warn), ALOFT_RETRY_DELAY_MS (first retry delay,
default 1000, doubling up to 60 s).
`;

export const runCommand: Command = {
  name: 'run',
  summary: 'plan and run a workflow here; resumes an unfinished run',
  usage: USAGE,
  async run(argv, ctx) {
    const parsed = parseFlags('run', argv, {
      ...PLAN_FLAGS,
      'output-dir': { type: 'string' },
      'run-dir': { type: 'string' },
      slots: { type: 'string' },
    });
    const [workflowPath] = positionals('run', parsed, ['WORKFLOW']);
    const problems: Problem[] = [];
    const slots = num('run', parsed, 'slots', { min: 1, integer: true }, problems);
    const planOptions = planOptionsFromFlags('run', parsed, problems);
    throwIfProblems(problems);
    const logger = createLogger({ level: ctx.env['ALOFT_LOG_LEVEL'] ?? 'warn' });
    registerStores({ env: ctx.env, logger });
    const loaded = await loadWorkflowForCli(workflowPath!, catalogPaths(parsed), ctx);
    const runDir = str(parsed, 'run-dir');
    return runEmbedded({
      loaded,
      planOptions,
      ...(runDir !== undefined ? { runDir } : {}),
      outputDir: str(parsed, 'output-dir') ?? 'outputs',
      ...(slots !== undefined ? { slots } : {}),
      signal: ctx.signal,
      stdout: ctx.stdout,
      stderr: ctx.stderr,
      workflowPath: workflowPath!,
      cwd: ctx.cwd,
      env: ctx.env,
      logger,
    });
  },
};
