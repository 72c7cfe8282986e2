/** `aloft agents [--site S] [--json]`: the agents the scheduler knows, one row each. */
import { formatTable } from '../../services/status/index.js';
import { bool, parseFlags, positionals, str } from '../args.js';
import { EXIT_OK, type Command } from '../command.js';
import { CONTROL_FLAGS, CONTROL_FLAGS_USAGE, withControlClient } from '../control-client.js';

function age(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

export const agentsCommand: Command = {
  name: 'agents',
  summary: "list the scheduler's agents: site, resources, slots in use, heartbeat, state",
  usage: `usage: aloft agents [--site S] [--json] [--scheduler HOST:PORT] [flags]

Every agent the scheduler has heard from: its id, site (and further sites it serves),
host, cores, memory, slots in use of its slots, the age of its latest heartbeat, and its
state (ready, draining, quarantined, lost).

  --site S   only agents serving site S
  --json     one JSON object: {"agents": [...]} as the control API returns it

${CONTROL_FLAGS_USAGE}
Exit status: 0; 2 unreachable scheduler or bad token.
`,
  async run(argv, ctx) {
    const parsed = parseFlags('agents', argv, {
      ...CONTROL_FLAGS,
      site: { type: 'string' },
      json: { type: 'boolean' },
    });
    positionals('agents', parsed, []);
    const site = str(parsed, 'site');
    const reply = await withControlClient('agents', parsed, ctx, (c) =>
      c.listAgents(site !== undefined ? { site } : {}, ctx.signal),
    );
    if (bool(parsed, 'json')) {
      ctx.stdout.write(JSON.stringify(reply) + '\n');
      return EXIT_OK;
    }
    if (reply.agents.length === 0) {
      ctx.stdout.write('no agents\n');
      return EXIT_OK;
    }
    const rows = reply.agents.map((a) => [
      a.ad.agent,
      [a.ad.site, ...a.ad.sites].join(','),
      a.ad.host,
      String(a.ad.cores),
      `${a.ad.memoryMb} MB`,
      `${a.slotsInUse}/${a.ad.slots}`,
      age(a.heartbeatAgeMs),
      a.state,
    ]);
    ctx.stdout.write(
      formatTable(
        [
          { title: 'AGENT' },
          { title: 'SITES' },
          { title: 'HOST' },
          { title: 'CORES', right: true },
          { title: 'MEMORY', right: true },
          { title: 'SLOTS', right: true },
          { title: 'HEARTBEAT', right: true },
          { title: 'STATE' },
        ],
        rows,
      ) + '\n',
    );
    return EXIT_OK;
  },
};
