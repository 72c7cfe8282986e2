/**
 * `aloft validate WORKFLOW`: read a workflow and its catalogs and report every structural
 * problem at once (exit 2), or a one-line summary (exit 0).
 */
import { AloftError } from '../../lib/errors/index.js';
import { checkWorkflow } from '../../services/planner/index.js';
import { parseFlags, positionals } from '../args.js';
import { EXIT_OK, type Command, type CommandContext } from '../command.js';
import { loadWorkflowForCli } from '../load-workflow.js';
import {
  CATALOG_FLAGS,
  CATALOG_FLAGS_USAGE,
  catalogPaths,
  defaultStoreRoot,
} from '../plan-flags.js';

const USAGE = `usage: aloft validate WORKFLOW [flags]

Check WORKFLOW (Pegasus 5 YAML or JSON, or a WfCommons trace) and its catalogs: names,
duplicate ids, dependencies on unknown jobs, cycles, unknown transformations, inputs that
no job produces and no replica provides, files written by two jobs. Every problem is
listed at once.

${CATALOG_FLAGS_USAGE}
Exit status: 0 valid ("valid: N jobs, E edges, F files"), 2 problems found.
`;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check a workflow and its catalogs; list every problem at once',
  usage: USAGE,
  async run(argv: string[], ctx: CommandContext): Promise<number> {
    const parsed = parseFlags('validate', argv, CATALOG_FLAGS);
    const [workflowPath] = positionals('validate', parsed, ['WORKFLOW']);
    const loaded = await loadWorkflowForCli(
      workflowPath!,
      { ...catalogPaths(parsed), storeRoot: defaultStoreRoot(ctx.cwd) },
      ctx,
    );
    for (const w of loaded.warnings) ctx.stderr.write(`warning: ${w}\n`);
    const check = checkWorkflow(loaded);
    if (check.problems.length > 0) {
      throw AloftError.invalid(
        check.problems,
        `${loaded.sources.workflow} is not valid: ${check.problems.length} problem${check.problems.length > 1 ? 's' : ''}`,
      );
    }
    ctx.stdout.write(`valid: ${check.jobs} jobs, ${check.edges} edges, ${check.files} files\n`);
    return EXIT_OK;
  },
};
