/** `aloft remove ID`: the scheduler kills the workflow's running jobs and ends it. */
import { parseFlags, positionals } from '../args.js';
import { EXIT_OK, type Command } from '../command.js';
import {
  CONTROL_FLAGS,
  CONTROL_FLAGS_USAGE,
  renderWorkflowStatus,
  withControlClient,
} from '../control-client.js';

export const removeCommand: Command = {
  name: 'remove',
  summary: 'remove a workflow from the scheduler: kill its running jobs and end it',
  usage: `usage: aloft remove ID [--scheduler HOST:PORT] [--token T] [--tls-ca FILE]

Kills the running jobs and ends the workflow (state removed; its run directory stays
for 'aloft analyze'). Prints the final status.

${CONTROL_FLAGS_USAGE}
Exit status: 0 removed; 2 unknown workflow, unreachable scheduler or bad token.
`,
  async run(argv, ctx) {
    const parsed = parseFlags('remove', argv, CONTROL_FLAGS);
    const [id] = positionals('remove', parsed, ['ID']);
    const s = await withControlClient('remove', parsed, ctx, (c) => c.remove(id!, ctx.signal));
    ctx.stdout.write(renderWorkflowStatus(s));
    return EXIT_OK;
  },
};
