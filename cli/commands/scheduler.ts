/**
 * `aloft scheduler --nats URL --data DIR --listen HOST:PORT [...]`: the scheduler service
 * (many workflows, agent leases) over NATS, with the gRPC control API in front of it.
 * Config from a file (`--config`), ALOFT_SCHEDULER_* variables and flags, in that order of
 * precedence; every bad key of every source is reported at once. SIGTERM/SIGINT: stop the
 * control API, let go of every workflow (they continue on the next start with the same
 * --data), close the NATS connection, exit 0.
 */
import path from 'node:path';
import { describeSchema, flagOptions } from '../../lib/config/index.js';
import { FAULTS_ENV, armFaults } from '../../lib/faults/index.js';
import { createLogger } from '../../lib/logging/index.js';
import {
  SCHEDULER_INBOX_PREFIX,
  createNatsTransport,
  type NatsTransportOptions,
} from '../../lib/transport/index.js';
import { createProtobufCodec } from '../../proto/codec/index.js';
import {
  SCHEDULER_ENV_PREFIX,
  createControlServer,
  guardsOf,
  leasesOf,
  loadSchedulerConfig,
  schedulerSchema,
  type SchedulerConfig,
  type WorkflowLoader,
} from '../../services/control/index.js';
import { readConfigFile } from '../config-file.js';
import { registerStores } from '../stores.js';
import { createScheduler } from '../../services/scheduler/index.js';
import { parseFlags, positionals, str } from '../args.js';
import { EXIT_OK, type Command } from '../command.js';
import { loadWorkflowForCli } from '../load-workflow.js';

function natsOptions(c: SchedulerConfig, signal: AbortSignal): NatsTransportOptions {
  const o: NatsTransportOptions = {
    servers: c.nats,
    name: 'aloft-scheduler',
    inboxPrefix: SCHEDULER_INBOX_PREFIX,
    codec: createProtobufCodec(),
    waitOnFirstConnect: true,
    signal,
  };
  if (c.natsUser !== undefined) o.user = c.natsUser;
  if (c.natsPassword !== undefined) o.pass = c.natsPassword;
  if (c.natsToken !== undefined) o.token = c.natsToken;
  if (c.natsTlsCa !== undefined || c.natsTlsCert !== undefined) {
    o.tls = {};
    if (c.natsTlsCa !== undefined) o.tls.caFile = c.natsTlsCa;
    if (c.natsTlsCert !== undefined) o.tls.certFile = c.natsTlsCert;
    if (c.natsTlsKey !== undefined) o.tls.keyFile = c.natsTlsKey;
  }
  return o;
}

export const schedulerCommand: Command = {
  name: 'scheduler',
  summary: 'run the scheduler: workflows, agent leases, and the gRPC control API',
  usage: `usage: aloft scheduler --nats URL --data DIR --listen HOST:PORT [--config FILE] [flags]

Keeps every submitted workflow under DIR/runs/<id> and places its jobs on the agents
heard over NATS; clients (aloft submit, status, halt, resume, remove, agents, analyze)
talk to it over gRPC at --listen. On start it resumes every workflow of DIR that has not
ended. Prints "scheduler listening on HOST:PORT" to stderr when serving; logs are pino
JSON on stderr. SIGTERM/SIGINT: stop serving and exit 0 (workflows continue on restart).

Every setting comes from (later wins): the config FILE (YAML, keys as below), the
environment (${SCHEDULER_ENV_PREFIX}<KEY>), flags. Settings (key, flag, variable):
${describeSchema(schedulerSchema(), SCHEDULER_ENV_PREFIX).join('\n')}

  --config FILE   the YAML config file

With --token, every client call must carry it (aloft: --token / ALOFT_TOKEN). With
--tls-cert/--tls-key the API is TLS; adding --tls-ca requires client certificates (mTLS).
Submitted workflow and catalog paths are read on this host.

ALOFT_FAULTS=name[@N],... (fault tests only) kills this process with SIGKILL at the N-th
hit of each named fault point (lib/faults); a malformed value is a bad config.

Exit status: 0 after a clean stop, 2 for a bad config (every problem listed).
`,
  async run(argv, ctx) {
    const parsed = parseFlags('scheduler', argv, {
      ...flagOptions(schedulerSchema()),
      config: { type: 'string' },
    });
    positionals('scheduler', parsed, []);
    const file = await readConfigFile(str(parsed, 'config'), ctx);
    const { config: _config, ...flags } = parsed.values;
    const config = loadSchedulerConfig({
      ...(file ? { file } : {}),
      env: ctx.env,
      flags,
      cwd: ctx.cwd,
    });
    // Fault points (tests' crash windows): a malformed ALOFT_FAULTS is a config error.
    const faults = armFaults(ctx.env[FAULTS_ENV]);
    const logger = createLogger({ level: config.logLevel });
    if (faults.length > 0) logger.warn({ faults }, 'fault points armed: this process will crash');
    // Reuse evidence (stat of earlier outputs) may read s3:// stores.
    registerStores({ env: ctx.env, logger });

    // The CLI's signal cancels the connect only: the transport must outlive SIGTERM until
    // the scheduler has stopped.
    const connecting = new AbortController();
    const cancel = (): void => connecting.abort();
    ctx.signal.addEventListener('abort', cancel, { once: true });
    let transport;
    try {
      transport = await createNatsTransport({ ...natsOptions(config, connecting.signal), logger });
    } finally {
      ctx.signal.removeEventListener('abort', cancel);
    }

    const scheduler = createScheduler({
      dataDir: config.dataDir,
      transport,
      leases: leasesOf(config),
      ...guardsOf(config),
      logger,
    });
    const loadWorkflow: WorkflowLoader = (f, catalogs, signal) =>
      loadWorkflowForCli(f, catalogs, { cwd: path.dirname(f), env: ctx.env, signal });
    const control = createControlServer({
      scheduler,
      dataDir: config.dataDir,
      loadWorkflow,
      logger,
      ...(config.token !== undefined ? { token: config.token } : {}),
      ...(config.tlsCert !== undefined && config.tlsKey !== undefined
        ? {
            tls: {
              certFile: config.tlsCert,
              keyFile: config.tlsKey,
              ...(config.tlsCa !== undefined ? { caFile: config.tlsCa } : {}),
            },
          }
        : {}),
    });
    try {
      const resumed = await scheduler.start(ctx.signal);
      if (resumed.length > 0) logger.info({ workflows: resumed }, 'resumed workflows');
      const bound = await control.listen(config.listen, ctx.signal);
      ctx.stderr.write(`scheduler listening on ${bound}\n`);
      if (!ctx.signal.aborted) {
        await new Promise<void>((r) =>
          ctx.signal.addEventListener('abort', () => r(), { once: true }),
        );
      }
    } finally {
      await control.stop().catch(() => undefined);
      await scheduler.stop().catch(() => undefined);
      await transport.close().catch(() => undefined);
    }
    return EXIT_OK;
  },
};
