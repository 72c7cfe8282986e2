/**
 * bench/dispatch-sim — the simulated agents of bench/dispatch's heartbeat run: their ids,
 * their ad, and their heartbeats: idle ones are what they send (a real scheduler answers a
 * heartbeat naming attempts it never gave out with kills); the busy one is only measured,
 * for the message size the report prints.
 */
import type { Heartbeat } from '../proto/codec/index.js';
import type { AgentAd } from '../proto/index.js';

export const simId = (i: number): string => `sim-${String(i).padStart(5, '0')}`;

/** A heartbeat as a busy agent sends it: two attempts running. */
export function sampleHeartbeat(agent: string, seq: number): Heartbeat {
  return {
    agent,
    seq,
    running: [
      { job: 'j12_345', attempt: 1, epoch: 3 },
      { job: 'j12_346', attempt: 1, epoch: 3 },
    ],
    slotsInUse: 2,
    diskFreeMb: 51_200,
  };
}

/** An idle agent's heartbeat (nothing running). */
export function idleHeartbeat(agent: string, seq: number): Heartbeat {
  return { agent, seq, running: [], slotsInUse: 0, diskFreeMb: 51_200 };
}

export function simAd(agent: string): AgentAd {
  return {
    agent,
    site: 'local',
    sites: [],
    host: `host-${agent}`,
    slots: 2,
    cores: 2,
    memoryMb: 4096,
    diskFreeMb: 51_200,
    executors: ['process'],
    labels: { bench: 'heartbeat' },
    arch: 'x86_64',
    os: 'linux',
  };
}
