/**
 * The CLI application: dispatch to a command, render errors with the exit-code contract.
 * cli/ is the composition root: the only place that may import both services/ and agents/.
 */
import { AloftError, formatProblems, isAloftError } from '../lib/errors/index.js';
import { commands } from './commands/index.js';
import { EXIT_INTERNAL, EXIT_INVALID, type CommandContext } from './command.js';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: aloft <command> [flags]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'aloft <command> --help' for a command's flags.",
  ].join('\n');
}

export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? ctx.stderr : ctx.stdout).write(usage() + '\n');
    return name === undefined ? EXIT_INVALID : 0;
  }
  if (name === '--version') {
    ctx.stdout.write('aloft 0.1.0\n');
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  try {
    if (!command) {
      throw AloftError.invalid({
        where: 'aloft',
        message: `unknown command '${name}'`,
        hint: `one of: ${commands.map((c) => c.name).join(', ')}`,
      });
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      ctx.stdout.write(command.usage.trimEnd() + '\n');
      return 0;
    }
    return await command.run(rest, ctx);
  } catch (e) {
    return report(e, ctx);
  }
}

/** Render an error for a human: invalid input is exit 2 with every problem listed. */
export function report(e: unknown, ctx: CommandContext): number {
  if (isAloftError(e) && e.code === 'INVALID_ARGUMENT') {
    const body = e.problems.length > 0 ? formatProblems(e.problems) : e.message;
    const head = e.problems.length > 1 ? `error: ${e.message}\n` : 'error: ';
    ctx.stderr.write(head + body + '\n');
    return EXIT_INVALID;
  }
  if (isAloftError(e) && (e.code === 'NOT_FOUND' || e.code === 'FAILED_PRECONDITION')) {
    ctx.stderr.write(`error: ${e.message}\n`);
    return EXIT_INVALID;
  }
  if (isAloftError(e) && e.code === 'CANCELLED') {
    ctx.stderr.write('interrupted\n');
    return 130;
  }
  const msg = e instanceof Error ? e.message : String(e);
  ctx.stderr.write(`internal error: ${msg}\n`);
  if (process.env['ALOFT_DEBUG'] && e instanceof Error && e.stack) ctx.stderr.write(e.stack + '\n');
  else ctx.stderr.write('(set ALOFT_DEBUG=1 for details; this is a bug, please report it)\n');
  return EXIT_INTERNAL;
}
