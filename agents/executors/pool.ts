/**
 * Run `fn` over `items` with at most `limit` in flight; results in input order. If any
 * call rejects, the first rejection is rethrown once every started call has settled (no
 * work is left running behind the caller's back).
 */
export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let firstError: { e: unknown } | undefined;
  async function worker(): Promise<void> {
    while (next < items.length && firstError === undefined) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (e) {
        firstError ??= { e };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (firstError) throw firstError.e;
  return results;
}
