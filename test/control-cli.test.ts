/**
 * `aloft scheduler` + `aloft agent` + the control CLI as real processes: a real nats-server
 * on loopback, the scheduler with its gRPC control API, three agents on two sites, and the
 * client commands (submit, status, agents, analyze, halt, resume, remove) spawned from
 * dist/ (build first). Every process a test starts is stopped by pid afterwards.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, aloft } from './helpers/cli.js';
import {
  daemon,
  type Daemon,
  startAgentDaemon,
  startSchedulerDaemon,
  waitForAgents,
} from './helpers/daemon.js';
import {
  generateTlsMaterial,
  natsServerAvailable,
  opensslAvailable,
  startNatsServer,
  type NatsServer,
  type TlsMaterial,
} from './helpers/nats-server.js';

const TOKEN = 'control-test-token-1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!natsServerAvailable || !existsSync(BIN))('aloft scheduler + control CLI', () => {
  let nats: NatsServer;
  let tmp: string;
  let sched: Daemon;
  let addr: string;
  const agents: Daemon[] = [];

  /** A client command against the test scheduler. */
  const client = (args: string[], token = TOKEN, cwd?: string) =>
    aloft([...args, '--scheduler', addr, '--token', token], {
      env: { ALOFT_SCHEDULER: '', ALOFT_TOKEN: '' },
      ...(cwd ? { cwd } : {}),
    });

  beforeAll(async () => {
    nats = await startNatsServer();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-control-'));
    const s = await startSchedulerDaemon({
      natsUrl: nats.url,
      dataDir: path.join(tmp, 'data'),
      token: TOKEN,
      flags: ['--lease', '3s', '--site-lease', 'edge=6s'],
    });
    sched = s.daemon;
    addr = s.address;
    const agent = (id: string, site: string, more: string[] = []) =>
      startAgentDaemon({
        natsUrl: nats.url,
        id,
        site,
        workDir: path.join(tmp, 'agents', id),
        flags: ['--slots', '2', ...more],
      });
    agents.push(
      ...(await Promise.all([
        agent('local-1', 'local'),
        agent('local-2', 'local'),
        agent('edge-1', 'edge', ['--sites', 'local']),
      ])),
    );
    // Every agent advertised before the first submit.
    await waitForAgents(client, 3, 20_000);
  }, 90_000);

  afterAll(async () => {
    for (const a of agents) expect(await a.stop()).toBe(0);
    if (sched) expect(await sched.stop()).toBe(0);
    await nats?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 90_000);

  /** A workflow of /bin/sleep (or `exe`) jobs; `chain` makes each depend on the previous. */
  async function workflow(
    name: string,
    n: number,
    args: string[],
    o: { exe?: string; chain?: boolean } = {},
  ): Promise<string> {
    const jobs = Array.from(
      { length: n },
      (_, i) =>
        `  - type: job\n    name: t\n    id: ${name}${i}\n    arguments: ${JSON.stringify(args)}\n    uses: []\n`,
    ).join('');
    const deps = o.chain
      ? Array.from(
          { length: n - 1 },
          (_, i) => `  - id: ${name}${i}\n    children: [${name}${i + 1}]\n`,
        ).join('')
      : '';
    const yaml =
      `pegasus: "5.0.4"\nname: ${name}\n` +
      `transformationCatalog:\n  transformations:\n    - name: t\n      sites:\n        - name: local\n          pfn: ${o.exe ?? '/bin/sleep'}\n          type: installed\n` +
      `jobs:\n${jobs}jobDependencies:${deps === '' ? ' []\n' : `\n${deps}`}`;
    const file = path.join(tmp, `${name}.yml`);
    await writeFile(file, yaml);
    return file;
  }

  it('submit --wait runs radar on the agents to the outputs `aloft run` produces', async () => {
    const out = path.join(tmp, 'radar-out');
    const r = await client([
      'submit',
      path.join(REPO, 'examples', 'radar', 'workflow.yml'),
      '--output-dir',
      out,
      '--wait',
    ]);
    expect(r.stderr).toContain('succeeded');
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^radar-\d+$/);

    const embedded = await mkdtemp(path.join(tmp, 'embedded-'));
    const run = await aloft(
      [
        'run',
        path.join(REPO, 'examples', 'radar', 'workflow.yml'),
        '--output-dir',
        path.join(embedded, 'out'),
      ],
      { cwd: embedded },
    );
    expect(run.code).toBe(0);
    for (const f of ['alerts.txt', 'accumulation.csv']) {
      expect(await readFile(path.join(out, f), 'utf8')).toBe(
        await readFile(path.join(embedded, 'out', f), 'utf8'),
      );
    }

    const st = await client(['status', id, '--json']);
    expect(st.code).toBe(0);
    const status = JSON.parse(st.stdout) as {
      state: string;
      total: number;
      counts: Record<string, number>;
    };
    expect(status.state).toBe('succeeded');
    expect(status.total).toBeGreaterThan(0);
    expect(status.counts['done']).toBe(status.total);
    expect(status.counts['failed']).toBe(0);

    const text = await client(['status', id]);
    expect(text.stdout).toContain(`workflow ${id} (radar): succeeded`);
  }, 120_000);

  it('agents lists every agent with site, slots, heartbeat age and state', async () => {
    const r = await client(['agents', '--json']);
    expect(r.code).toBe(0);
    const reply = JSON.parse(r.stdout) as {
      agents: {
        ad: { agent: string; site: string; sites: string[]; slots: number };
        state: string;
        slotsInUse: number;
        heartbeatAgeMs: number;
      }[];
    };
    const byId = new Map(reply.agents.map((a) => [a.ad.agent, a]));
    expect([...byId.keys()].sort()).toEqual(['edge-1', 'local-1', 'local-2']);
    expect(byId.get('edge-1')!.ad.site).toBe('edge');
    expect(byId.get('edge-1')!.ad.sites).toEqual(['local']);
    for (const a of reply.agents) {
      expect(a.state).toBe('ready');
      expect(a.ad.slots).toBe(2);
      expect(a.heartbeatAgeMs).toBeGreaterThanOrEqual(0);
    }
    const edge = await client(['agents', '--site', 'edge', '--json']);
    expect((JSON.parse(edge.stdout) as { agents: unknown[] }).agents).toHaveLength(1);
    const table = await client(['agents']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^AGENT\s+SITES\s+HOST/);
    expect(table.stdout).toMatch(/edge-1\s+edge,local\s/);
  }, 60_000);

  it('a failing workflow: submit --wait exits 1 and analyze names the job', async () => {
    const file = await workflow('broken', 1, [], { exe: '/bin/false' });
    const r = await client([
      'submit',
      file,
      '--output-dir',
      path.join(tmp, 'broken-out'),
      '--wait',
    ]);
    expect(r.code).toBe(1);
    const id = r.stdout.trim();
    const st = await client(['status', id, '--json']);
    expect(st.code).toBe(1);
    expect(JSON.parse(st.stdout)).toMatchObject({ state: 'failed', counts: { failed: 1 } });
    const an = await client(['analyze', id]);
    expect(an.code).toBe(1);
    expect(an.stdout).toContain('broken0');
    const json = await client(['analyze', id, '--json']);
    const reply = JSON.parse(json.stdout) as {
      state: string;
      failedJobs: { job: string; exitCode: number | null; argv: string[] }[];
    };
    expect(reply.state).toBe('failed');
    expect(reply.failedJobs.map((f) => f.job)).toEqual(['broken0']);
    expect(reply.failedJobs[0]!.exitCode).toBe(1);
  }, 60_000);

  it('halt stops new jobs starting; resume finishes the workflow; remove ends another', async () => {
    const file = await workflow('naps', 3, ['1'], { chain: true });
    const sub = await client(['submit', file, '--output-dir', path.join(tmp, 'naps-out')]);
    expect(sub.code).toBe(0);
    const id = sub.stdout.trim();
    const h = await client(['halt', id]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('halted');
    // Whatever was running finishes; then nothing new starts while halted.
    let status: { state: string; total: number; counts: Record<string, number> };
    for (;;) {
      status = JSON.parse((await client(['status', id, '--json'])).stdout) as typeof status;
      if (status.counts['running'] === 0) break;
      await sleep(100);
    }
    expect(status.state).toBe('halted');
    await sleep(1500);
    const later = JSON.parse((await client(['status', id, '--json'])).stdout) as typeof status;
    expect(later.state).toBe('halted');
    expect(later.counts).toEqual(status.counts);
    expect(later.counts['done']).toBeLessThan(later.total);

    expect((await client(['resume', id])).code).toBe(0);
    const w = await client(['status', id, '--json', '--watch']);
    expect(w.code).toBe(0);
    const last = JSON.parse(w.stdout.trim().split('\n').at(-1)!) as typeof status;
    expect(last.state).toBe('succeeded');
    expect(last.counts['done']).toBe(3);

    const long = await workflow('long', 1, ['30']);
    const id2 = (
      await client(['submit', long, '--output-dir', path.join(tmp, 'long-out')])
    ).stdout.trim();
    for (;;) {
      const s = JSON.parse((await client(['status', id2, '--json'])).stdout) as typeof status;
      if (s.counts['running'] === 1) break;
      await sleep(100);
    }
    const rm = await client(['remove', id2]);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain('removed');
    expect(JSON.parse((await client(['status', id2, '--json'])).stdout)).toMatchObject({
      state: 'removed',
    });
  }, 90_000);

  it('refuses a missing or wrong token, unknown ids and unreachable schedulers (exit 2)', async () => {
    const wrong = await client(['agents'], 'not-the-token');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('token is not valid');
    const none = await aloft(['agents', '--scheduler', addr], {
      env: { ALOFT_SCHEDULER: '', ALOFT_TOKEN: '' },
    });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('requires a token');
    // Address and token from the environment.
    const env = await aloft(['agents', '--json'], {
      env: { ALOFT_SCHEDULER: addr, ALOFT_TOKEN: TOKEN },
    });
    expect(env.code).toBe(0);
    const unknown = await client(['status', 'no-such-001']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no workflow 'no-such-001'");
    const bad = await client(['halt', '../etc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a workflow id');
    const gone = await aloft(['status', 'x-001', '--scheduler', '127.0.0.1:1'], {
      env: { ALOFT_SCHEDULER: '', ALOFT_TOKEN: '' },
    });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('cannot reach scheduler at 127.0.0.1:1');
    const noAddr = await aloft(['agents'], { env: { ALOFT_SCHEDULER: '', ALOFT_TOKEN: '' } });
    expect(noAddr.code).toBe(2);
    expect(noAddr.stderr).toContain('no scheduler given');
  }, 60_000);
});

describe.skipIf(!natsServerAvailable || !opensslAvailable || !existsSync(BIN))(
  'aloft scheduler control API over TLS',
  () => {
    let nats: NatsServer;
    let tmp: string;
    let pki: TlsMaterial;

    beforeAll(async () => {
      // Its own NATS server: two schedulers on one would both act on every heartbeat.
      nats = await startNatsServer();
      tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-control-tls-'));
      pki = await generateTlsMaterial(path.join(tmp, 'pki'), ['cli']);
    }, 60_000);

    afterAll(async () => {
      await nats?.dispose();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    const env = { ALOFT_SCHEDULER: '', ALOFT_TOKEN: '' };

    it('serves TLS to clients that trust its CA, and mTLS only with a client certificate', async () => {
      const base = [
        'scheduler',
        '--nats',
        nats.url,
        '--listen',
        '127.0.0.1:0',
        '--log-level',
        'warn',
      ];
      const tls = ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey];
      const s = await daemon([...base, '--data', path.join(tmp, 'd1'), ...tls], /listening on/);
      try {
        const a = /listening on (\S+)/.exec(s.stderr())![1]!;
        const ok = await aloft(['agents', '--json', '--scheduler', a, '--tls-ca', pki.caFile], {
          env,
        });
        // (grpc-js sets the TLS server name to the IP: Node prints DEP0123, nothing else.)
        expect(ok.stderr).not.toContain('error');
        expect(ok.code).toBe(0);
        expect(JSON.parse(ok.stdout)).toEqual({ agents: [] });
        const plain = await aloft(['agents', '--scheduler', a], { env });
        expect(plain.code).toBe(2);
        expect(plain.stderr).toContain(`cannot reach scheduler at ${a}`);
      } finally {
        expect(await s.stop()).toBe(0);
      }

      const m = await daemon(
        [...base, '--data', path.join(tmp, 'd2'), ...tls, '--tls-ca', pki.caFile],
        /listening on/,
      );
      try {
        const a = /listening on (\S+)/.exec(m.stderr())![1]!;
        const cli = pki.clients['cli']!;
        const ok = await aloft(
          ['agents', '--json', '--scheduler', a, '--tls-ca', pki.caFile,
            '--tls-cert', cli.certFile, '--tls-key', cli.keyFile],
          { env },
        ); // prettier-ignore
        expect(ok.code).toBe(0);
        const noCert = await aloft(['agents', '--scheduler', a, '--tls-ca', pki.caFile], { env });
        expect(noCert.code).toBe(2);
        expect(noCert.stderr).toContain('cannot reach scheduler');
      } finally {
        expect(await m.stop()).toBe(0);
      }
    }, 60_000);

    it('reports every bad config key at once (exit 2)', async () => {
      const r = await aloft(
        ['scheduler', '--nats', 'http://x', '--listen', 'nope', '--lease', '1q',
          '--site-lease', 'edge=soon', '--token', 'xq7', '--tls-cert', pki.serverCert],
        { env },
      ); // prettier-ignore
      expect(r.code).toBe(2);
      for (const s of ['nats', 'listen', 'lease', 'edge', 'token', 'dataDir']) {
        expect(r.stderr).toContain(s);
      }
      expect(r.stderr).not.toContain('xq7'); // the token is secret
    });
  },
);
