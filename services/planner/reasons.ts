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
  private readonly counts = new Map<Decision, number>();

  constructor(private readonly cap = REASONS_PER_DECISION) {}

  /** Is there room for another reason of this kind? Lets callers skip building messages. */
  wants(decision: Decision): boolean {
    return (this.counts.get(decision) ?? 0) < this.cap;
  }

  add(subject: string, decision: Decision, message: string): void {
    const n = (this.counts.get(decision) ?? 0) + 1;
    this.counts.set(decision, n);
    if (n <= this.cap) this.kept.push({ subject, decision, message });
  }

  /** Count a decision whose message was not built because `wants` said no. */
  count(decision: Decision): void {
    this.counts.set(decision, (this.counts.get(decision) ?? 0) + 1);
  }

  list(): Reason[] {
    const out = [...this.kept];
    for (const [decision, n] of this.counts) {
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
