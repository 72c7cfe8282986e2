/** The problems an INVALID_ARGUMENT error lists, for tests of input validation. */
import { isAloftError, type Problem } from '../../lib/errors/index.js';

/** Run `fn`; it must throw INVALID_ARGUMENT: its problems, in order. */
export function problemsOf(fn: () => unknown): Problem[] {
  try {
    fn();
  } catch (e) {
    if (isAloftError(e) && e.code === 'INVALID_ARGUMENT') return [...e.problems];
    throw e;
  }
  throw new Error('expected INVALID_ARGUMENT');
}
