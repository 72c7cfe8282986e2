/**
 * `aloft submit WORKFLOW [--output-dir DIR] [--wait] [catalog/planning flags]`: hand a
 * workflow to the scheduler and print its id. The scheduler runs on this host (the same
 * file system): the workflow, catalogs and output directory are sent as absolute paths
 * resolved here, and the scheduler reads and plans them. `--wait` follows the workflow
 * (Watch) and exits like `aloft run`: 0 succeeded, 1 failed or removed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AloftError, type Problem } from '../../lib/errors/index.js';
import type { CatalogSource, WorkflowStatus } from '../../proto/codec/index.js';
import { bool, num, parseFlags, positionals, str, throwIfProblems } from '../args.js';
import { EXIT_FAILED, EXIT_OK, type Command } from '../command.js';
import {
  CONTROL_FLAGS,
  CONTROL_FLAGS_USAGE,
  renderWorkflowStatus,
  withControlClient,
} from '../control-client.js';
import { PLAN_FLAGS, PLAN_FLAGS_USAGE, catalogPaths, planOptionsFromFlags } from '../plan-flags.js';

export const submitCommand: Command = {
  name: 'submit',
  summary: 'submit a workflow to the scheduler; print its id (--wait: follow it)',
  usage: `usage: aloft submit WORKFLOW [--output-dir DIR] [--wait] [flags]

Sends WORKFLOW (a Pegasus 5 YAML workflow or a WfCommons trace) to the scheduler, which
plans it and places its jobs on its agents. Prints the workflow id on stdout. The
scheduler must run on this host: it reads WORKFLOW, the catalogs and writes DIR itself.

  --output-dir DIR   where the outputs go (default ./outputs)
  --wait             follow the workflow until it ends (progress on stderr)

A WfCommons trace is replayed with synthetic tasks, as \`aloft replay\` does, on the
agents of the --sites given (default local):
  --time-scale X     multiply every task's recorded runtime by X (default 0.001)
  --size-scale Y     multiply every file's recorded size by Y (default 0.0001)

${PLAN_FLAGS_USAGE}
${CONTROL_FLAGS_USAGE}
Exit status: 0 submitted (with --wait: succeeded); 1 with --wait when the workflow
failed or was removed; 2 invalid input, unreachable scheduler or bad token.
`,
  async run(argv, ctx) {
    const parsed = parseFlags('submit', argv, {
      ...PLAN_FLAGS,
      ...CONTROL_FLAGS,
      'output-dir': { type: 'string' },
      wait: { type: 'boolean' },
      'time-scale': { type: 'string' },
      'size-scale': { type: 'string' },
    });
    const [file] = positionals('submit', parsed, ['WORKFLOW']);
    const problems: Problem[] = [];
    const plan = planOptionsFromFlags('submit', parsed, problems);
    const timeScale = num('submit', parsed, 'time-scale', { min: 0, max: 1e6 }, problems);
    const sizeScale = num('submit', parsed, 'size-scale', { min: 0, max: 1e3 }, problems);
    throwIfProblems(problems);
    const abs = path.resolve(ctx.cwd, file!);
    if (!existsSync(abs)) {
      throw new AloftError('NOT_FOUND', `no such workflow file ${file}`, { retryable: false });
    }
    const catalogs: CatalogSource[] = [];
    const paths = catalogPaths(parsed);
    for (const kind of ['sites', 'replicas', 'transformations'] as const) {
      const p = paths[kind];
      if (p !== undefined) catalogs.push({ kind, path: path.resolve(ctx.cwd, p) });
    }
    const outputDir = path.resolve(ctx.cwd, str(parsed, 'output-dir') ?? 'outputs');
    return withControlClient('submit', parsed, ctx, async (client) => {
      const { workflowId } = await client.submit(
        {
          workflow: { path: abs },
          catalogs,
          outputDir,
          options: {
            ...(plan.sites.length > 0 ? { sites: plan.sites } : {}),
            outputSite: plan.outputSite,
            cleanup: plan.cleanup,
            cluster: plan.cluster,
            reuse: plan.reuse,
            force: plan.force,
          },
          ...(timeScale !== undefined || sizeScale !== undefined
            ? {
                replay: {
                  ...(timeScale !== undefined ? { timeScale } : {}),
                  ...(sizeScale !== undefined ? { sizeScale } : {}),
                },
              }
            : {}),
        },
        ctx.signal,
      );
      ctx.stdout.write(`${workflowId}\n`);
      if (!bool(parsed, 'wait')) return EXIT_OK;
      let shown = '';
      const last: WorkflowStatus | undefined = await client.watch(
        workflowId,
        (s) => {
          const text = renderWorkflowStatus(s);
          if (text !== shown) ctx.stderr.write(text);
          shown = text;
        },
        ctx.signal,
      );
      if (ctx.signal.aborted) {
        throw new AloftError('CANCELLED', 'stopped following; the workflow goes on', {
          retryable: false,
        });
      }
      return last?.state === 'succeeded' ? EXIT_OK : EXIT_FAILED;
    });
  },
};
