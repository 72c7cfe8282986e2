/**
 * `aloft plan WORKFLOW`: plan a workflow onto sites without running it, and show what the
 * planner decided (summary, --json counts, --explain reasons, --dot graph, --output plan).
 */
import { createWriteStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Problem } from '../../lib/errors/index.js';
import {
  explain,
  plan,
  planJsonChunks,
  PLANNED_JOB_KINDS,
  summarize,
  toDot,
  type Plan,
  type PlanOptions,
} from '../../services/planner/index.js';
import { bool, parseFlags, positionals, str, throwIfProblems } from '../args.js';
import { EXIT_OK, type Command, type CommandContext } from '../command.js';
import { runsRoot } from '../embedded/index.js';
import { loadWorkflowForCli } from '../load-workflow.js';
import { registerStores } from '../stores.js';
import {
  catalogPaths,
  defaultStoreRoot,
  existingOutputs,
  PLAN_FLAGS,
  PLAN_FLAGS_USAGE,
  planOptionsFromFlags,
} from '../plan-flags.js';

const USAGE = `usage: aloft plan WORKFLOW [flags]

Plan WORKFLOW (Pegasus 5 YAML or JSON, or a WfCommons trace) onto sites: site selection,
data staging, cleanup, clustering, retries and priorities, as Pegasus' planner does.
Nothing runs. Prints a short summary.

  --json          print one JSON object: jobs, planned (by kind), skipped, sites
  --explain       print why each decision was taken (site, skip, stage, cluster, cleanup)
  --dot FILE      write the plan as a Graphviz graph
  --output FILE   write the whole plan as JSON

${PLAN_FLAGS_USAGE}
Site stores not described by a site catalog are under ./aloft-stores/.
Exit status: 0 planned, 2 invalid input (every problem is listed).
`;

/** Write a file whole or not at all: to a temporary name, then rename. */
async function writeChunks(file: string, chunks: Iterable<string>, signal: AbortSignal) {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await pipeline(Readable.from(chunks), createWriteStream(tmp), { signal });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function human(p: Plan): string {
  const s = summarize(p);
  const total = p.jobs.length;
  const kinds = PLANNED_JOB_KINDS.filter((k) => s.planned[k] > 0)
    .map((k) => `${s.planned[k]} ${k}`)
    .join(', ');
  const sites = Object.entries(s.sites)
    .map(([site, n]) => `${site} (${n})`)
    .join(', ');
  return [
    `planned ${p.workflow.name}: ${s.jobs} jobs -> ${total} planned jobs`,
    `  by kind: ${kinds || 'none'}`,
    `  sites:   ${sites || 'none'}`,
    `  skipped: ${s.skipped}${s.skipped > 0 ? ' (outputs already exist; --explain says why)' : ''}`,
    `  outputs: ${p.outputStore}`,
  ].join('\n');
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'plan a workflow onto sites (staging, cleanup, clustering) without running it',
  usage: USAGE,
  async run(argv: string[], ctx: CommandContext): Promise<number> {
    const parsed = parseFlags('plan', argv, {
      ...PLAN_FLAGS,
      json: { type: 'boolean' },
      explain: { type: 'boolean' },
      dot: { type: 'string' },
      output: { type: 'string' },
    });
    const [workflowPath] = positionals('plan', parsed, ['WORKFLOW']);
    const problems: Problem[] = [];
    const storeRoot = defaultStoreRoot(ctx.cwd);
    const options: PlanOptions = planOptionsFromFlags('plan', parsed, problems, storeRoot);
    throwIfProblems(problems);
    // --reuse checks earlier outputs, which may be in s3:// stores.
    registerStores({ env: ctx.env });

    const loaded = await loadWorkflowForCli(
      workflowPath!,
      { ...catalogPaths(parsed), storeRoot },
      ctx,
    );
    for (const w of loaded.warnings) ctx.stderr.write(`warning: ${w}\n`);
    if (options.reuse && !options.force) {
      options.existing = await existingOutputs(loaded, options, {
        cwd: ctx.cwd,
        runsRoot: runsRoot(ctx.cwd),
        signal: ctx.signal,
      });
    }
    const p = plan(loaded, options);

    const output = str(parsed, 'output');
    if (output !== undefined) {
      await writeChunks(path.resolve(ctx.cwd, output), planJsonChunks(p), ctx.signal);
    }
    const dot = str(parsed, 'dot');
    if (dot !== undefined) {
      await writeFile(path.resolve(ctx.cwd, dot), toDot(p), { signal: ctx.signal });
    }
    if (bool(parsed, 'json')) {
      const s = summarize(p);
      const body: Record<string, unknown> = {
        workflow: p.workflow.name,
        jobs: s.jobs,
        planned: s.planned,
        total: p.jobs.length,
        skipped: s.skipped,
        sites: s.sites,
        outputStore: p.outputStore,
      };
      if (bool(parsed, 'explain')) body['reasons'] = p.reasons;
      ctx.stdout.write(JSON.stringify(body) + '\n');
    } else {
      ctx.stdout.write(human(p) + '\n');
      if (bool(parsed, 'explain')) ctx.stdout.write('\n' + explain(p));
    }
    return EXIT_OK;
  },
};
