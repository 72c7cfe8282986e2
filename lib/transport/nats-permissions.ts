/**
 * NATS subject permissions for aloft users (DESIGN §8): an agent may publish only its own
 * scheduler-bound subjects and replies to requests it received, and subscribe only to its
 * own agent subjects and its own inbox; the scheduler talks to every agent. The shapes
 * mirror `proto/subjects.ts` (agent → `aloft.sched.<kind>.<agent>`, scheduler →
 * `aloft.agent.<agent>.<kind>`); a test proves the two agree against a real server, and
 * `deploy/nats/` renders the same blocks for production.
 */
import { AloftError } from '../errors/index.js';

export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
  /** Lets the user publish a reply to a request it received (and nothing else there). */
  allow_responses: boolean;
}

const AGENT_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The inbox prefix an agent must connect with (`inboxPrefix` of the NATS transport). */
export function agentInboxPrefix(agentId: string): string {
  checkAgentId(agentId);
  return `_INBOX.agent-${agentId}`;
}

/** The scheduler's inbox prefix (its offers are requests; agents reply there). */
export const SCHEDULER_INBOX_PREFIX = '_INBOX.sched';

export function agentPermissions(agentId: string): NatsPermissions {
  checkAgentId(agentId);
  return {
    publish: { allow: [`aloft.sched.*.${agentId}`] },
    subscribe: { allow: [`aloft.agent.${agentId}.>`, `${agentInboxPrefix(agentId)}.>`] },
    allow_responses: true,
  };
}

export function schedulerPermissions(): NatsPermissions {
  return {
    publish: { allow: ['aloft.agent.>', 'aloft.sched.>'] },
    subscribe: { allow: ['aloft.sched.>', `${SCHEDULER_INBOX_PREFIX}.>`] },
    allow_responses: true,
  };
}

function checkAgentId(agentId: string): void {
  if (!AGENT_ID.test(agentId)) {
    throw AloftError.invalid({
      where: `agent id '${agentId}'`,
      message: 'not a valid agent id for NATS permissions',
      hint: 'use 1-128 characters from [A-Za-z0-9_-]',
    });
  }
}
