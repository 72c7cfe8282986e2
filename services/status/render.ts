/**
 * Text rendering of a StatusView for `aloft status`: the run line, a progress bar, a
 * per-kind table of job states and the progress of running transfer jobs. Pure string
 * building.
 */
import type { TransferProgress } from '../../proto/agent-protocol.js';
import { formatBytes } from '../model/index.js';
import type { StateCounts } from './status-fold.js';
import { JOB_STATES } from './status-fold.js';
import type { StatusView } from './status-view.js';
import { formatTable } from './text-table.js';

/** `[#####.....] 52% (13/25)`; the bar fills by done/total, rounded down. */
export function progressBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.floor((done * width) / total) : 0;
  const pct = total > 0 ? Math.floor((done * 100) / total) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% (${done}/${total})`;
}

export function renderStatus(v: StatusView): string {
  const out: string[] = [];
  out.push(`workflow ${v.workflow || '(unnamed)'}  run dir ${v.runDir}`);
  const resumes = v.starts > 1 ? `, resumed ${v.starts - 1}x` : '';
  out.push(`state    ${v.state}${v.detail ? ` (${v.detail})` : ''}${resumes}`);
  out.push(progressBar(v.counts.done, v.total));
  out.push('');
  const rows: string[][] = Object.entries(v.byKind).map(([kind, row]) => [
    kind,
    ...cells(row),
    String(row.total),
  ]);
  rows.push(['total', ...cells(v.counts), String(v.total)]);
  out.push(
    formatTable(
      [
        { title: 'kind' },
        ...JOB_STATES.map((s) => ({ title: s, right: true })),
        { title: 'total', right: true },
      ],
      rows,
    ),
  );
  if (v.transfers && v.transfers.length > 0) out.push('', ...renderTransfers(v.transfers));
  if (v.counts.failed > 0) {
    out.push('');
    out.push(`${v.counts.failed} job(s) failed: run 'aloft analyze ${v.runDir}' for why`);
  }
  if (v.state === 'interrupted') {
    out.push('');
    out.push("the run stopped before finishing: run the same 'aloft run' command again to resume");
  }
  return out.join('\n') + '\n';
}

/** Running transfer jobs listed by the text view. */
const TRANSFERS_SHOWN = 10;

function cells(c: StateCounts): string[] {
  return JOB_STATES.map((s) => String(c[s]));
}

/**
 * The warning for journal lines a projection skipped ('' when none): damage is tolerated so
 * a broken run can still be analyzed, but never hidden.
 */
export function skippedLinesWarning(badLines: number): string {
  return badLines > 0
    ? `warning: skipped ${badLines} line(s) of journal.jsonl that are not journal records (the journal is damaged)\n`
    : '';
}

/** Running transfers, the first few of them: a heading and a line each. */
export function renderTransfers(
  transfers: readonly (TransferProgress & { job: string })[],
): string[] {
  const out = ['transfers in progress'];
  for (const t of transfers.slice(0, TRANSFERS_SHOWN)) {
    out.push(
      `  ${t.job}  ${t.filesDone}/${t.filesTotal} files, ${formatBytes(t.bytesDone)} of ${formatBytes(t.bytesTotal)}`,
    );
  }
  if (transfers.length > TRANSFERS_SHOWN) {
    out.push(`  ... and ${transfers.length - TRANSFERS_SHOWN} more (--json lists all)`);
  }
  return out;
}
