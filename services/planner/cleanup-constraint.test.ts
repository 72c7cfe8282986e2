/**
 * Constraint cleanup: plans are executed in simulation — many random schedules and a greedy
 * one that starts everything it may at once — tracking the bytes in each constrained store
 * (a file occupies the store from its writer's start until the cleanup deleting it ends).
 * The peak never exceeds maxspace; the same workflow with inplace cleanup does (so the
 * simulation would notice). Impossible budgets fail with the job and the numbers.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { isAloftError } from '../../lib/errors/index.js';
import { importWfFormat } from '../formats/index.js';
import type { LoadedWorkflow, Profiles, Site } from '../model/index.js';
import {
  input,
  installedEverywhere,
  job,
  loaded,
  output,
  replica,
  site,
  workflow,
} from '../../test/helpers/planner-model.js';
import { SHARED } from '../../test/helpers/cli.js';
import { demandOrder } from './cleanup-constraint.js';
import { defaultPlanOptions, plan, type Plan, type PlanOptions } from './index.js';

const ROOT = 'file:///stores/';
const opts = (o: Partial<PlanOptions> = {}): PlanOptions =>
  defaultPlanOptions({ storeRoot: ROOT, cleanup: 'constraint', ...o });

/** Deterministic PRNG (mulberry32) so a failing schedule can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Peak bytes under `base` over one execution of the plan: 'greedy' starts every ready job
 * before finishing one (at random); 'random' interleaves starts and finishes at random.
 */
function peakUsage(
  p: Plan,
  base: string,
  sizeOf: (lfn: string) => number,
  mode: 'greedy' | 'random',
  seed: number,
): number {
  const byId = new Map(p.jobs.map((j) => [j.id, j]));
  const writes = new Map<string, string[]>();
  const deletes = new Map<string, string[]>();
  for (const j of p.jobs) {
    const w: string[] = [];
    for (const f of [...(j.outputs ?? []), ...(j.members ?? []).flatMap((m) => m.outputs ?? [])]) {
      if (f.url.startsWith(base)) w.push(f.url);
    }
    for (const t of j.transfers ?? []) if (t.dest.url.startsWith(base)) w.push(t.dest.url);
    writes.set(j.id, w);
    deletes.set(
      j.id,
      (j.deletes ?? []).map((d) => d.url).filter((u) => u.startsWith(base)),
    );
  }
  const lfnOf = (url: string): string => url.slice(base.length);
  const waiting = new Map(p.jobs.map((j) => [j.id, j.parents.length]));
  const children = new Map<string, string[]>();
  for (const j of p.jobs)
    for (const q of j.parents) children.set(q, [...(children.get(q) ?? []), j.id]);
  const ready = p.jobs.filter((j) => j.parents.length === 0).map((j) => j.id);
  const running: string[] = [];
  const inStore = new Map<string, number>();
  let used = 0;
  let peak = 0;
  let done = 0;
  const random = rng(seed);
  const pick = (list: string[]): string => list.splice(Math.floor(random() * list.length), 1)[0]!;
  const start = (id: string): void => {
    for (const url of writes.get(id)!) {
      if (inStore.has(url)) continue;
      const z = sizeOf(lfnOf(url));
      inStore.set(url, z);
      used += z;
    }
    peak = Math.max(peak, used);
    running.push(id);
  };
  const finish = (id: string): void => {
    for (const url of deletes.get(id)!) {
      used -= inStore.get(url) ?? 0;
      inStore.delete(url);
    }
    done++;
    for (const c of children.get(id) ?? []) {
      const left = waiting.get(c)! - 1;
      waiting.set(c, left);
      if (left === 0) ready.push(c);
    }
  };
  while (done < p.jobs.length) {
    if (mode === 'greedy') {
      while (ready.length > 0) start(pick(ready));
      finish(pick(running));
    } else if (ready.length > 0 && (running.length === 0 || random() < 0.5)) {
      start(pick(ready));
    } else {
      finish(pick(running));
    }
  }
  expect(byId.size).toBe(p.jobs.length);
  return peak;
}

