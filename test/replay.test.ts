/**
 * `aloft replay`: WfCommons traces run to success with synthetic tasks whose outputs have
 * their recorded sizes × --size-scale, through the same embedded runtime as `aloft run`.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { aloft, SHARED } from './helpers/cli.js';
import { readJournalSync } from '../services/journal/index.js';

const WFC = path.join(SHARED, 'workflows', 'wfcommons');
const haveShared = existsSync(WFC);

interface Trace {
  workflow: {
    specification: {
      tasks: { id: string; inputFiles: string[]; outputFiles: string[] }[];
      files: { id: string; sizeInBytes: number }[];
    };
  };
}

describe.skipIf(!haveShared)('aloft replay', () => {
  it('replays the chain trace: every task once, final output at its scaled size', async () => {
    const trace = path.join(WFC, 'helloworld', 'helloworld-chain-5-chameleon.json');
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'aloft-replay-'));
    const sizeScale = 0.001;
    const r = await aloft(
      [
        'replay',
        trace,
        '--time-scale',
        '0.0005',
        '--size-scale',
        String(sizeScale),
        '--slots',
        '2',
      ],
      { cwd },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/succeeded/);

    const doc = JSON.parse(readFileSync(trace, 'utf8')) as Trace;
    const sizes = new Map(doc.workflow.specification.files.map((f) => [f.id, f.sizeInBytes]));
    const consumed = new Set(doc.workflow.specification.tasks.flatMap((t) => t.inputFiles));
    const finals = doc.workflow.specification.tasks
      .flatMap((t) => t.outputFiles)
      .filter((f) => !consumed.has(f));
    expect(finals.length).toBeGreaterThan(0);
    const runDir = path.join(cwd, 'runs', 'replay-helloworld-chain-5-chameleon');
    for (const f of finals) {
      const out = path.join(runDir, 'outputs', f);
      expect(statSync(out).size).toBe(Math.round(sizes.get(f)! * sizeScale));
    }
    // Each trace task ran exactly once and succeeded once.
    const events = readJournalSync(runDir);
    for (const t of doc.workflow.specification.tasks) {
      const id = t.id.replace(/[^A-Za-z0-9_-]/g, '_');
      expect(events.filter((e) => e.type === 'job_succeeded' && e.job === id)).toHaveLength(1);
      expect(
        events.filter((e) => e.type === 'attempt_started' && e.job === id && e.kind === 'compute'),
      ).toHaveLength(1);
    }
    // Running it again finds the run complete and runs nothing.
    const again = await aloft(['replay', trace, '--run-dir', runDir], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(readJournalSync(runDir).filter((e) => e.type === 'attempt_started')).toHaveLength(
      events.filter((e) => e.type === 'attempt_started').length,
    );
  });

  it('replays a real Pegasus trace (epigenomics, 41 tasks) to success', async () => {
    const trace = path.join(
      WFC,
      'pegasus',
      'epigenomics',
      'epigenomics-chameleon-hep-1seq-100k-001.json',
    );
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'aloft-replay-'));
    const r = await aloft(
      ['replay', trace, '--time-scale', '0.0001', '--size-scale', '0.00001', '--slots', '2'],
      { cwd, timeoutMs: 120_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const runDir = path.join(cwd, 'runs', 'replay-epigenomics-chameleon-hep-1seq-100k-001');
    const events = readJournalSync(runDir);
    const computeDone = new Set(
      events
        .filter((e) => e.type === 'attempt_finished' && e.ok && e.record.executor === 'synthetic')
        .map((e) => (e.type === 'attempt_finished' ? e.job : '')),
    );
    expect(computeDone.size).toBe(41);
    expect(events.at(-1)).toMatchObject({ type: 'run_finished', state: 'succeeded' });
  });
});
