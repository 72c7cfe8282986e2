/**
 * `aloft agents [--site S] [--json]`: the agents the scheduler knows, one row each, and the
 * mass-loss hold when rescheduling is held. The operator's actions on agents go through
 * the same command: `--drain ID` / `--undrain ID` (DrainAgent) and `--release-hold`
 * (ReleaseHold).
 */
import { AloftError, type Problem } from '../../lib/errors/index.js';
import type { AgentStatus, HoldStatus, ListAgentsReply } from '../../proto/codec/index.js';
import { formatMb } from '../../services/broker/index.js';
import { formatTable } from '../../services/status/index.js';
import { bool, parseFlags, positionals, str, type Parsed } from '../args.js';
import { EXIT_OK, type Command, type CommandContext } from '../command.js';
import {
  CONTROL_FLAGS,
  CONTROL_FLAGS_USAGE,
  withControlClient,
  type ControlClient,
} from '../control-client.js';

function age(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/** The line `aloft agents` prints while the mass-loss guard holds rescheduling. */
export function holdLine(h: HoldStatus): string {
  const n = h.agents.length;
  return (
    `rescheduling held: ${n} agent${n === 1 ? '' : 's'} lost at once` +
    `${n > 0 ? ` (${h.agents.join(', ')})` : ''}; release with \`aloft agents --release-hold\`\n` +
    `  ${h.message}\n`
  );
}

function table(reply: ListAgentsReply): string {
  const rows = reply.agents.map((a) => [
    a.ad.agent,
    [a.ad.site, ...a.ad.sites].join(','),
    a.ad.host,
    String(a.ad.cores),
    `${a.ad.memoryMb} MB`,
    formatMb(a.ad.diskFreeMb),
    // Slots in use of slots, then the queue when the agent has one: "2/2 +1q".
    `${a.slotsInUse}/${a.ad.slots}${a.ad.prefetch ? ` +${a.queued}q` : ''}`,
    age(a.heartbeatAgeMs),
    a.state,
  ]);
  return (
    formatTable(
      [
        { title: 'AGENT' },
        { title: 'SITES' },
        { title: 'HOST' },
        { title: 'CORES', right: true },
        { title: 'MEMORY', right: true },
        { title: 'DISK', right: true },
        { title: 'SLOTS', right: true },
        { title: 'HEARTBEAT', right: true },
        { title: 'STATE' },
      ],
      rows,
    ) + '\n'
  );
}

function drained(a: AgentStatus, undo: boolean): string {
  if (undo) return `agent ${a.ad.agent}: ${a.state}; it takes new work again\n`;
  const n = a.running.length;
  const finish =
    n === 0
      ? ''
      : n === 1
        ? ', its running attempt finishes'
        : `, its ${n} running attempts finish`;
  return `agent ${a.ad.agent}: ${a.state}; no new work is offered to it${finish}\n`;
}

/** The one action the flags ask for (undefined: list). */
function actionOf(
  parsed: Parsed,
): ((c: ControlClient, ctx: CommandContext) => Promise<void>) | undefined {
  const drain = str(parsed, 'drain');
  const undrain = str(parsed, 'undrain');
  const release = bool(parsed, 'release-hold');
  const json = bool(parsed, 'json');
  const given = [drain !== undefined, undrain !== undefined, release].filter(Boolean).length;
  const problems: Problem[] = [];
  if (given > 1) {
    problems.push({
      where: 'aloft agents',
      message: '--drain, --undrain and --release-hold go one at a time',
      hint: 'run one command per action',
    });
  }
  if (given > 0 && str(parsed, 'site') !== undefined) {
    problems.push({ where: 'aloft agents --site', message: 'only filters the listing' });
  }
  for (const [flag, v] of [
    ['drain', drain],
    ['undrain', undrain],
  ] as const) {
    if (v !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(v)) {
      problems.push({
        where: `aloft agents --${flag}`,
        message: `'${v}' is not an agent id`,
        hint: 'use an id from the AGENT column of `aloft agents`',
      });
    }
  }
  if (problems.length > 0) throw AloftError.invalid(problems);
  const agent = drain ?? undrain;
  if (agent !== undefined) {
    const undo = undrain !== undefined;
    return async (c, ctx) => {
      const a = await c.drainAgent(undo ? { agent, undo } : { agent }, ctx.signal);
      ctx.stdout.write(json ? JSON.stringify(a) + '\n' : drained(a, undo));
    };
  }
  if (release) {
    return async (c, ctx) => {
      const r = await c.releaseHold(ctx.signal);
      if (json) ctx.stdout.write(JSON.stringify(r) + '\n');
      else if (!r.released || !r.hold) ctx.stdout.write('nothing is held\n');
      else {
        const n = r.hold.agents.length;
        ctx.stdout.write(
          `hold released: the attempts of ${n} lost agent${n === 1 ? '' : 's'}` +
            `${n > 0 ? ` (${r.hold.agents.join(', ')})` : ''} are rescheduled\n`,
        );
      }
    };
  }
  return undefined;
}

export const agentsCommand: Command = {
  name: 'agents',
  summary: "list the scheduler's agents (site, resources, slots, heartbeat, state); drain one",
  usage: `usage: aloft agents [--site S] [--json] [--scheduler HOST:PORT] [flags]
       aloft agents --drain ID | --undrain ID | --release-hold [--json]

Every agent the scheduler has heard from: its id, site (and further sites it serves),
host, cores, memory, free disk, slots in use of its slots, the age of its latest
heartbeat, and its state (ready, draining, quarantined, lost). While most agents were lost
at once, the scheduler holds back rescheduling their attempts (the network or NATS is the
likelier cause): a line under the table says so.

  --site S         only agents serving site S
  --json           one JSON object as the control API returns it: {"agents": [...]} with
                   each agent's whole ad (labels, executors, disk, arch, os, gpus), and
                   "hold" while rescheduling is held
  --drain ID       offer agent ID no new work; its running attempts finish
  --undrain ID     let a drained agent take work again
  --release-hold   reschedule the attempts of the lost agents now (the operator decides
                   they are really gone)

${CONTROL_FLAGS_USAGE}
Exit status: 0; 2 unknown agent, unreachable scheduler or bad token.
`,
  async run(argv, ctx) {
    const parsed = parseFlags('agents', argv, {
      ...CONTROL_FLAGS,
      site: { type: 'string' },
      json: { type: 'boolean' },
      drain: { type: 'string' },
      undrain: { type: 'string' },
      'release-hold': { type: 'boolean' },
    });
    positionals('agents', parsed, []);
    const action = actionOf(parsed);
    if (action) {
      await withControlClient('agents', parsed, ctx, (c) => action(c, ctx));
      return EXIT_OK;
    }
    const site = str(parsed, 'site');
    const reply = await withControlClient('agents', parsed, ctx, (c) =>
      c.listAgents(site !== undefined ? { site } : {}, ctx.signal),
    );
    if (bool(parsed, 'json')) {
      ctx.stdout.write(JSON.stringify(reply) + '\n');
      return EXIT_OK;
    }
    ctx.stdout.write(reply.agents.length === 0 ? 'no agents\n' : table(reply));
    if (reply.hold) ctx.stdout.write(holdLine(reply.hold));
    return EXIT_OK;
  },
};