function worstPeak(p: Plan, base: string, sizeOf: (lfn: string) => number, runs = 60): number {
  let worst = peakUsage(p, base, sizeOf, 'greedy', 1);
  for (let s = 0; s < runs; s++) {
    worst = Math.max(worst, peakUsage(p, base, sizeOf, s % 2 ? 'greedy' : 'random', s + 2));
  }
  return worst;
}

function problemsOf(l: LoadedWorkflow, o: PlanOptions): string[] {
  try {
    plan(l, o);
  } catch (e) {
    if (isAloftError(e)) return e.problems.map((p) => `${p.where}: ${p.message} [${p.hint}]`);
    throw e;
  }
  throw new Error('plan did not fail');
}

/**
 * split(raw 10) -> s1..sK (10 each); per branch a(s) -> t (30), b(t) -> u (5, staged out);
 * merge(u1..uK) -> final (1). Intermediates s, t are not staged out.
 */
const SIZES: Record<string, number> = { raw: 10, final: 1 };
function fan(k: number, maxspace?: string, where: 'site' | 'workflow' = 'site'): LoadedWorkflow {
  const jobs = [
    job('split', 'split', [
      input('raw', { size: 10 }),
      ...Array.from({ length: k }, (_, i) => output(`s${i}`, { size: 10, stageOut: false })),
    ]),
  ];
  for (let i = 0; i < k; i++) {
    SIZES[`s${i}`] = 10;
    SIZES[`t${i}`] = 30;
    SIZES[`u${i}`] = 5;
    jobs.push(
      job(`a${i}`, 'a', [input(`s${i}`), output(`t${i}`, { size: 30, stageOut: false })]),
      job(`b${i}`, 'b', [input(`t${i}`), output(`u${i}`, { size: 5 })]),
    );
  }
  jobs.push(
    job('merge', 'merge', [
      ...Array.from({ length: k }, (_, i) => input(`u${i}`)),
      output('final', { size: 1 }),
    ]),
  );
  const profiles: Profiles =
    maxspace === undefined ? {} : { pegasus: { 'file.cleanup.constraint.maxspace': maxspace } };
  const l = loaded(workflow(jobs, [], where === 'workflow' ? { profiles } : {}), {
    transformations: installedEverywhere(['split', 'a', 'b', 'merge'], ['hpc']),
    replicas: [replica('raw', [['/data/raw', 'local']])],
    sites: [site('hpc', where === 'site' ? { profiles } : {})],
  });
  return l;
}
const sizeOf = (lfn: string): number => SIZES[lfn] ?? 0;

