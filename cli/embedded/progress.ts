/** What `aloft run` tells a person: a progress line on a terminal, and a summary at the end. */
import type { Writable } from 'node:stream';
import type { Counts } from '../../services/engine/index.js';
import type { RunEndState } from '../../services/journal/index.js';

export function progressLine(c: Counts, elapsedMs: number): string {
  const total = c.unready + c.ready + c.running + c.done + c.failed;
  return (
    `[${Math.round(elapsedMs / 1000)}s] ${c.done}/${total} done, ${c.running} running, ` +
    `${c.ready} ready, ${c.unready} waiting, ${c.failed} failed`
  );
}

/** Every ~2 s while stderr is a terminal; nothing otherwise (logs and CI stay clean). */
export function startProgress(
  stderr: Writable,
  counts: () => Counts,
  intervalMs = 2000,
): () => void {
  if (!(stderr as Writable & { isTTY?: boolean }).isTTY) return () => undefined;
  const t0 = Date.now();
  const timer = setInterval(() => {
    stderr.write(`\r\x1b[K${progressLine(counts(), Date.now() - t0)}`);
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    stderr.write('\r\x1b[K');
  };
}

export interface Summary {
  workflow: string;
  state: RunEndState;
  counts: Counts;
  retries: number;
  wallMs: number;
  outputDir: string;
  runDir: string;
  /** Abstract jobs the planner skipped because their outputs exist (--reuse). */
  skipped?: number;
}

export function summaryText(s: Summary): string {
  const head =
    `workflow ${s.workflow} ${s.state}: ${s.counts.done} jobs done, ${s.counts.failed} failed, ` +
    `${s.retries} retries, wall ${(s.wallMs / 1000).toFixed(1)}s; outputs in ${s.outputDir}; ` +
    `run dir ${s.runDir}`;
  const reused = s.skipped
    ? `\n${s.skipped} jobs skipped: their outputs exist already (--reuse)`
    : '';
  if (s.state === 'failed') {
    return `${head}${reused}\nrun 'aloft analyze ${s.runDir}' for details; run the same command again to resume\n`;
  }
  if (s.state === 'interrupted') return `${head}${reused}\nrun the same command again to resume\n`;
  return `${head}${reused}\n`;
}
