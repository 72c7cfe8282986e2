/**
 * `aloft status RUNDIR [--json] [-w|--watch]`: per-state job counts of a run, by kind, a
 * progress bar and the run state. `--watch` re-renders every second until the run ends,
 * folding only the journal lines appended since the previous tick.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  StatusFold,
  openRunDir,
  probeLiveness,
  renderStatus,
  skippedLinesWarning,
  statusView,
  type OpenRun,
  type StatusView,
} from '../../services/status/index.js';
import { bool, parseFlags, positionals, str, type Parsed } from '../args.js';
import { EXIT_FAILED, EXIT_OK, type Command, type CommandContext } from '../command.js';
import {
  CONTROL_FLAGS,
  CONTROL_FLAGS_USAGE,
  renderWorkflowStatus,
  schedulerAddress,
  withControlClient,
} from '../control-client.js';

const WATCH_INTERVAL_MS = 1000;

export const statusCommand: Command = {
  name: 'status',
  summary: 'show the state of a run: job counts by state and kind, progress',
  usage: `usage: aloft status RUNDIR [--json] [-w|--watch]
       aloft status ID --scheduler HOST:PORT [--json] [-w|--watch]

Per-state counts of the run's jobs (unready, ready, running, retrying, done, failed),
overall and by kind, a progress bar, and the run state: running | succeeded | failed |
interrupted (no run_finished in the journal and the engine process is gone).

  --json       print the status as one JSON object (with --watch: one per change)
  -w, --watch  re-render every second until the run ends (Ctrl-C stops watching)

With --scheduler (or ALOFT_SCHEDULER, when the argument is not a directory) the argument
is a workflow id and the scheduler is asked: --json prints {workflowId, name, state,
total, counts, updatedAt}, state one of running | succeeded | failed | halted | removed.

${CONTROL_FLAGS_USAGE}
Exit status: 1 if the run failed, else 0; 2 if RUNDIR is not a run directory (or the
workflow is unknown, the scheduler unreachable).
`,
  async run(argv, ctx) {
    const parsed = parseFlags('status', argv, {
      json: { type: 'boolean' },
      watch: { type: 'boolean', short: 'w' },
      ...CONTROL_FLAGS,
    });
    const [dir] = positionals('status', parsed, ['RUNDIR']);
    if (useScheduler(parsed, dir!, ctx)) return remoteStatus(parsed, dir!, ctx);
    const run = await openRunDir(dir!, { command: 'status', cwd: ctx.cwd, signal: ctx.signal });
    const json = bool(parsed, 'json');
    let view: StatusView;
    if (bool(parsed, 'watch')) {
      view = await watch(run, json, ctx);
    } else {
      view = await snapshot(run, { fold: new StatusFold(run.plan.jobs) }, true, ctx);
      ctx.stderr.write(skippedLinesWarning(run.journal.badLines));
      ctx.stdout.write(json ? JSON.stringify(view) + '\n' : renderStatus(view));
    }
    return view.state === 'failed' ? EXIT_FAILED : EXIT_OK;
  },
};

/**
 * Probe liveness first, then read: a run that ends in between shows its run_finished.
 * `holder.fold` is replaced by a fresh fold if the journal was replaced under us.
 */
async function snapshot(
  run: OpenRun,
  holder: { fold: StatusFold },
  final: boolean,
  ctx: CommandContext,
): Promise<StatusView> {
  const liveness = await probeLiveness(run.dir, { signal: ctx.signal });
  await run.journal.readLite((e) => holder.fold.apply(e), {
    signal: ctx.signal,
    final,
    onReset: () => (holder.fold = new StatusFold(run.plan.jobs)),
  });
  return statusView(holder.fold, {
    runDir: run.given,
    liveness,
    workflow: run.plan.workflow.name,
  });
}

/**
 * Re-render every second while the run is live. On a terminal the screen is redrawn in
 * place; otherwise (a pipe, a log) a new block is printed only when something changed,
 * and with --json one JSON object per line per change.
 */
async function watch(run: OpenRun, json: boolean, ctx: CommandContext): Promise<StatusView> {
  const holder = { fold: new StatusFold(run.plan.jobs) };
  const redraw = !json && (ctx.stdout as { isTTY?: boolean }).isTTY === true;
  let last = '';
  let view = await snapshot(run, holder, false, ctx);
  for (;;) {
    const text = json ? JSON.stringify(view) + '\n' : renderStatus(view);
    if (text !== last) {
      if (redraw) ctx.stdout.write('\x1b[H\x1b[2J' + text);
      else ctx.stdout.write(last === '' || json ? text : '\n' + text);
      last = text;
    }
    if (view.state !== 'running') return view;
    try {
      await sleep(WATCH_INTERVAL_MS, undefined, { signal: ctx.signal });
      view = await snapshot(run, holder, false, ctx);
    } catch (e) {
      // Ctrl-C ends watching (exit 0); the run itself is not ours to stop.
      if (ctx.signal.aborted) return view;
      throw e;
    }
  }
}

/**
 * Whether the argument is a workflow id on a scheduler: --scheduler given, or
 * ALOFT_SCHEDULER set and the argument is not a directory (a RUNDIR wins over the env).
 */
export function useScheduler(parsed: Parsed, arg: string, ctx: CommandContext): boolean {
  if (str(parsed, 'scheduler') !== undefined) return true;
  return schedulerAddress(parsed, ctx.env) !== undefined && !existsSync(path.resolve(ctx.cwd, arg));
}

async function remoteStatus(parsed: Parsed, id: string, ctx: CommandContext): Promise<number> {
  const json = bool(parsed, 'json');
  const render = (s: Parameters<typeof renderWorkflowStatus>[0]): string =>
    json ? JSON.stringify(s) + '\n' : renderWorkflowStatus(s);
  const last = await withControlClient('status', parsed, ctx, async (c) => {
    if (!bool(parsed, 'watch')) return c.status(id, ctx.signal);
    return c.watch(id, (s) => ctx.stdout.write(render(s)), ctx.signal);
  });
  if (last && !bool(parsed, 'watch')) ctx.stdout.write(render(last));
  return last?.state === 'failed' ? EXIT_FAILED : EXIT_OK;
}
