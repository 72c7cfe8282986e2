/**
 * `aloft analyze RUNDIR [--json]`: pegasus-analyzer for aloft — every failed job with where
 * it ran, how it ended, its command line and output tails, and a plain-language cause and
 * next step. Exit 1 when the run has failed jobs, so scripts can test it.
 */
import { AnalyzeFold, renderAnalysis } from '../../services/analyzer/index.js';
import { openRunDir, probeLiveness, skippedLinesWarning } from '../../services/status/index.js';
import type { AnalyzeReply } from '../../proto/codec/index.js';
import type { AnalysisView } from '../../services/analyzer/index.js';
import { bool, parseFlags, positionals, type Parsed } from '../args.js';
import { EXIT_FAILED, EXIT_OK, type Command, type CommandContext } from '../command.js';
import { CONTROL_FLAGS, CONTROL_FLAGS_USAGE, withControlClient } from '../control-client.js';
import { useScheduler } from './status.js';

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'explain why a run failed: failed jobs, their output, cause and next step',
  usage: `usage: aloft analyze RUNDIR [--json]
       aloft analyze ID --scheduler HOST:PORT [--json]

A summary of the run (jobs succeeded, failed, unsubmitted), then for every failed job: its
kind and transformation, site/agent/host, attempts, exit code or signal, command line,
working directory, the tails of stderr and stdout, missing files, and a plain-language
cause and next step. Also the jobs that never ran because an ancestor failed, and the jobs
that succeeded after retries.

  --json   print the analysis as one JSON object

With --scheduler (or ALOFT_SCHEDULER, when the argument is not a directory) the argument
is a workflow id: the scheduler analyzes its run directory the same way, and adds the
ready jobs no agent can run, with the requirement no agent satisfies.

${CONTROL_FLAGS_USAGE}
Exit status: 1 if the run has failed jobs (or failed), else 0; 2 if RUNDIR is not a run
directory (or the workflow is unknown, the scheduler unreachable).
`,
  async run(argv, ctx) {
    const parsed = parseFlags('analyze', argv, { json: { type: 'boolean' }, ...CONTROL_FLAGS });
    const [dir] = positionals('analyze', parsed, ['RUNDIR']);
    if (useScheduler(parsed, dir!, ctx)) return remoteAnalyze(parsed, dir!, ctx);
    const run = await openRunDir(dir!, { command: 'analyze', cwd: ctx.cwd, signal: ctx.signal });
    const fold = new AnalyzeFold(run.plan);
    const liveness = await probeLiveness(run.dir, { signal: ctx.signal });
    await run.journal.read((e) => fold.apply(e), { signal: ctx.signal, final: true });
    ctx.stderr.write(skippedLinesWarning(run.journal.badLines));
    const view = fold.view({ runDir: run.given, liveness });
    ctx.stdout.write(bool(parsed, 'json') ? JSON.stringify(view) + '\n' : renderAnalysis(view));
    return view.failedJobs.length > 0 || view.state === 'failed' ? EXIT_FAILED : EXIT_OK;
  },
};

/** The scheduler's analysis as the RUNDIR analyzer's view (for the same rendering). */
function asView(r: AnalyzeReply): AnalysisView {
  return {
    workflow: r.name,
    runDir: r.workflowId,
    state: r.state === 'removed' ? 'interrupted' : r.state === 'halted' ? 'running' : r.state,
    ...(r.detail !== undefined ? { detail: r.detail } : {}),
    summary: r.summary,
    failedJobs: r.failedJobs as AnalysisView['failedJobs'],
    blocked: r.blocked,
    retriedThenSucceeded: r.retriedThenSucceeded,
    attemptFailures: r.attemptFailures,
  };
}

function renderIdle(r: AnalyzeReply): string {
  if (r.idleJobs.length === 0) return '';
  const lines = [`\n${r.idleJobs.length} ready job(s) no agent can run now:`];
  for (const j of r.idleJobs) {
    lines.push(`  ${j.job}: ${j.summary}`);
    for (const q of j.requirements) {
      lines.push(`    ${q.requirement}: ${q.matching} agent(s) match`);
    }
  }
  return lines.join('\n') + '\n';
}

async function remoteAnalyze(parsed: Parsed, id: string, ctx: CommandContext): Promise<number> {
  const reply = await withControlClient('analyze', parsed, ctx, (c) => c.analyze(id, ctx.signal));
  ctx.stdout.write(
    bool(parsed, 'json')
      ? JSON.stringify(reply) + '\n'
      : renderAnalysis(asView(reply)) + renderIdle(reply),
  );
  return reply.failedJobs.length > 0 || reply.state === 'failed' ? EXIT_FAILED : EXIT_OK;
}
