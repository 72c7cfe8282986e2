/**
 * Heartbeats: every interval a tiny Heartbeat (agent id, seq, running attempt keys, slots
 * in use, free disk) on `subjects.heartbeat(id)`. The scheduler judges leases from their
 * arrival on its own clock. While NATS is down nothing is published (a heartbeat buffered
 * for minutes says nothing about liveness now, and would only fill the reconnect buffer);
 * the loop itself keeps going, so heartbeats resume with the link. `seq` grows by one per
 * heartbeat sent. Ticks never overlap: the next one is scheduled when the last is done.
 */
import type { Logger } from '../../lib/logging/index.js';
import type { Transport } from '../../lib/transport/index.js';
import { subjects, type AttemptKey } from '../../proto/index.js';
import type { Heartbeat } from '../../proto/codec/index.js';
import type { DiskFacts } from './probe.js';

export interface HeartbeaterOptions {
  agent: string;
  transport: Transport;
  intervalMs: number;
  running: () => AttemptKey[];
  /** Free disk of the work dir, read each tick. */
  disk: (signal?: AbortSignal) => Promise<DiskFacts>;
  /** False while the link is down (default: always connected). */
  connected?: () => boolean;
  /** Called after every tick with the disk just read (re-advertise checks). */
  onTick?: (disk: DiskFacts) => void;
  logger: Logger;
}

export interface Heartbeater {
  start(): void;
  /** Stops the loop; resolves when a tick in progress has finished. */
  stop(): Promise<void>;
  /** Heartbeats sent so far. */
  sent(): number;
}

export function createHeartbeater(o: HeartbeaterOptions): Heartbeater {
  const logger = o.logger.child({ component: 'heartbeat' });
  const abort = new AbortController();
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  let lastDisk: DiskFacts = { freeMb: 0, totalMb: 0 };

  async function tick(): Promise<void> {
    try {
      lastDisk = await o.disk(abort.signal);
    } catch (e) {
      if (abort.signal.aborted) return;
      logger.warn({ err: e }, 'disk probe failed; heartbeat carries the last value');
    }
    if (abort.signal.aborted) return;
    const running = o.running();
    const hb: Heartbeat = {
      agent: o.agent,
      seq: seq + 1,
      running,
      slotsInUse: running.length,
      diskFreeMb: lastDisk.freeMb,
    };
    if (o.connected && !o.connected()) {
      logger.debug({ seq: hb.seq }, 'heartbeat skipped: not connected');
    } else {
      try {
        o.transport.publish(subjects.heartbeat(o.agent), hb);
        seq = hb.seq;
      } catch (e) {
        logger.debug({ err: e, seq: hb.seq }, 'heartbeat not sent');
      }
    }
    o.onTick?.(lastDisk);
  }

  function schedule(): void {
    if (abort.signal.aborted) return;
    timer = setTimeout(() => {
      ticking = tick()
        .catch((e: unknown) => logger.error({ err: e }, 'heartbeat tick failed'))
        .finally(schedule);
    }, o.intervalMs);
  }

  return {
    start() {
      if (timer !== undefined || abort.signal.aborted) return;
      ticking = tick()
        .catch((e: unknown) => logger.error({ err: e }, 'heartbeat tick failed'))
        .finally(schedule);
    },
    async stop() {
      abort.abort();
      clearTimeout(timer);
      await ticking;
    },
    sent: () => seq,
  };
}
