/**
 * The shape of a CLI command. Each command lives in its own file under commands/ and is
 * listed in commands/index.ts. A command returns its exit code; it throws AloftError for
 * invalid input (exit 2) and lets main.ts render it.
 *
 * Exit codes (scripts depend on them): 0 success, 1 the workflow failed,
 * 2 invalid input or usage, 3 internal error (a bug: please report).
 */
import type { Writable } from 'node:stream';

export interface CommandContext {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM; long-running commands stop cleanly when it fires. */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], ctx: CommandContext): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_INVALID = 2;
export const EXIT_INTERNAL = 3;
