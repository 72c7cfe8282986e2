/**
 * The plan as JSON text in chunks: the same bytes as JSON.stringify(plan) + '\n', but
 * produced job by job, so a 1M-job plan can be written to a file without building one
 * string larger than V8 allows.
 */
import type { Plan } from './plan-types.js';

export function* planJsonChunks(plan: Plan): Generator<string> {
  const { jobs, ...rest } = plan;
  // Keep the Plan's key order: everything before `jobs`, the jobs, everything after.
  const keys = Object.keys(plan) as (keyof Plan)[];
  const at = keys.indexOf('jobs');
  let head = '{';
  let first = true;
  for (const k of keys.slice(0, at)) {
    if (plan[k] === undefined) continue;
    head += `${first ? '' : ','}${JSON.stringify(k)}:${JSON.stringify(plan[k])}`;
    first = false;
  }
  yield `${head}${first ? '' : ','}"jobs":[`;
  const BATCH = 1000;
  for (let i = 0; i < jobs.length; i += BATCH) {
    const part = jobs.slice(i, i + BATCH).map((j) => JSON.stringify(j));
    yield (i === 0 ? '' : ',') + part.join(',');
  }
  let tail = ']';
  for (const k of keys.slice(at + 1)) {
    const v = (rest as Record<string, unknown>)[k];
    if (v === undefined) continue;
    tail += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  yield `${tail}}\n`;
}
