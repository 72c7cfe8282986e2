/**
 * The planner's decision log (Plan.reasons). Every decision a user could wonder about is
 * offered here; to keep 1M-job plans small, only the first REASONS_PER_DECISION of each
 * decision kind are kept verbatim and the rest are counted and summarised at the end.
 */
import type { Reason } from './plan-types.js';

export const REASONS_PER_DECISION = 1000;

type Decision = Reason['decision'];

export class ReasonLog {
  private readonly kept: Reason[] = [];
  /** Decisions per kind (asked about once per job or file: a record, not a map). */
  private readonly counts: Record<Decision, number> = {
    skip: 0,
    reuse: 0,
    site: 0,
    cluster: 0,
    stage: 0,
    cleanup: 0,
    register: 0,
    priority: 0,
    resources: 0,
  };
  /** Kinds in the order of their first decision: the order of the summaries in list(). */
  private readonly seen: Decision[] = [];

  constructor(private readonly cap = REASONS_PER_DECISION) {}

  /** Is there room for another reason of this kind? Lets callers skip building messages. */
  wants(decision: Decision): boolean {
    return this.counts[decision] < this.cap;
  }

  add(subject: string, decision: Decision, message: string): void {
    if (this.bump(decision) <= this.cap) this.kept.push({ subject, decision, message });
  }

  /** Count a decision whose message was not built because `wants` said no. */
  count(decision: Decision): void {
    this.bump(decision);
  }

  private bump(decision: Decision): number {
    const n = ++this.counts[decision];
    if (n === 1) this.seen.push(decision);
    return n;
  }

  list(): Reason[] {
    const out = [...this.kept];
    for (const decision of this.seen) {
      const n = this.counts[decision];
      if (n > this.cap) {
        out.push({
          subject: '*',
          decision,
          message: `${n - this.cap} more ${decision} decisions like the above are not listed (${this.cap} kept)`,
        });
      }
    }
    return out;
  }
}
