/**
 * The agent daemon (`aloft agent`): the agent of agents/agent wired to a NATS transport,
 * the system probe, heartbeats and drain.
 *
 * - start: probe the host, start the agent (it publishes its ad), start heartbeats.
 * - every heartbeat: if the work dir's free disk crossed 10 % (either way), or the input
 *   cache's largest entries changed since the last ad (data locality), re-advertise.
 * - on reconnect (`onStatus` 'reconnect'): re-advertise (a scheduler that restarted, or
 *   expired this agent meanwhile, learns it again).
 * - run(signal): when the signal aborts (SIGTERM/SIGINT), drain — offers rejected with
 *   "draining", an ad with state draining, running attempts finish within `drainGrace`,
 *   then are handed back (`cancelled`); unacknowledged results are retransmitted for a
 *   little longer; heartbeats stop; the transport is flushed and closed.
 */
import type { Logger } from '../../lib/logging/index.js';
import type { NatsStatus, NatsTransport, Transport } from '../../lib/transport/index.js';
import { createAgent, type Agent, type AgentExecutors } from '../agent/index.js';
import { parseSizeSpec, summarySignature } from '../cache/index.js';
import { createDockerExecutor } from '../executors/index.js';
import type { AgentConfig } from './config.js';
import { createHeartbeater, type Heartbeater } from './heartbeat.js';
import {
  adFields,
  diskLow,
  probeDisk,
  probeSystem,
  type DiskFacts,
  type SystemFacts,
} from './probe.js';

/** What the daemon needs of its transport (NatsTransport has it all). */

/** A daemon's attempts send AttemptStartedMsg after running this long (agent.ts). */
const STARTED_NOTICE_MS = 1000;
export type DaemonTransport = Transport & Pick<NatsTransport, 'onStatus' | 'isConnected' | 'flush'>;

export interface AgentDaemonOptions {
  config: AgentConfig;
  transport: DaemonTransport;
  logger: Logger;
  executors?: Partial<AgentExecutors>;
  /** Result retransmission period (default the agent's). */
  resultRetryMs?: number;
  /** After drain, how long unacknowledged results are still retransmitted (default 5 s,
   *  never more than the drain grace; what is left stays in the outbox). */
  ackWaitMs?: number;
}

export interface AgentDaemon {
  readonly agent: Agent;
  /** The probed host facts (after start). */
  readonly system: SystemFacts | undefined;
  start(signal?: AbortSignal): Promise<void>;
  /** Drain and close the transport; idempotent. */
  stop(): Promise<void>;
  /** start, wait for the signal, stop. */
  run(signal: AbortSignal): Promise<void>;
}

export function createAgentDaemon(o: AgentDaemonOptions): AgentDaemon {
  const { config, transport } = o;
  const logger = o.logger.child({ component: 'agent-daemon', agent: config.id });
  let system: SystemFacts | undefined;
  let lastDisk: DiskFacts | undefined;
  let advertisedLow: boolean | undefined;
  /** summarySignature of the cache when the last ad was built. */
  let advertisedCache = '';
  const cacheSignature = (): string => (agent.cache ? summarySignature(agent.cache.summary()) : '');
  let heartbeater: Heartbeater | undefined;
  let offStatus: (() => void) | undefined;
  let stopping: Promise<void> | undefined;

  const disk = async (signal?: AbortSignal): Promise<DiskFacts> => {
    lastDisk = await probeDisk(config.workDir, signal);
    return lastDisk;
  };

  const executors: Partial<AgentExecutors> = { ...o.executors };
  if (config.dockerHost !== undefined && !executors.docker) {
    executors.docker = createDockerExecutor({ dockerHost: config.dockerHost });
  }

  const cacheSize = parseSizeSpec(config.cacheSize);
  const agent = createAgent({
    id: config.id,
    site: config.site,
    sites: config.sites,
    transport,
    workDir: config.workDir,
    slots: config.slots,
    prefetch: config.prefetch,
    labels: config.labels,
    logger: o.logger,
    executors,
    ...(o.resultRetryMs !== undefined ? { resultRetryMs: o.resultRetryMs } : {}),
    // Attempts of under a second announce nothing but their result (see startedNoticeMs).
    startedNoticeMs: STARTED_NOTICE_MS,
    cache: {
      ...(config.cacheDir !== undefined ? { dir: config.cacheDir } : {}),
      // Checked by the config loader; a bad value cannot reach here.
      ...(typeof cacheSize !== 'string' ? { size: cacheSize } : {}),
    },
    describe: async (signal) => {
      const d = await disk(signal);
      advertisedLow = diskLow(d);
      advertisedCache = cacheSignature();
      return system ? adFields(system, d, config.gpus) : { diskFreeMb: d.freeMb };
    },
  });

  function advertise(why: string): void {
    logger.info({ why }, 'advertising');
    agent.advertise().catch((e: unknown) => logger.warn({ err: e }, 'advertise failed'));
  }

  function onStatus(s: NatsStatus): void {
    if (s.type === 'reconnect') {
      logger.info({ server: s.server }, 'reconnected to NATS');
      advertise('reconnect');
    } else if (s.type === 'disconnect') {
      logger.warn({ server: s.server }, 'disconnected from NATS; attempts keep running');
    } else if (s.type === 'permission') {
      logger.error({ operation: s.operation, subject: s.subject }, 'NATS permission violation');
    }
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      const grace = config.drainGrace;
      logger.info({ graceMs: grace, running: agent.running().length }, 'draining');
      await agent.drain({
        graceMs: grace,
        ackWaitMs: Math.min(o.ackWaitMs ?? 5000, Math.max(grace, 1000)),
      });
      await heartbeater?.stop();
      offStatus?.();
      const left = agent.unacknowledged();
      if (left > 0) logger.warn({ results: left }, 'results left in the outbox for the next start');
      try {
        await transport.flush(AbortSignal.timeout(2000));
      } catch (e) {
        logger.debug({ err: e }, 'flush before close failed');
      }
      await transport.close();
      logger.info('agent daemon stopped');
    })();
    return stopping;
  }

  return {
    agent,
    get system() {
      return system;
    },

    async start(signal) {
      system = await probeSystem(signal);
      offStatus = transport.onStatus(onStatus);
      await agent.start();
      heartbeater = createHeartbeater({
        agent: config.id,
        transport,
        intervalMs: config.heartbeat,
        running: () => agent.running(),
        disk,
        connected: () => transport.isConnected(),
        onTick: (d) => {
          const low = diskLow(d);
          if (advertisedLow !== undefined && low !== advertisedLow) {
            advertise(low ? 'free disk fell below 10%' : 'free disk back above 10%');
          } else if (cacheSignature() !== advertisedCache) {
            advertise('input cache contents changed');
          }
        },
        logger,
      });
      heartbeater.start();
      logger.info(
        { ...system, slots: config.slots, prefetch: config.prefetch, diskFreeMb: lastDisk?.freeMb },
        'agent daemon started',
      );
    },

    stop,

    async run(signal) {
      await this.start(signal);
      if (!signal.aborted) {
        await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      }
      await stop();
    },
  };
}
