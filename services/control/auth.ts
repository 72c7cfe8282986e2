/**
 * Token auth of the control API: every call carries `authorization: Bearer <token>`. The
 * comparison is constant-time (both sides hashed to equal length first, so neither the
 * content nor the length of the expected token leaks through timing). Tokens are never
 * logged or echoed back.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export interface TokenCheck {
  /** undefined = authorized, else the message for UNAUTHENTICATED. */
  (metadata: Metadata): string | undefined;
}

/** A checker for `token`, or one that admits every call when no token is configured. */
export function tokenCheck(token: string | undefined): TokenCheck {
  if (token === undefined) return () => undefined;
  const expected = digest(token);
  return (metadata) => {
    const values = metadata.get('authorization');
    if (values.length === 0) {
      return 'this scheduler requires a token: send "authorization: Bearer <token>" (aloft: --token or ALOFT_TOKEN)';
    }
    const v = values[0];
    const text = typeof v === 'string' ? v : (v?.toString('utf8') ?? '');
    const m = /^Bearer[ ]+(.+)$/i.exec(text.trim());
    if (!m) return 'the authorization header must be "Bearer <token>"';
    if (!timingSafeEqual(digest(m[1]!), expected))
      return 'the token is not valid for this scheduler';
    return undefined;
  };
}
