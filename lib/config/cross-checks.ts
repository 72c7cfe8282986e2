/** Checks across keys of one config that every config shares. */
import type { Problem } from '../errors/index.js';

/**
 * Keys that only make sense together (a user and its password, a certificate and its key):
 * one problem for each pair of which exactly one is set.
 */
export function setTogether(
  config: Readonly<Record<string, unknown>>,
  pairs: readonly (readonly [string, string])[],
  where: string,
): Problem[] {
  const out: Problem[] = [];
  for (const [a, b] of pairs) {
    if ((config[a] === undefined) !== (config[b] === undefined)) {
      out.push({ where, message: `${a} and ${b} go together`, hint: 'set both or neither' });
    }
  }
  return out;
}
