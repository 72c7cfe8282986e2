/**
 * Text rendering of an AnalysisView for `aloft analyze`: a summary, then one block per
 * failed job (where it ran, how it ended, the command line, the output tails, the cause
 * and the next step), then the jobs that never ran because of a failure.
 */
import type { AnalysisView, FailedJob } from './analyze-fold.js';

/** Lines of each output tail shown in text (the JSON has the whole tail). */
export const TAIL_LINES = 20;
/** Earlier failed attempts listed per job in text (the JSON has them all). */
export const HISTORY_LINES = 5;

export function renderAnalysis(v: AnalysisView): string {
  const out: string[] = [];
  const s = v.summary;
  out.push(`workflow ${v.workflow || '(unnamed)'}  run dir ${v.runDir}`);
  out.push(`state    ${v.state}${v.detail ? ` (${v.detail})` : ''}`);
  const extra = [
    s.running > 0 ? `${s.running} running` : '',
    s.retrying > 0 ? `${s.retrying} retrying` : '',
  ].filter(Boolean);
  out.push(
    `summary  ${s.total} jobs: ${s.succeeded} succeeded, ${s.failed} failed, ` +
      `${s.unsubmitted} unsubmitted${extra.length ? `, ${extra.join(', ')}` : ''}`,
  );
  if (v.retriedThenSucceeded.count > 0) {
    out.push(
      `retried  ${v.retriedThenSucceeded.count} job(s) failed at first and then succeeded: ` +
        idList(v.retriedThenSucceeded.first, v.retriedThenSucceeded.count),
    );
  }
  const kinds = Object.entries(v.attemptFailures);
  if (kinds.length > 0) {
    out.push(`failed attempts by kind: ${kinds.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }
  out.push('');
  if (v.failedJobs.length === 0) {
    out.push(v.state === 'succeeded' ? 'no failed jobs: the run succeeded' : 'no failed jobs');
  } else {
    out.push(`${v.failedJobs.length} failed job(s)`);
    for (const f of v.failedJobs) {
      out.push('');
      out.push(...renderFailed(f));
    }
  }
  if (v.blocked.count > 0) {
    out.push('');
    out.push(
      `${v.blocked.count} job(s) never ran because an ancestor failed: ` +
        idList(v.blocked.first, v.blocked.count),
    );
  }
  if (v.failedJobs.length > 0 && v.state !== 'running') {
    out.push('');
    out.push("after fixing the cause, run the same 'aloft run' command again to resume");
  }
  return out.join('\n') + '\n';
}

function renderFailed(f: FailedJob): string[] {
  const out: string[] = [];
  out.push(`== ${f.job} (${f.kind}, ${f.transformation}) ==`);
  const status =
    f.state === 'failed'
      ? `failed after ${f.attempts} attempt(s)`
      : `last attempt failed (${f.failedAttempts} of ${f.attempts} failed); job is ${f.state}`;
  row(out, 'status', status);
  const where = [
    f.site ? `site ${f.site}` : '',
    f.agent ? `agent ${f.agent}` : '',
    f.host ? `host ${f.host}` : '',
  ].filter(Boolean);
  if (where.length > 0) row(out, 'ran on', where.join(', '));
  const ended = [
    f.attempt !== undefined ? `attempt ${f.attempt}` : '',
    f.signal ? `killed by ${f.signal}` : f.exitCode !== null ? `exit code ${f.exitCode}` : '',
    f.durationMs !== undefined ? `${(f.durationMs / 1000).toFixed(2)} s` : '',
    f.maxRssMb !== undefined ? `max RSS ${f.maxRssMb} MB` : '',
  ].filter(Boolean);
  if (ended.length > 0) row(out, 'last try', ended.join(', '));
  row(
    out,
    'failure',
    `${f.failure.kind}${f.failure.code ? ` (${f.failure.code})` : ''}: ${f.failure.message}`,
  );
  if (f.command) row(out, 'command', f.command);
  if (f.cwd) row(out, 'cwd', f.cwd);
  if (f.missingFiles.length > 0) row(out, 'missing', f.missingFiles.join(', '));
  row(out, 'cause', f.cause);
  row(out, 'next step', f.nextStep);
  out.push(...tail('stderr', f.stderrTail));
  out.push(...tail('stdout', f.stdoutTail));
  if (f.history.length > 1) {
    // The latest is shown above; list the ones before it, the most recent last.
    const earlier = f.history.slice(0, -1);
    const shown = earlier.slice(-HISTORY_LINES);
    out.push('  earlier failed attempts:');
    if (earlier.length > shown.length) {
      out.push(
        `    ... ${earlier.length - shown.length} earlier attempt(s) not shown (see --json)`,
      );
    }
    for (const h of shown) {
      const how = h.signal ? h.signal : h.exitCode !== null ? `exit ${h.exitCode}` : h.kind;
      out.push(`    attempt ${h.attempt}${h.agent ? ` on ${h.agent}` : ''}: ${how}: ${h.message}`);
    }
  }
  return out;
}

function row(out: string[], label: string, value: string): void {
  out.push(`  ${label.padEnd(10)} ${value}`);
}

function tail(name: string, text: string): string[] {
  const lines = text.replace(/\n+$/, '').split('\n');
  if (text.trim() === '') return [`  ${name}: (empty)`];
  const shown = lines.slice(-TAIL_LINES);
  const cut = lines.length > shown.length ? `, last ${shown.length} lines` : '';
  return [`  ${name}${cut}:`, ...shown.map((l) => `    | ${l}`)];
}

function idList(first: string[], count: number): string {
  return first.join(', ') + (count > first.length ? `, ... (${count - first.length} more)` : '');
}
