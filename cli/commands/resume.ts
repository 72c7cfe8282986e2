/** `aloft resume ID`: the scheduler starts the jobs of a halted workflow again. */
import { parseFlags, positionals } from '../args.js';
import { EXIT_OK, type Command } from '../command.js';
import {
  CONTROL_FLAGS,
  CONTROL_FLAGS_USAGE,
  renderWorkflowStatus,
  withControlClient,
} from '../control-client.js';

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'resume a halted workflow on the scheduler',
  usage: `usage: aloft resume ID [--scheduler HOST:PORT] [--token T] [--tls-ca FILE]

Undoes 'aloft halt ID': ready jobs are placed again. Prints the status.

${CONTROL_FLAGS_USAGE}
Exit status: 0 resumed; 2 unknown workflow, unreachable scheduler or bad token.
`,
  async run(argv, ctx) {
    const parsed = parseFlags('resume', argv, CONTROL_FLAGS);
    const [id] = positionals('resume', parsed, ['ID']);
    const s = await withControlClient('resume', parsed, ctx, (c) => c.resume(id!, ctx.signal));
    ctx.stdout.write(renderWorkflowStatus(s));
    return EXIT_OK;
  },
};
