/**
 * `aloft analyze RUNDIR [--json]`: pegasus-analyzer for aloft — every failed job with where
 * it ran, how it ended, its command line and output tails, and a plain-language cause and
 * next step. Exit 1 when the run has failed jobs, so scripts can test it.
 */
import { AnalyzeFold, renderAnalysis } from '../../services/analyzer/index.js';
import { openRunDir, probeLiveness, skippedLinesWarning } from '../../services/status/index.js';
import { bool, parseFlags, positionals } from '../args.js';
import { EXIT_FAILED, EXIT_OK, type Command } from '../command.js';

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'explain why a run failed: failed jobs, their output, cause and next step',
  usage: `usage: aloft analyze RUNDIR [--json]

A summary of the run (jobs succeeded, failed, unsubmitted), then for every failed job: its
kind and transformation, site/agent/host, attempts, exit code or signal, command line,
working directory, the tails of stderr and stdout, missing files, and a plain-language
cause and next step. Also the jobs that never ran because an ancestor failed, and the jobs
that succeeded after retries.

  --json   print the analysis as one JSON object

Exit status: 1 if the run has failed jobs (or failed), else 0; 2 if RUNDIR is not a run
directory.
`,
  async run(argv, ctx) {
    const parsed = parseFlags('analyze', argv, { json: { type: 'boolean' } });
    const [dir] = positionals('analyze', parsed, ['RUNDIR']);
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
