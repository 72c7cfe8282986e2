/**
 * Cluster jobs (kind `cluster`, like pegasus-cluster/seqexec): the members run in order,
 * in the one scratch directory of the attempt, each through the executor that fits it.
 * The first failing member fails the attempt and the rest do not run; the failure message
 * names the member. CPU times add up over members, maxRss is the largest, stdout/stderr
 * byte counts add up, and the tails are those of the last member that ran.
 */
import type { PlannedJob } from '../../proto/index.js';
import { emptyOutcome, type ExecContext, type ExecOutcome, type Executor } from './executor.js';

export function createClusterExecutor(executorFor: (member: PlannedJob) => Executor): Executor {
  async function run(ctx: ExecContext): Promise<ExecOutcome> {
    const members = ctx.job.members ?? [];
    let total = emptyOutcome('cluster', ['aloft:cluster', ...members.map((m) => m.id)]);
    total.exitCode = 0;
    for (const member of members) {
      ctx.signal.throwIfAborted();
      const r = await executorFor(member).run({
        ...ctx,
        job: member,
        filePrefix: `.aloft.${member.id}`,
      });
      total = {
        ...r,
        utimeMs: total.utimeMs + r.utimeMs,
        stimeMs: total.stimeMs + r.stimeMs,
        maxRssKb: Math.max(total.maxRssKb, r.maxRssKb),
        stdoutBytes: total.stdoutBytes + r.stdoutBytes,
        stderrBytes: total.stderrBytes + r.stderrBytes,
        transfers: [...total.transfers, ...r.transfers],
      };
      if (r.failure) {
        return {
          ...total,
          failure: {
            ...r.failure,
            message: `cluster ${ctx.job.id} member ${member.id} failed: ${r.failure.message}`,
          },
        };
      }
    }
    return total;
  }
  return { name: 'cluster', run };
}
