/**
 * `aloft agent --nats URL --site NAME --work DIR [...]`: run an agent daemon over NATS
 * until SIGTERM/SIGINT, then drain and exit 0. Config from a file (`--config`, Pegasus-
 * style YAML parsed here: agents/ does not import services/), ALOFT_AGENT_* variables and
 * flags, in that order of precedence; every bad key of every source is reported at once.
 */
import { flagOptions, describeSchema } from '../../lib/config/index.js';
import { createLogger } from '../../lib/logging/index.js';
import {
  AGENT_ENV_PREFIX,
  agentSchema,
  connectAgentTransport,
  createAgentDaemon,
  loadAgentConfig,
} from '../../agents/daemon/index.js';
import { readConfigFile } from '../config-file.js';
import { registerStores } from '../stores.js';
import { parseFlags, positionals, str } from '../args.js';
import { EXIT_OK, type Command } from '../command.js';

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run an agent: advertise, heartbeat and run attempts offered over NATS',
  usage: `usage: aloft agent --nats URL --site NAME --work DIR [--slots N] [--labels k=v,...]
                   [--id ID] [--heartbeat 5s] [--config FILE] [flags]

Runs until SIGTERM/SIGINT, then drains: no new offers, running attempts get
--drain-grace to finish (then they are handed back), exit 0. Prints one line when
serving; logs are pino JSON on stderr.

Every setting comes from (later wins): the config FILE (YAML, keys as below), the
environment (${AGENT_ENV_PREFIX}<KEY>), flags. Settings (key, flag, variable):
${describeSchema(agentSchema(), AGENT_ENV_PREFIX).join('\n')}

  --config FILE   the YAML config file

Exit status: 0 after a clean drain, 2 for a bad config (every problem listed).
`,
  async run(argv, ctx) {
    const parsed = parseFlags('agent', argv, {
      ...flagOptions(agentSchema()),
      config: { type: 'string' },
    });
    positionals('agent', parsed, []);
    const file = await readConfigFile(str(parsed, 'config'), ctx);
    const { config: _config, ...flags } = parsed.values;
    const config = loadAgentConfig({
      ...(file ? { file } : {}),
      env: ctx.env,
      flags,
      cwd: ctx.cwd,
    });
    const logger = createLogger({ level: config.logLevel });
    registerStores({ env: ctx.env, logger });
    const transport = await connectAgentTransport(config, { logger, signal: ctx.signal });
    const daemon = createAgentDaemon({ config, transport, logger });
    try {
      await daemon.start(ctx.signal);
    } catch (e) {
      await transport.close().catch(() => undefined);
      throw e;
    }
    ctx.stderr.write(
      `agent ${config.id} serving site ${config.site} with ${config.slots} slots, connected to ${config.nats.join(',')}\n`,
    );
    if (!ctx.signal.aborted) {
      await new Promise<void>((r) =>
        ctx.signal.addEventListener('abort', () => r(), { once: true }),
      );
    }
    await daemon.stop();
    return EXIT_OK;
  },
};