describe('constraint cleanup keeps a store under maxspace', () => {
  const HPC = `${ROOT}hpc/`;

  test('the simulated peak never exceeds maxspace; inplace alone would exceed it', () => {
    const M = 120;
    const p = plan(fan(8, String(M)), opts());
    expect(worstPeak(p, HPC, sizeOf)).toBeLessThanOrEqual(M);
    const barriers = p.jobs.filter((j) => j.id.startsWith('cleanup_barrier_'));
    expect(barriers.length).toBeGreaterThan(0);
    for (const b of barriers) expect(b).toMatchObject({ kind: 'cleanup', deletes: [] });
    const reason = p.reasons.find(
      (r) => r.subject === 'hpc' && /constraint cleanup/.test(r.message),
    );
    expect(reason!.message).toMatch(
      /under its maxspace 120 B .*usage is at most \d+ B in any execution order/,
    );

    const inplace = plan(fan(8, String(M)), opts({ cleanup: 'inplace' }));
    expect(peakUsage(inplace, HPC, sizeOf, 'greedy', 1)).toBeGreaterThan(M);
  });

  test('the guaranteed bound holds for every budget from the tightest that fits upward', () => {
    // s0..s7 (80) are all alive when a0 writes t0 (30): 110 is the least any order needs.
    for (const M of [110, 111, 125, 150, 200, 400]) {
      const p = plan(fan(8, String(M)), opts());
      const peak = worstPeak(p, HPC, sizeOf, 30);
      expect(peak, `maxspace ${M}`).toBeLessThanOrEqual(M);
    }
  });

  test('a budget that fits everything adds no barrier', () => {
    const p = plan(fan(4, '1 MB'), opts());
    expect(p.jobs.some((j) => j.id.startsWith('cleanup_barrier_'))).toBe(false);
    expect(p.reasons).toContainEqual(
      expect.objectContaining({
        subject: 'hpc',
        message: expect.stringContaining('the whole workflow fits, no job is held back'),
      }),
    );
  });

  test('maxspace from the workflow profiles applies to every site', () => {
    const p = plan(fan(8, '120', 'workflow'), opts());
    expect(worstPeak(p, HPC, sizeOf, 20)).toBeLessThanOrEqual(120);
    expect(p.reasons.some((r) => /from workflow profiles/.test(r.message))).toBe(true);
  });

  test('stage-ins into a constrained store come per first consumer, not a level at once', () => {
    const jobs = Array.from({ length: 6 }, (_, i) =>
      job(`J${i}`, 't', [input(`in${i}`, { size: 40 }), output(`o${i}`, { size: 1 })]),
    );
    const l = loaded(workflow(jobs), {
      transformations: installedEverywhere(['t'], ['hpc']),
      replicas: jobs.map((_, i) => replica(`in${i}`, [[`/d/in${i}`, 'local']])),
      sites: [
        site('hpc', { profiles: { pegasus: { 'file.cleanup.constraint.maxspace': '100' } } }),
      ],
    });
    const p = plan(l, opts());
    const stageIns = p.jobs.filter((j) => j.kind === 'stage_in');
    expect(stageIns.map((j) => j.transfers!.length)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(stageIns.map((j) => j.id)).toContain('stage_in_hpc_J0_0');
    expect(
      worstPeak(p, `${ROOT}hpc/`, (lfn) => (lfn.startsWith('in') ? 40 : 1)),
    ).toBeLessThanOrEqual(100);
    // Inplace groups the whole level into one stage-in of 6 files.
    const inplace = plan(l, opts({ cleanup: 'inplace' }));
    expect(inplace.jobs.filter((j) => j.kind === 'stage_in')).toHaveLength(1);
  });

  test('clustered jobs count as one job: what the cluster reads and writes must fit at once', () => {
    const clustered = opts({ cluster: ['horizontal'] });
    const fanOfA = (maxspace: string): LoadedWorkflow => {
      const l = fan(8, maxspace);
      const a = l.transformations.transformations.find((t) => t.name === 'a')!;
      a.profiles = { pegasus: { 'clusters.size': '8' } };
      return l;
    };
    const p = plan(fanOfA('400'), clustered);
    expect(p.jobs.filter((j) => j.kind === 'cluster').map((j) => j.covers.length)).toEqual([8]);
    expect(worstPeak(p, HPC, sizeOf, 30)).toBeLessThanOrEqual(400);
    expect(problemsOf(fanOfA('120'), clustered)).toContainEqual(
      expect.stringMatching(
        /^job merge_a_hpc_1_1: needs 320 B in the hpc store .* it can never fit/,
      ),
    );
  });

  test('files without a size count as 0 bytes, said in a reason', () => {
    const l = fan(2, '200');
    l.workflow.jobs[1]!.uses[1]!.size = undefined;
    const p = plan(l, opts());
    expect(p.reasons).toContainEqual(
      expect.objectContaining({
        subject: 'hpc',
        message: expect.stringMatching(/^1 file written into the hpc store .* has no size/),
      }),
    );
  });
});

describe('constraint cleanup on random workflows over two sites', () => {
  test('whenever a plan is made, no schedule exceeds either store maxspace', () => {
    let planned = 0;
    let barriers = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const random = rng(seed);
      const sizes = new Map<string, number>();
      const files: string[] = [];
      const jobs = [];
      const n = 15 + Math.floor(random() * 25);
      for (let j = 0; j < n; j++) {
        const uses = [];
        const reads = new Set<string>();
        const k = files.length === 0 ? 0 : 1 + Math.floor(random() * 3);
        for (let r = 0; r < k; r++) reads.add(files[Math.floor(random() * files.length)]!);
        for (const f of reads) uses.push(input(f));
        if (random() < 0.3) {
          const raw = `raw${j}`;
          sizes.set(raw, 1 + Math.floor(random() * 40));
          uses.push(input(raw, { size: sizes.get(raw)! }));
        }
        const outs = 1 + Math.floor(random() * 2);
        for (let o = 0; o < outs; o++) {
          const f = `f${j}_${o}`;
          sizes.set(f, 1 + Math.floor(random() * 50));
          uses.push(output(f, { size: sizes.get(f)!, stageOut: random() < 0.4 }));
          files.push(f);
        }
        const pin = random() < 0.5 ? 'a' : 'b';
        jobs.push(job(`J${j}`, 't', uses, { profiles: { selector: { 'execution.site': pin } } }));
      }
      let total = 0;
      for (const z of sizes.values()) total += z;
      const M = Math.ceil(total * (0.3 + 0.7 * random()));
      const limit = { pegasus: { 'file.cleanup.constraint.maxspace': String(M) } };
      const l = loaded(workflow(jobs), {
        transformations: installedEverywhere(['t'], ['a', 'b']),
        replicas: [...sizes.keys()]
          .filter((f) => f.startsWith('raw'))
          .map((f) => replica(f, [[`/data/${f}`, 'local']])),
        sites: [site('a', { profiles: limit }), site('b', { profiles: limit })],
      });
      let p: Plan;
      try {
        p = plan(l, opts());
      } catch (e) {
        if (isAloftError(e) && e.problems.every((q) => /maxspace/.test(q.message))) continue;
        throw e;
      }
      planned++;
      barriers += p.jobs.filter((j) => j.id.startsWith('cleanup_barrier_')).length;
      for (const s of ['a', 'b']) {
        const peak = worstPeak(p, `${ROOT}${s}/`, (lfn) => sizes.get(lfn) ?? 0, 20);
        expect(peak, `seed ${seed} store ${s}`).toBeLessThanOrEqual(M);
      }
    }
    expect(planned).toBeGreaterThan(15);
    expect(barriers).toBeGreaterThan(10);
  });
});

