/**
 * Rendering of a StatsView: aligned text tables (like pegasus-statistics' summary and
 * breakdown files) and the per-transformation table as CSV (RFC 4180 quoting).
 */
import { formatTable } from '../status/index.js';
import type { KindRow, PlaceRow, StatsView } from './stats-fold.js';

export function renderStats(v: StatsView): string {
  const out: string[] = [];
  out.push(`workflow ${v.workflow || '(unnamed)'}  run dir ${v.runDir}  state ${v.state}`);
  out.push('');
  const badPct =
    v.cumulativeJobWallSec > 0
      ? ` (${((v.cumulativeBadputSec * 100) / v.cumulativeJobWallSec).toFixed(1)}% of job time)`
      : '';
  const periods =
    v.wall.periods > 1
      ? ` (active ${fmtSec(v.wall.activeSeconds)} over ${v.wall.periods} periods)`
      : '';
  const t = v.transfers;
  const i = v.integrity;
  const summary: [string, string][] = [
    ['workflow wall time', `${fmtSec(v.wall.seconds)}${periods}`],
    ['cumulative job wall time', fmtSec(v.cumulativeJobWallSec)],
    ['cumulative badput', `${fmtSec(v.cumulativeBadputSec)}${badPct}`],
    [
      'bytes staged',
      `${fmtBytes(t.bytes)} in ${t.count} transfer(s), ${t.verified} checksum-verified` +
        (t.failovers > 0 ? `, ${t.failovers} source failover(s)` : ''),
    ],
    ['integrity', `${i.withSha256} of ${i.outputFiles} output file(s) have a sha256`],
  ];
  const w = Math.max(...summary.map(([k]) => k.length));
  for (const [k, val] of summary) out.push(`${k.padEnd(w)}  ${val}`);

  out.push('');
  out.push('jobs by type');
  const kindRows = Object.entries(v.jobs.byKind).map(([k, r]) => kindCells(k, r!));
  kindRows.push(kindCells('total', v.jobs.total));
  out.push(
    formatTable(
      [
        { title: 'type' },
        { title: 'succeeded', right: true },
        { title: 'failed', right: true },
        { title: 'incomplete', right: true },
        { title: 'total', right: true },
        { title: 'retries', right: true },
        { title: 'attempts', right: true },
      ],
      kindRows,
    ),
  );

  out.push('');
  out.push('per transformation (over attempts)');
  out.push(
    formatTable(
      [
        { title: 'transformation' },
        { title: 'count', right: true },
        { title: 'succeeded', right: true },
        { title: 'failed', right: true },
        { title: 'min (s)', right: true },
        { title: 'max (s)', right: true },
        { title: 'mean (s)', right: true },
        { title: 'max rss (MB)', right: true },
        { title: 'cpu (s)', right: true },
      ],
      v.transformations.map((r) => [
        r.transformation,
        String(r.count),
        String(r.succeeded),
        String(r.failed),
        r.minRuntimeSec.toFixed(3),
        r.maxRuntimeSec.toFixed(3),
        r.meanRuntimeSec.toFixed(3),
        r.maxRssMb.toFixed(1),
        r.totalCpuSec.toFixed(3),
      ]),
    ),
  );
  out.push('');
  out.push('per site');
  out.push(placeTable('site', v.sites));
  out.push('');
  out.push('per agent');
  out.push(placeTable('agent', v.agents));
  return out.join('\n') + '\n';
}

/** The per-transformation table as CSV with a header line. */
export function renderTransformationsCsv(v: StatsView): string {
  const header = [
    'transformation',
    'count',
    'succeeded',
    'failed',
    'min_runtime_s',
    'max_runtime_s',
    'mean_runtime_s',
    'max_rss_mb',
    'total_cpu_s',
  ];
  const rows = v.transformations.map((r) =>
    [
      csvField(r.transformation),
      r.count,
      r.succeeded,
      r.failed,
      r.minRuntimeSec,
      r.maxRuntimeSec,
      r.meanRuntimeSec,
      r.maxRssMb,
      r.totalCpuSec,
    ].join(','),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}

export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function kindCells(name: string, r: KindRow): string[] {
  return [
    name,
    String(r.succeeded),
    String(r.failed),
    String(r.incomplete),
    String(r.total),
    String(r.retries),
    String(r.attempts),
  ];
}

function placeTable(title: string, rows: PlaceRow[]): string {
  return formatTable(
    [
      { title },
      { title: 'attempts', right: true },
      { title: 'succeeded', right: true },
      { title: 'failed', right: true },
      { title: 'runtime (s)', right: true },
    ],
    rows.map((p) => [
      p.name,
      String(p.attempts),
      String(p.succeeded),
      String(p.failed),
      p.runtimeSec.toFixed(3),
    ]),
  );
}

function fmtSec(s: number): string {
  if (s < 120) return `${s.toFixed(3)} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = Math.round(s % 60);
  return `${s.toFixed(0)} s (${h > 0 ? `${h}h ` : ''}${m}m ${rest}s)`;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]} (${n} bytes)`;
}
