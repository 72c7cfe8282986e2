/**
 * Message headers (DESIGN §7: trace context travels in headers). Both transports validate
 * them the same way, so a header that NATS would reject fails in embedded mode too.
 */
import { AloftError, type Problem } from '../errors/index.js';

/** RFC 7230 token: what NATS (and HTTP) accept as a header name. */
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** One line of printable text (no CR/LF, which would split the header block). */
const VALUE = /^[^\r\n]*$/;

/** Throws INVALID_ARGUMENT listing every bad header of `headers` (sent on `subject`). */
export function checkHeaders(subject: string, headers: Record<string, string>): void {
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (!NAME.test(name)) {
      problems.push({
        where: `header '${name}' on ${subject}`,
        message: 'not a valid header name',
        hint: 'use letters, digits and -_.!#$%&*+^`|~ only',
      });
    } else if (typeof value !== 'string' || !VALUE.test(value)) {
      problems.push({
        where: `header '${name}' on ${subject}`,
        message: 'header value must be a single line of text',
      });
    }
  }
  if (problems.length > 0) throw AloftError.invalid(problems);
}
