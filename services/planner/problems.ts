/**
 * Collects Problems for one validation or planning pass, capped per category so that a
 * million jobs with the same mistake produce a readable report: the first few of each kind,
 * then one line saying how many more there are.
 */
import type { Problem } from '../../lib/errors/index.js';

export const PROBLEMS_PER_CATEGORY = 20;

export class ProblemList {
  private readonly shown: Problem[] = [];
  private readonly counts = new Map<string, number>();
  private readonly firstWhere = new Map<string, string>();

  constructor(private readonly cap = PROBLEMS_PER_CATEGORY) {}

  add(category: string, problem: Problem): void {
    const n = (this.counts.get(category) ?? 0) + 1;
    this.counts.set(category, n);
    if (n === 1) this.firstWhere.set(category, problem.where.split(':')[0] ?? problem.where);
    if (n <= this.cap) this.shown.push(problem);
  }

  get size(): number {
    let total = 0;
    for (const n of this.counts.values()) total += n;
    return total;
  }

  /** Every shown problem, then one summary per category that went over its cap. */
  list(): Problem[] {
    const out = [...this.shown];
    for (const [category, n] of this.counts) {
      if (n > this.cap) {
        out.push({
          where: this.firstWhere.get(category) ?? category,
          message: `${n - this.cap} more problems like the above (${category}) not shown`,
        });
      }
    }
    return out;
  }
}

/** "a, b, c and 7 more": bounded lists of names inside one message. */
export function listSome(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
