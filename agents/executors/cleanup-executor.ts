/**
 * The `cleanup` executor: deletes each listed URL from its store (a missing object is fine,
 * so a retried cleanup job succeeds). Failures are `infrastructure`: the store was not
 * reachable or refused; retrying may help. Stores are the job's view (agents/stores
 * `storeForJob`: its StoreAccess endpoints over the agent's environment).
 */
import { errorCode, storeError } from '../../lib/store/index.js';
import { storeForJob } from '../stores/index.js';
import { emptyOutcome, type ExecContext, type ExecOutcome, type Executor } from './executor.js';
import { runPool } from './pool.js';

export function createCleanupExecutor(options: { parallel?: number } = {}): Executor {
  const parallel = options.parallel ?? 4;
  async function run(ctx: ExecContext): Promise<ExecOutcome> {
    const deletes = ctx.job.deletes ?? [];
    const outcome = emptyOutcome('cleanup', ['aloft:cleanup']);
    const storeFor = storeForJob(ctx.job);
    const errors = await runPool(deletes, parallel, async (d) => {
      ctx.signal.throwIfAborted();
      try {
        await storeFor(d.url).delete(d.url, { signal: ctx.signal });
        return undefined;
      } catch (e) {
        const err = storeError(e, 'delete', d.url);
        if (err.code === 'CANCELLED') throw err;
        return err;
      }
    });
    const failed = errors.filter((e) => e !== undefined);
    const first = failed[0];
    if (!first) return { ...outcome, exitCode: 0 };
    return {
      ...outcome,
      failure: {
        kind: 'infrastructure',
        message:
          failed.length === 1
            ? first.message
            : `${failed.length} of ${deletes.length} deletions failed; first: ${first.message}`,
        code: errorCode(first),
      },
    };
  }
  return { name: 'cleanup', run };
}
