/**
 * Per-agent NATS permissions (DESIGN §8) proven against a real nats-server configured the
 * way deploy/nats/ configures production: agent A can do its own work (answer offers,
 * publish its results) but cannot subscribe to agent B's subjects or inbox, nor forge B's
 * results — the server rejects each with a permissions violation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { subjects } from '../proto/index.js';
import {
  agentInboxPrefix,
  agentPermissions,
  createNatsTransport,
  SCHEDULER_INBOX_PREFIX,
  schedulerPermissions,
  type NatsStatus,
  type NatsTransport,
} from '../lib/transport/index.js';
import { REPO } from './helpers/cli.js';
import { natsServerAvailable, startNatsServer, type NatsServer } from './helpers/nats-server.js';

const dec = new TextDecoder();

function violations(t: NatsTransport): Extract<NatsStatus, { type: 'permission' }>[] {
  const out: Extract<NatsStatus, { type: 'permission' }>[] = [];
  t.onStatus((s) => {
    if (s.type === 'permission') out.push(s);
  });
  return out;
}

describe.skipIf(!natsServerAvailable)('per-agent NATS permissions', () => {
  let server: NatsServer;
  let sched: NatsTransport;
  let agentA: NatsTransport;
  let agentB: NatsTransport;
  const keyA = nkeys.createUser();
  const keyB = nkeys.createUser();

  beforeAll(async () => {
    server = await startNatsServer({
      users: [{ user: 'scheduler', password: 'sched-pw', permissions: schedulerPermissions() }],
      nkeys: [
        { nkey: keyA.getPublicKey(), permissions: agentPermissions('A') },
        { nkey: keyB.getPublicKey(), permissions: agentPermissions('B') },
      ],
    });
    sched = await createNatsTransport({
      servers: server.url,
      name: 'scheduler',
      user: 'scheduler',
      pass: 'sched-pw',
      inboxPrefix: SCHEDULER_INBOX_PREFIX,
    });
    const agent = (id: string, seed: Uint8Array) =>
      createNatsTransport({
        servers: server.url,
        name: `agent-${id}`,
        nkeySeed: dec.decode(seed),
        inboxPrefix: agentInboxPrefix(id),
      });
    agentA = await agent('A', keyA.getSeed());
    agentB = await agent('B', keyB.getSeed());
  });
  afterAll(async () => {
    for (const t of [agentA, agentB, sched]) await t?.close();
    await server?.dispose();
  });

  it('each agent does its own work: answers offers, publishes its results and ads', async () => {
    const results: { subject: string; data: unknown }[] = [];
    sched.subscribe(subjects.allResults, (m) => results.push({ subject: m.subject, data: m.data }));
    sched.subscribe(subjects.allAds, (m) => results.push({ subject: m.subject, data: m.data }));
    await sched.flush();
    for (const [id, t] of [
      ['A', agentA],
      ['B', agentB],
    ] as const) {
      t.subscribe(subjects.offer(id), (m) => m.reply?.({ accepted: true, by: id }));
      await t.flush();
      expect(await sched.request(subjects.offer(id), { job: 'j1' }, { timeoutMs: 5000 })).toEqual({
        accepted: true,
        by: id,
      });
      t.publish(subjects.attemptResult(id), { from: id });
      t.publish(subjects.ad(id), { ad: id });
      await t.flush();
    }
    await sched.flush();
    expect(results).toEqual([
      { subject: 'aloft.sched.result.A', data: { from: 'A' } },
      { subject: 'aloft.sched.ad.A', data: { ad: 'A' } },
      { subject: 'aloft.sched.result.B', data: { from: 'B' } },
      { subject: 'aloft.sched.ad.B', data: { ad: 'B' } },
    ]);
  });

  it("agent A cannot subscribe to B's subjects, B's inbox, or the scheduler's subjects", async () => {
    const seen = violations(agentA);
    const leaked: string[] = [];
    agentA.subscribe(subjects.offer('B'), (m) => leaked.push(m.subject));
    agentA.subscribe('aloft.agent.B.>', (m) => leaked.push(m.subject));
    agentA.subscribe(`${agentInboxPrefix('B')}.>`, (m) => leaked.push(m.subject));
    agentA.subscribe('aloft.sched.>', (m) => leaked.push(m.subject));
    await agentA.flush();
    await agentA.flush();
    expect(seen.map((s) => `${s.operation} ${s.subject}`).sort()).toEqual(
      [
        'subscription aloft.agent.B.offer',
        'subscription aloft.agent.B.>',
        'subscription _INBOX.agent-B.>',
        'subscription aloft.sched.>',
      ].sort(),
    );

    // B's traffic flows on: an offer to B and B's reply to it reach nobody else.
    agentB.subscribe(subjects.kill('B'), () => undefined);
    await agentB.flush();
    sched.publish(subjects.kill('B'), { reason: 'test' });
    expect(await sched.request(subjects.offer('B'), { job: 'j2' }, { timeoutMs: 5000 })).toEqual({
      accepted: true,
      by: 'B',
    });
    agentB.publish(subjects.attemptResult('B'), { from: 'B', secret: 'b-only' });
    await agentB.flush();
    await agentA.flush();
    expect(leaked).toEqual([]);
  });

  it("agent A cannot forge B's results: the publish is rejected and never delivered", async () => {
    const seen = violations(agentA);
    const results: unknown[] = [];
    sched.subscribe(subjects.attemptResult('B'), (m) => results.push(m.data));
    await sched.flush();
    agentA.publish(subjects.attemptResult('B'), { forged: true });
    agentA.publish(subjects.attemptStarted('B'), { forged: true });
    agentA.publish(subjects.kill('B'), { forged: true });
    await agentA.flush();
    await sched.flush();
    expect(results).toEqual([]);
    expect(seen.map((s) => `${s.operation} ${s.subject}`)).toEqual([
      'publish aloft.sched.result.B',
      'publish aloft.sched.started.B',
      'publish aloft.agent.B.kill',
    ]);
    // A's own connection survives the violations.
    expect(agentA.isConnected()).toBe(true);
  });

  it('the production example in deploy/nats/ grants agents exactly these permissions', async () => {
    const conf = await readFile(path.join(REPO, 'deploy', 'nats', 'nats-server.conf'), 'utf8');
    const flat = conf.replace(/\s+/g, ' ');
    for (const id of ['radar-1', 'hpc-anvil-1']) {
      const p = agentPermissions(id);
      const block =
        `publish: { allow: [${p.publish.allow.map((s) => `"${s}"`).join(', ')}] }, ` +
        `subscribe: { allow: [${p.subscribe.allow.map((s) => `"${s}"`).join(', ')}] }, ` +
        `allow_responses: true`;
      expect(flat).toContain(block);
    }
    const s = schedulerPermissions();
    expect(flat).toContain(
      `publish: { allow: [${s.publish.allow.map((x) => `"${x}"`).join(', ')}] }, ` +
        `subscribe: { allow: [${s.subscribe.allow.map((x) => `"${x}"`).join(', ')}] }, ` +
        `allow_responses: true`,
    );
  });
});
