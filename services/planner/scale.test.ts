import { expect, test } from 'vitest';
import { layered } from '../../test/helpers/planner-model.js';
import { defaultPlanOptions, plan, summarize } from './index.js';

// Size only, no timing assertion (DESIGN §10: budgets are benchmarks, not tests).
test('a generated 100k-job layered workflow plans, with every job placed once', () => {
  const n = 100_000;
  const width = 1000;
  const l = layered(n, width);
  const p = plan(l, defaultPlanOptions({ storeRoot: 'file:///s/' }));
  const s = summarize(p);
  expect(s.jobs).toBe(n);
  expect(s.planned.compute).toBe(n);
  expect(s.sites).toEqual({ compute: n });
  expect(s.planned.stage_in).toBe(width / 10);
  // only the last layer stages out and registers
  expect(s.planned.stage_out).toBe(width);
  expect(s.planned.register).toBe(width);
  // every intermediate file is cleaned up once
  const deleted = new Set<string>();
  for (const j of p.jobs) for (const d of j.deletes ?? []) deleted.add(d.lfn);
  expect(deleted.size).toBe(n + width);
  expect(p.reasons.length).toBeLessThan(10_000);
});
