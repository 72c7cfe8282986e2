/**
 * POSIX-shell quoting of an argv for DISPLAY ONLY, so a user can copy a failed job's
 * command line into a terminal to reproduce it. aloft itself never runs shell strings.
 */

const SAFE = /^[A-Za-z0-9_\-.,:/=@%+^]+$/;

export function shellQuote(arg: string): string {
  if (arg === '') return "''";
  if (SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