describe('constraint cleanup: budgets that cannot work are invalid input', () => {
  test('a job whose inputs and outputs exceed maxspace can never fit: job and numbers', () => {
    const problems = problemsOf(fan(2, '35'), opts());
    // a0 reads s0 (10) and writes t0 (30): 40 > 35; split: raw 10 + 2 x 10 = 30 fits.
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^workflow\.yml: job a0: needs 40 B in the hpc store \(file:\/\/\/stores\/hpc\/\) at once — inputs 10 B \+ outputs 30 B \(largest: t0 30 B, s0 10 B\) — more than the store's maxspace 35 B from site catalog \(site hpc\): it can never fit \[raise pegasus\.file\.cleanup\.constraint\.maxspace for site hpc to at least 40 bytes/,
      ),
    );
    expect(problems.filter((m) => /job a\d/.test(m))).toHaveLength(2);
  });

  test('a budget every job fits in, but the order cannot keep, names what must stay', () => {
    // split needs 90 and a needs 40, but s0..s7 (80) are alive when a0 writes t0 (30).
    const problems = problemsOf(fan(8, '100'), opts());
    expect(problems).toEqual([
      'site hpc: store file:///stores/hpc/: cannot stay under its maxspace 100 B (from site catalog (site hpc)) in the order aloft chose: before job a0 writes 30 B, 80 B must stay in the store for jobs that still read them (largest: s0 10 B, s1 10 B, s2 10 B and 5 more) [raise the maxspace to at least 110 bytes, or plan with --cleanup inplace]',
    ]);
  });

  test('--cleanup constraint without any maxspace, and a bad maxspace value', () => {
    expect(problemsOf(fan(2), opts())).toEqual([
      expect.stringMatching(
        /^workflow\.yml: cleanup constraint: no store of this plan has a maxspace.*\[set the pegasus profile file\.cleanup\.constraint\.maxspace/,
      ),
    ]);
    expect(problemsOf(fan(2, 'lots'), opts())).toEqual([
      expect.stringMatching(
        /^workflow\.yml: site hpc: profile pegasus\.file\.cleanup\.constraint\.maxspace: "lots" is not a positive size in bytes/,
      ),
    ]);
  });

  test('a maxspace on the output store is ignored with a reason (it is never cleaned)', () => {
    const l = fan(2, '1000');
    const shared: Site['directories'] = [
      {
        type: 'sharedScratch',
        path: '',
        sharedFileSystem: true,
        fileServers: [{ url: 'file:///out', operation: 'all' }],
      },
    ];
    l.sites.sites = [
      site('hpc', {
        directories: shared,
        profiles: { pegasus: { 'file.cleanup.constraint.maxspace': '1000' } },
      }),
    ];
    const problems = problemsOf(l, opts({ outputUrl: 'file:///out' }));
    expect(problems[0]).toMatch(/no store of this plan has a maxspace/);
  });
});

