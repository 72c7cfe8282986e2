/**
 * Data reuse with checksums: outputs found by earlier runs' output replica catalogs and in
 * the output store count only with a matching sha256 (when one is known). Pure planner
 * tests with hand-written evidence, then the evidence gathered from real files (an earlier
 * run's output-replicas.yml, an output directory with a good, an altered and a missing file).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { diamond, replica } from '../../test/helpers/planner-model.js';
import { OutputReplicaCatalog } from '../run/index.js';
import type { LoadedWorkflow } from '../model/index.js';
import {
  defaultPlanOptions,
  explain,
  findExistingOutputs,
  plan,
  type ExistingFile,
  type Plan,
  type PlanOptions,
} from './index.js';

const ROOT = 'file:///stores/';
const OUT = 'file:///out/';
const opts = (o: Partial<PlanOptions> = {}): PlanOptions =>
  defaultPlanOptions({ storeRoot: ROOT, outputUrl: OUT, reuse: true, ...o });
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const BY = 'runs/diamond-001';

/** The diamond with only f.d staged out: ID1..ID3 are needed only for ID4. */
function onlyFinalStaged(): LoadedWorkflow {
  const l = diamond({ stageOut: false });
  const d = l.workflow.jobs[3]!.uses.find((u) => u.lfn === 'f.d')!;
  d.stageOut = true;
  d.registerReplica = true;
  return l;
}

const copy = (lfn: string, o: Partial<ExistingFile> = {}): ExistingFile => ({
  lfn,
  url: OUT + lfn,
  site: 'local',
  present: true,
  ...o,
});

function reasonsOf(p: Plan, subject: string): string[] {
  return p.reasons
    .filter((r) => r.subject === subject && (r.decision === 'skip' || r.decision === 'reuse'))
    .map((r) => `${r.decision}: ${r.message}`);
}

