/**
 * `aloft stats RUNDIR [--json] [--csv]`: pegasus-statistics for aloft — wall time versus
 * cumulative job time, badput, jobs by type, per-transformation runtimes/memory/cpu,
 * per-site and per-agent breakdowns, bytes staged and output integrity.
 */
import {
  renderStats,
  renderTransformationsCsv,
  StatsFold,
} from '../../services/statistics/index.js';
import { openRunDir, probeLiveness, skippedLinesWarning } from '../../services/status/index.js';
import { AloftError } from '../../lib/errors/index.js';
import { bool, parseFlags, positionals } from '../args.js';
import { EXIT_OK, type Command } from '../command.js';

export const statsCommand: Command = {
  name: 'stats',
  summary: 'statistics of a run: wall time, job time, badput, per-transformation numbers',
  usage: `usage: aloft stats RUNDIR [--json | --csv]

Workflow wall time (and active time across resumes), cumulative job wall time, cumulative
badput (time of failed attempts), jobs by type (succeeded, failed, incomplete, retries),
per transformation over attempts (count, succeeded, failed, min/max/mean runtime, max RSS,
total cpu), per site and per agent (attempts, runtime), bytes staged and how many output
files carry a sha256.

  --json   print everything as one JSON object
  --csv    print the per-transformation table as CSV

Exit status: 0; 2 if RUNDIR is not a run directory or the flags conflict.
`,
  async run(argv, ctx) {
    const parsed = parseFlags('stats', argv, {
      json: { type: 'boolean' },
      csv: { type: 'boolean' },
    });
    const [dir] = positionals('stats', parsed, ['RUNDIR']);
    if (bool(parsed, 'json') && bool(parsed, 'csv')) {
      throw AloftError.invalid({
        where: 'aloft stats',
        message: '--json and --csv are mutually exclusive',
        hint: 'pass one of them (or neither, for text tables)',
      });
    }
    const run = await openRunDir(dir!, { command: 'stats', cwd: ctx.cwd, signal: ctx.signal });
    const fold = new StatsFold(run.plan);
    const liveness = await probeLiveness(run.dir, { signal: ctx.signal });
    await run.journal.read((e) => fold.apply(e), { signal: ctx.signal, final: true });
    ctx.stderr.write(skippedLinesWarning(run.journal.badLines));
    const view = fold.view({ runDir: run.given, liveness });
    if (bool(parsed, 'json')) ctx.stdout.write(JSON.stringify(view) + '\n');
    else if (bool(parsed, 'csv')) ctx.stdout.write(renderTransformationsCsv(view));
    else ctx.stdout.write(renderStats(view));
    return EXIT_OK;
  },
};