describe('demandOrder', () => {
  test('topological, and each node right after what it needs (branch by branch)', () => {
    // 0 -> 1 -> 2 -> 5, 0 -> 3 -> 4 -> 5
    const edges: [number, number][] = [
      [0, 1],
      [1, 2],
      [2, 5],
      [0, 3],
      [3, 4],
      [4, 5],
    ];
    const start = new Int32Array(7);
    for (const [, c] of edges) start[c + 1]!++;
    for (let i = 0; i < 6; i++) start[i + 1]! += start[i]!;
    const fill = start.slice(0, 6);
    const items = new Int32Array(edges.length);
    for (const [p, c] of edges) items[fill[c]!++] = p;
    expect([...demandOrder({ start, items }, 6)]).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

const TRACES = [
  'montage/montage-chameleon-2mass-005d-001.json',
  'epigenomics/epigenomics-chameleon-hep-1seq-100k-001.json',
].map((f) => path.join(SHARED, 'workflows/wfcommons/pegasus', f));

describe.skipIf(!TRACES.every((f) => existsSync(f)))('constraint cleanup on real traces', () => {
  test.each(TRACES)(
    '%s: under a budget below its data, the peak stays under it',
    async (file) => {
      const l = await importWfFormat(file);
      const names = [...new Set(l.workflow.jobs.map((j) => j.name))];
      l.transformations = installedEverywhere(names, ['hpc']);
      const produced = new Set(
        l.workflow.jobs.flatMap((j) => j.uses.filter((u) => u.link !== 'input').map((u) => u.lfn)),
      );
      const sizes = new Map<string, number>();
      for (const j of l.workflow.jobs) for (const u of j.uses) sizes.set(u.lfn, u.size ?? 0);
      const roots = [...sizes.keys()].filter((lfn) => !produced.has(lfn));
      l.replicas = { replicas: roots.map((lfn) => replica(lfn, [[`/data/${lfn}`, 'local']])) };
      let total = 0;
      for (const z of sizes.values()) total += z;
      const base = `${ROOT}hpc/`;
      const size = (lfn: string): number => sizes.get(lfn) ?? 0;
      // The smallest tenth of the total data that this order can keep.
      let planned: { p: Plan; M: number } | undefined;
      for (let tenth = 1; tenth <= 10 && !planned; tenth++) {
        const M = Math.ceil((total * tenth) / 10);
        l.sites = {
          sites: [
            site('hpc', {
              profiles: { pegasus: { 'file.cleanup.constraint.maxspace': String(M) } },
            }),
          ],
        };
        try {
          planned = { p: plan(l, opts()), M };
        } catch (e) {
          if (!isAloftError(e)) throw e;
        }
      }
      const { p, M } = planned!;
      expect(M).toBeLessThan(total * 0.75);
      expect(worstPeak(p, base, size, 10)).toBeLessThanOrEqual(M);
      expect(
        peakUsage(plan(l, opts({ cleanup: 'inplace' })), base, size, 'greedy', 1),
      ).toBeGreaterThan(M);
    },
    60_000,
  );
});