describe('reuse consults recorded checksums', () => {
  test('hit: every output there with the recorded sha256 -> skipped, with cascade', () => {
    const p = plan(
      onlyFinalStaged(),
      opts({ existing: [copy('f.d', { sha256: A, recorded: { sha256: A, by: BY } })] }),
    );
    expect(p.skipped).toEqual(['ID1', 'ID2', 'ID3', 'ID4']);
    expect(reasonsOf(p, 'ID4')).toEqual([
      `skip: outputs f.d already exist (output store, sha256 matches the record of ${BY})`,
    ]);
    expect(reasonsOf(p, 'ID2')).toEqual([
      expect.stringMatching(/^skip: not needed: every child \(ID4\) is skipped/),
    ]);
  });

  test('checksum mismatch -> the job runs, the reason names both checksums', () => {
    const p = plan(
      onlyFinalStaged(),
      opts({ existing: [copy('f.d', { sha256: B, recorded: { sha256: A, by: BY } })] }),
    );
    expect(p.skipped).toEqual([]);
    expect(reasonsOf(p, 'ID4')).toEqual([
      `reuse: runs: f.d at ${OUT}f.d has sha256 ${B}, but the record of ${BY} says ${A}`,
    ]);
    expect(explain(p)).toContain(`ID4\n  reuse: runs: f.d at ${OUT}f.d has sha256 ${B}`);
  });

  test('missing -> runs: recorded but gone, or never there', () => {
    const gone = plan(
      onlyFinalStaged(),
      opts({ existing: [copy('f.d', { present: false, recorded: { sha256: A, by: BY } })] }),
    );
    expect(gone.skipped).toEqual([]);
    expect(reasonsOf(gone, 'ID4')).toEqual([
      `reuse: runs: f.d is gone from ${OUT}f.d (recorded there by ${BY})`,
    ]);
    // ID1 made f.b1 and f.b2; only f.b1 is still there: ID1 runs and says what is missing.
    const partial = plan(diamond(), opts({ existing: [copy('f.b1')] }));
    expect(partial.skipped).toEqual([]);
    expect(reasonsOf(partial, 'ID1')).toEqual(['reuse: runs: f.b2 does not exist']);
  });

  test('a copy that could not be hashed does not count when a checksum is known', () => {
    const p = plan(
      onlyFinalStaged(),
      opts({ existing: [copy('f.d', { recorded: { sha256: A, by: BY } })] }),
    );
    expect(p.skipped).toEqual([]);
    expect(reasonsOf(p, 'ID4')).toEqual([
      `reuse: runs: f.d at ${OUT}f.d could not be checked against sha256 ${A} from the record of ${BY}`,
    ]);
  });

  test('with no checksum known anywhere, existing is enough', () => {
    const p = plan(onlyFinalStaged(), opts({ existing: [copy('f.d')] }));
    expect(p.skipped).toEqual(['ID1', 'ID2', 'ID3', 'ID4']);
    expect(reasonsOf(p, 'ID4')).toEqual([`skip: outputs f.d already exist (output store)`]);
  });

  test("the replica catalog's checksum wins, and its location is not trusted when it differs", () => {
    // The earlier run's catalog given as --replicas: same pfn, altered since.
    const l = onlyFinalStaged();
    l.replicas.replicas.push(
      replica('f.d', [[`${OUT}f.d`, 'local']], { checksum: { type: 'sha256', value: A } }),
    );
    const altered = plan(l, opts({ existing: [copy('f.d', { sha256: B })] }));
    expect(altered.skipped).toEqual([]);
    expect(reasonsOf(altered, 'ID4')).toEqual([
      `reuse: runs: f.d at ${OUT}f.d has sha256 ${B}, but the replica catalog says ${A}`,
    ]);
    const intact = plan(l, opts({ existing: [copy('f.d', { sha256: A })] }));
    expect(intact.skipped).toEqual(['ID1', 'ID2', 'ID3', 'ID4']);
  });

  test('cascade: verified copies of pruned outputs are staged in from where they are, checked', () => {
    // f.c1 and f.c2 exist (verified), f.d does not: ID2 and ID3 are skipped, ID4 runs, and
    // ID1 is not needed (its outputs are not staged out and its children are skipped).
    const l = diamond({ stageOut: false });
    l.workflow.jobs[3]!.uses.find((u) => u.lfn === 'f.d')!.stageOut = true;
    const p = plan(
      l,
      opts({
        existing: [
          copy('f.c1', { sha256: A, recorded: { sha256: A, by: BY } }),
          copy('f.c2', { url: 'file:///elsewhere/f.c2', site: 'archive' }),
        ],
      }),
    );
    expect(p.skipped).toEqual(['ID1', 'ID2', 'ID3']);
    expect(reasonsOf(p, 'ID3')).toEqual([
      'skip: outputs f.c2 already exist (file:///elsewhere/f.c2)',
    ]);
    const si = p.jobs.find((j) => j.kind === 'stage_in')!;
    expect(si.transfers!.map((t) => [t.lfn, t.sources, t.checksum])).toEqual([
      ['f.c1', [{ url: `${OUT}f.c1`, site: 'local' }], { type: 'sha256', value: A }],
      ['f.c2', [{ url: 'file:///elsewhere/f.c2', site: 'archive' }], undefined],
    ]);
    expect(p.jobs.find((j) => j.id === 'ID4')!.inputs![0]).toEqual({
      lfn: 'f.c1',
      url: `${ROOT}condorpool/f.c1`,
      checksum: { type: 'sha256', value: A },
    });
  });

  test('a mismatched copy is never a stage-in source, even when the job is skipped another way', () => {
    const l = diamond({ stageOut: false });
    l.workflow.jobs[3]!.uses.find((u) => u.lfn === 'f.d')!.stageOut = true;
    l.replicas.replicas.push(replica('f.c1', [['/archive/f.c1', 'local']]));
    const p = plan(
      l,
      opts({
        existing: [
          copy('f.c1', { sha256: B, recorded: { sha256: A, by: BY } }),
          copy('f.c2', { sha256: A, recorded: { sha256: A, by: BY } }),
        ],
      }),
    );
    expect(p.skipped).toContain('ID2');
    const sources = p.jobs
      .filter((j) => j.kind === 'stage_in')
      .flatMap((j) => j.transfers!)
      .find((t) => t.lfn === 'f.c1')!.sources;
    expect(sources).toEqual([{ url: 'file:///archive/f.c1', site: 'local' }]);
  });

  test('reuse off or --force: evidence is ignored', () => {
    const existing = [copy('f.d', { sha256: A, recorded: { sha256: A, by: BY } })];
    expect(plan(onlyFinalStaged(), opts({ existing, force: true })).skipped).toEqual([]);
    expect(plan(onlyFinalStaged(), opts({ existing, reuse: false })).skipped).toEqual([]);
  });
});

