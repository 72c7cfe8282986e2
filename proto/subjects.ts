/**
 * Subject names, built in one place. Every id that enters a subject is validated here, so
 * no caller can smuggle a wildcard (`*`, `>`) or separator (`.`) into a subject.
 */
import { AloftError } from '../lib/errors/index.js';

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export function subjectToken(kind: string, value: string): string {
  if (!TOKEN.test(value)) {
    throw AloftError.invalid({
      where: `${kind} '${value}'`,
      message: `not a valid ${kind} for a subject`,
      hint: 'use 1-128 characters from [A-Za-z0-9_-]',
    });
  }
  return value;
}

export const subjects = {
  /** Scheduler -> one agent: attempt offers (request/reply). */
  offer: (agent: string) => `aloft.agent.${subjectToken('agent id', agent)}.offer`,
  /** Scheduler -> one agent: acknowledgements of results. */
  ack: (agent: string) => `aloft.agent.${subjectToken('agent id', agent)}.ack`,
  /** Scheduler -> one agent: send your ad now. */
  advertise: (agent: string) => `aloft.agent.${subjectToken('agent id', agent)}.advertise`,
  /** Scheduler -> one agent: kill an attempt. */
  kill: (agent: string) => `aloft.agent.${subjectToken('agent id', agent)}.kill`,
  /** Agent -> scheduler: an attempt started running. */
  attemptStarted: (agent: string) => `aloft.sched.started.${subjectToken('agent id', agent)}`,
  /** Agent -> scheduler: an attempt's result. */
  attemptResult: (agent: string) => `aloft.sched.result.${subjectToken('agent id', agent)}`,
  /** Agent -> scheduler: the agent's ad. */
  ad: (agent: string) => `aloft.sched.ad.${subjectToken('agent id', agent)}`,
  /** Agent -> scheduler: the agent's heartbeat. */
  heartbeat: (agent: string) => `aloft.sched.heartbeat.${subjectToken('agent id', agent)}`,
  /** Wildcards the scheduler subscribes to. */
  allStarted: 'aloft.sched.started.*',
  allResults: 'aloft.sched.result.*',
  allAds: 'aloft.sched.ad.*',
  allHeartbeats: 'aloft.sched.heartbeat.*',
} as const;
