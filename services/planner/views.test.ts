import { describe, expect, test } from 'vitest';
import { diamond } from '../../test/helpers/planner-model.js';
import { defaultPlanOptions, explain, plan, planJsonChunks, toDot } from './index.js';

const p = plan(diamond(), defaultPlanOptions({ storeRoot: 'file:///s/' }));

describe('plan views', () => {
  test('explain groups reasons by subject in order of first mention', () => {
    const text = explain(p);
    const lines = text.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'ID1',
      '  site: placed on condorpool: transformation preprocess installed there; candidates [condorpool]',
      '  register: register_ID1 registers f.b1, f.b2 at local (registerReplica) after they reach the output store',
    ]);
    expect(lines).toContain('f.a');
    expect(text.indexOf('\nf.a\n')).toBeGreaterThan(text.indexOf('\nID4\n'));
  });

  test('toDot draws every job with id, kind and site, and every edge', () => {
    const dot = toDot(p);
    expect(dot.startsWith('digraph "diamond" {')).toBe(true);
    expect(dot).toContain('"ID1" [label="ID1\\ncompute\\ncondorpool", shape=box');
    expect(dot).toContain(
      '"stage_in_condorpool_0_0" [label="stage_in_condorpool_0_0\\nstage_in\\ncondorpool", shape=invhouse',
    );
    expect(dot).toContain('"ID2" -> "ID4";');
    const edges = dot.split('\n').filter((l) => l.includes(' -> ')).length;
    expect(edges).toBe(p.jobs.reduce((n, j) => n + j.parents.length, 0));
  });

  test('planJsonChunks yields exactly JSON.stringify(plan) + newline', () => {
    expect([...planJsonChunks(p)].join('')).toBe(JSON.stringify(p) + '\n');
    const empty = { ...p, jobs: [] };
    expect([...planJsonChunks(empty)].join('')).toBe(JSON.stringify(empty) + '\n');
  });
});