describe('findExistingOutputs on real files', () => {
  let dir: string;
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-reuse-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('good, altered and missing outputs of an earlier run; then the plan', async () => {
    const out = path.join(dir, 'outputs');
    const run1 = path.join(dir, 'runs', 'diamond-001');
    await mkdir(out, { recursive: true });
    await mkdir(run1, { recursive: true });
    const outUrl = pathToFileURL(out).href + '/';
    const files: Record<string, string> = {
      'f.b1': 'b1\n',
      'f.b2': 'b2\n',
      'f.c1': 'c1\n',
      'f.c2': 'c2\n',
      'f.d': 'd\n',
    };
    for (const [lfn, text] of Object.entries(files)) {
      await writeFile(path.join(out, lfn), text);
    }
    const catalog = OutputReplicaCatalog.open(path.join(run1, 'output-replicas.yml'));
    await catalog.add(
      Object.entries(files).map(([lfn, text]) => ({
        lfn,
        pfn: outUrl + lfn,
        site: 'local',
        sha256: sha(text),
        size: text.length,
      })),
    );
    // Since then: f.c1 altered, f.c2 deleted; f.b1 kept; f.d kept.
    await writeFile(path.join(out, 'f.c1'), 'tampered\n');
    await unlink(path.join(out, 'f.c2'));

    const l = diamond();
    const existing = await findExistingOutputs(l, {
      catalogs: [{ file: path.join(run1, 'output-replicas.yml'), run: 'runs/diamond-001' }],
      outputStore: outUrl,
      outputSite: 'local',
    });
    const rec = (lfn: string): { sha256: string; by: string } => ({
      sha256: sha(files[lfn]!),
      by: 'runs/diamond-001',
    });
    expect(existing).toEqual([
      {
        lfn: 'f.b1',
        url: `${outUrl}f.b1`,
        site: 'local',
        present: true,
        sha256: sha('b1\n'),
        recorded: rec('f.b1'),
        size: 3,
      },
      {
        lfn: 'f.b2',
        url: `${outUrl}f.b2`,
        site: 'local',
        present: true,
        sha256: sha('b2\n'),
        recorded: rec('f.b2'),
        size: 3,
      },
      {
        lfn: 'f.c1',
        url: `${outUrl}f.c1`,
        site: 'local',
        present: true,
        sha256: sha('tampered\n'),
        recorded: rec('f.c1'),
        size: 9,
      },
      { lfn: 'f.c2', url: `${outUrl}f.c2`, site: 'local', present: false, recorded: rec('f.c2') },
      {
        lfn: 'f.d',
        url: `${outUrl}f.d`,
        site: 'local',
        present: true,
        sha256: sha('d\n'),
        recorded: rec('f.d'),
        size: 2,
      },
    ]);

    const p = plan(l, opts({ outputUrl: outUrl, existing }));
    // ID1's and ID4's outputs are intact: skipped (reuse goes by outputs, as Pegasus does).
    // ID2 (f.c1 altered) and ID3 (f.c2 gone) run.
    expect(p.skipped).toEqual(['ID1', 'ID4']);
    expect(reasonsOf(p, 'ID2')).toEqual([
      `reuse: runs: f.c1 at ${outUrl}f.c1 has sha256 ${sha('tampered\n')}, but the record of runs/diamond-001 says ${sha('c1\n')}`,
    ]);
    expect(reasonsOf(p, 'ID3')).toEqual([
      `reuse: runs: f.c2 is gone from ${outUrl}f.c2 (recorded there by runs/diamond-001)`,
    ]);
  });

  test('without a record nothing is hashed; a file nobody recorded and that is absent says nothing', async () => {
    const out = path.join(dir, 'plain');
    await mkdir(out, { recursive: true });
    await writeFile(path.join(out, 'f.d'), 'whatever');
    const outUrl = pathToFileURL(out).href + '/';
    const existing = await findExistingOutputs(diamond(), {
      catalogs: [],
      outputStore: outUrl,
      outputSite: 'local',
    });
    expect(existing).toEqual([
      { lfn: 'f.d', url: `${outUrl}f.d`, site: 'local', present: true, size: 8 },
    ]);
  });

  test('a location no store here can read gives no evidence either way', async () => {
    const run = path.join(dir, 'runs', 'diamond-002');
    await mkdir(run, { recursive: true });
    const catalog = OutputReplicaCatalog.open(path.join(run, 'output-replicas.yml'));
    await catalog.add([{ lfn: 'f.d', pfn: 's3://bucket/out/f.d', site: 'cloud', sha256: A }]);
    const existing = await findExistingOutputs(diamond(), {
      catalogs: [{ file: path.join(run, 'output-replicas.yml'), run: 'runs/diamond-002' }],
      outputStore: 'gsiftp://nowhere.invalid/out/',
      outputSite: 'local',
    });
    expect(existing).toEqual([]);
  });
});
