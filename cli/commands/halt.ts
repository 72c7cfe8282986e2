/** `aloft halt ID`: the scheduler finishes the workflow's running jobs and starts no more. */
import { parseFlags, positionals } from '../args.js';
import { EXIT_OK, type Command } from '../command.js';
import {
  CONTROL_FLAGS,
  CONTROL_FLAGS_USAGE,
  renderWorkflowStatus,
  withControlClient,
} from '../control-client.js';

export const haltCommand: Command = {
  name: 'halt',
  summary: 'halt a workflow on the scheduler: running jobs finish, no new ones start',
  usage: `usage: aloft halt ID [--scheduler HOST:PORT] [--token T] [--tls-ca FILE]

Running jobs finish; no new job starts until 'aloft resume ID'. Prints the status.

${CONTROL_FLAGS_USAGE}
Exit status: 0 halted; 2 unknown workflow, unreachable scheduler or bad token.
`,
  async run(argv, ctx) {
    const parsed = parseFlags('halt', argv, CONTROL_FLAGS);
    const [id] = positionals('halt', parsed, ['ID']);
    const s = await withControlClient('halt', parsed, ctx, (c) => c.halt(id!, ctx.signal));
    ctx.stdout.write(renderWorkflowStatus(s));
    return EXIT_OK;
  },
};
