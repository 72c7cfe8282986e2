import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readWorkflow } from '../../services/formats/index.js';
import { defaultPlanOptions, plan } from '../../services/planner/index.js';
import { AloftError } from '../../lib/errors/index.js';
import { emptyInvocationRecord, type InvocationRecord } from '../attempt.js';
import type { AttemptResultMsg, Offer } from '../agent-protocol.js';
import type { PlannedJob } from '../plan.js';
import { subjects } from '../subjects.js';
import { aloft } from '../generated/aloft.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  createProtobufCodec,
  decodeAgentAd,
  decodeAnalyzeReply,
  decodeAttemptResult,
  decodeAttemptStarted,
  decodeHeartbeat,
  decodeKill,
  decodeListAgentsReply,
  decodeListAgentsRequest,
  decodeOffer,
  decodeOfferReply,
  decodeResultAck,
  decodeSubmitReply,
  decodeSubmitRequest,
  decodeWorkflowRef,
  decodeWorkflowStatus,
  encodeAgentAd,
  encodeAnalyzeReply,
  encodeAttemptResult,
  encodeAttemptStarted,
  encodeHeartbeat,
  encodeKill,
  encodeListAgentsReply,
  encodeListAgentsRequest,
  encodeOffer,
  encodeOfferReply,
  encodeResultAck,
  encodeSubmitReply,
  encodeSubmitRequest,
  encodeWorkflowRef,
  encodeWorkflowStatus,
  messageTypeForSubject,
  type AnalyzeReply,
  type ListAgentsReply,
  type SubmitRequest,
  type WireAgentAd,
  type WorkflowStatus,
} from './index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const key = { job: 'preprocess_1', attempt: 2, epoch: 7 };

const fullRecord: InvocationRecord = {
  job: 'preprocess_1',
  attempt: 2,
  agent: 'edge-1',
  site: 'radar',
  host: 'node7',
  user: 'alice',
  executor: 'process',
  argv: ['/bin/echo', 'a b', ''],
  cwd: '/scratch/x',
  start: '2025-01-01T00:00:00.000Z',
  durationMs: 12.5,
  exitCode: -1,
  signal: 'SIGKILL',
  utimeMs: 3.25,
  stimeMs: 0,
  maxRssKb: 2 ** 40,
  stdoutTail: 'out ✓',
  stderrTail: '',
  stdoutBytes: Number.MAX_SAFE_INTEGER,
  stderrBytes: 0,
  files: [
    { lfn: 'a.txt', link: 'input', size: 3, sha256: 'ab'.repeat(32) },
    { lfn: 'b.txt', link: 'output', size: 0 },
  ],
  transfers: [
    {
      lfn: 'a.txt',
      src: 'file:///a',
      dst: 'file:///b',
      bytes: 3,
      durationMs: 1,
      failedSources: [],
    },
    {
      lfn: 'c',
      src: 's3://x/c',
      dst: 'file:///c',
      bytes: 9,
      sha256: 'cd',
      durationMs: 0.5,
      failedSources: ['http://dead/c'],
    },
    { lfn: 'd', src: 's', dst: 'd', bytes: 0, durationMs: 0 },
  ],
};

const minimalRecord = emptyInvocationRecord({
  job: '',
  attempt: 0,
  agent: '',
  site: '',
  host: '',
  user: '',
  executor: '',
  argv: [],
  cwd: '',
  start: '',
});

const fullJob: PlannedJob = {
  id: 'cluster_1',
  kind: 'cluster',
  site: 'hpc',
  parents: ['a', 'b'],
  covers: ['x', 'y'],
  priority: -3.5,
  retries: 3,
  resources: { cores: 2, memoryMb: 1536.5, diskMb: 10, runtimeSec: 60, gpus: 1 },
  category: 'big',
  executable: {
    namespace: 'ns',
    name: 'tool',
    version: '1.0',
    pfn: '/usr/bin/tool',
    type: 'installed',
    container: { name: 'c', type: 'docker', image: 'busybox:local', mounts: [] },
  },
  args: [],
  env: {},
  inputs: [
    { lfn: 'in1', url: 'file:///in1', size: 10, checksum: { type: 'sha256', value: 'ff' } },
    { lfn: 'in2', url: 'file:///in2' },
  ],
  outputs: [
    { lfn: 'o', url: 'file:///o', optional: false },
    { lfn: 'p', url: 'file:///p', optional: true },
  ],
  stdin: 'in1',
  stdout: 'stdout.txt',
  stderr: '',
  profiles: { env: { A: '1' }, pegasus: {} },
  members: [
    {
      id: 'x',
      kind: 'compute',
      site: 'hpc',
      parents: [],
      covers: ['x'],
      priority: 0,
      retries: 0,
      resources: { cores: 1, memoryMb: 0, diskMb: 0, runtimeSec: 0, gpus: 0 },
      args: ['-v'],
      env: { K: 'V' },
    },
  ],
  transfers: [
    {
      lfn: 'in1',
      sources: [
        { url: 'http://a/in1', site: 'a' },
        { url: 'file:///in1', site: 'local' },
      ],
      dest: { url: 'file:///s/in1', site: 'hpc' },
      size: 10,
      checksum: { type: 'sha256', value: 'aa' },
    },
    { lfn: 'z', sources: [], dest: { url: 'u', site: 's' } },
  ],
  registrations: [{ lfn: 'o', pfn: 'file:///o', site: 'local' }],
  deletes: [],
  storeAccess: [
    {
      url: 's3://bucket/run/',
      site: 'cloud',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      pathStyle: true,
    },
    { url: 's3://user@edge/b/p/', site: 'edge', pathStyle: false },
    { url: 's3://c/', site: 'c' },
  ],
};

const minimalJob: PlannedJob = {
  id: 'j',
  kind: 'compute',
  site: '',
  parents: [],
  covers: [],
  priority: 0,
  retries: 0,
  resources: { cores: 0, memoryMb: 0, diskMb: 0, runtimeSec: 0, gpus: 0 },
};

function expectInvalid(f: () => unknown, ...fragments: string[]): AloftError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AloftError);
    const err = e as AloftError;
    expect(err.code).toBe('INVALID_ARGUMENT');
    const text = `${err.message}\n${err.problems.map((p) => `${p.where}: ${p.message}`).join('\n')}`;
    for (const frag of fragments) expect(text).toContain(frag);
    return err;
  }
  throw new Error('expected an AloftError INVALID_ARGUMENT');
}

async function radarPlanJobs(): Promise<PlannedJob[]> {
  const loaded = await readWorkflow(path.join(REPO, 'examples/radar/workflow.yml'));
  return plan(loaded, defaultPlanOptions({ storeRoot: 'file:///tmp/aloft-store/' })).jobs;
}

describe('agent protocol round trips', () => {
  it('Offer with a full and a minimal PlannedJob', () => {
    for (const job of [fullJob, minimalJob]) {
      const offer: Offer = { key, runId: 'run-1', job };
      const back = decodeOffer(encodeOffer(offer));
      expect(back).toStrictEqual(offer);
    }
  });

  it('Offer of every job the real planner makes for the radar example', async () => {
    const jobs = await radarPlanJobs();
    expect(jobs.length).toBeGreaterThan(5);
    const kinds = new Set(jobs.map((j) => j.kind));
    expect(kinds.has('compute')).toBe(true);
    expect(kinds.has('stage_in') || kinds.has('stage_out')).toBe(true);
    for (const [i, job] of jobs.entries()) {
      const offer: Offer = { key: { job: job.id, attempt: 1, epoch: i }, runId: 'r', job };
      // The plan is JSON-serialisable plain data: compare against its JSON form so that an
      // undefined-valued key in the planner's objects does not count as a difference.
      const plain = JSON.parse(JSON.stringify(offer)) as Offer;
      expect(decodeOffer(encodeOffer(offer))).toStrictEqual(plain);
    }
  });

  it('AttemptResult ok, failed with every failure field, and minimal', () => {
    const results: AttemptResultMsg[] = [
      { key, agent: 'edge-1', outcome: { ok: true, record: fullRecord } },
      {
        key,
        agent: 'edge-1',
        outcome: {
          ok: false,
          record: fullRecord,
          failure: { kind: 'data', message: 'missing', missingFiles: [], code: 'ENOENT' },
        },
      },
      {
        key: { job: '', attempt: 0, epoch: 0 },
        agent: '',
        outcome: { ok: false, record: minimalRecord, failure: { kind: 'cancelled', message: '' } },
      },
      { key, agent: 'a', outcome: { ok: true, record: { ...minimalRecord, exitCode: 0 } } },
    ];
    for (const r of results) expect(decodeAttemptResult(encodeAttemptResult(r))).toStrictEqual(r);
    for (const kind of ['application', 'infrastructure', 'data', 'timeout', 'cancelled'] as const) {
      const r: AttemptResultMsg = {
        key,
        agent: 'a',
        outcome: { ok: false, record: minimalRecord, failure: { kind, message: kind } },
      };
      expect(decodeAttemptResult(encodeAttemptResult(r))).toStrictEqual(r);
    }
  });

  it('AgentAd with and without the optional hardware fields', () => {
    const base: WireAgentAd = {
      agent: 'edge-1',
      site: 'radar',
      sites: [],
      host: 'h',
      slots: 4,
      cores: 2,
      memoryMb: 512.5,
      diskFreeMb: 100,
      executors: ['process', 'docker'],
      labels: {},
    };
    const full: WireAgentAd = {
      ...base,
      sites: ['a', 'b'],
      labels: { zone: 'eu', gpu: '' },
      gpus: 0,
      arch: 'x64',
      os: 'linux',
      cacheBytes: 2 ** 45,
      state: 'draining',
    };
    expect(decodeAgentAd(encodeAgentAd(base))).toStrictEqual(base);
    expect(decodeAgentAd(encodeAgentAd(full))).toStrictEqual(full);
    const ready: WireAgentAd = { ...base, state: 'ready' };
    expect(decodeAgentAd(encodeAgentAd(ready))).toStrictEqual(ready);
  });

  it('Heartbeat, OfferReply, AttemptStarted, ResultAck, Kill', () => {
    const hb = {
      agent: 'a',
      seq: 2 ** 40,
      running: [key, { job: 'k', attempt: 1, epoch: 0 }],
      slotsInUse: 2,
      diskFreeMb: 1.5,
    };
    expect(decodeHeartbeat(encodeHeartbeat(hb))).toStrictEqual(hb);
    const hb0 = { agent: 'a', seq: 0, running: [], slotsInUse: 0, diskFreeMb: 0 };
    expect(decodeHeartbeat(encodeHeartbeat(hb0))).toStrictEqual(hb0);
    // A heartbeat is tiny.
    expect(
      encodeHeartbeat({
        agent: 'edge-1',
        seq: 1234,
        running: [key],
        slotsInUse: 1,
        diskFreeMb: 1000,
      }).length,
    ).toBeLessThan(64);
    for (const r of [
      { accepted: true } as const,
      { accepted: false, reason: 'disk full' } as const,
      { accepted: false, reason: '' } as const,
    ]) {
      expect(decodeOfferReply(encodeOfferReply(r))).toStrictEqual(r);
    }
    const started = { key, agent: 'a', site: 's', host: 'h' };
    expect(decodeAttemptStarted(encodeAttemptStarted(started))).toStrictEqual(started);
    const progress = {
      ...started,
      progress: { filesDone: 3, filesTotal: 10, bytesDone: 2 ** 40, bytesTotal: 2 ** 41 },
    };
    expect(decodeAttemptStarted(encodeAttemptStarted(progress))).toStrictEqual(progress);
    expect(decodeResultAck(encodeResultAck({ key }))).toStrictEqual({ key });
    expect(decodeKill(encodeKill({ key, reason: 'lease lost' }))).toStrictEqual({
      key,
      reason: 'lease lost',
    });
  });
});

describe('control API round trips', () => {
  it('SubmitRequest with YAML text and every option, and with a path only', () => {
    const full: SubmitRequest = {
      workflow: { yaml: 'pegasus: 5.0\n' },
      name: 'wf',
      catalogs: [
        { kind: 'sites', yaml: 'x' },
        { kind: 'replicas', path: '/r.yml' },
      ],
      outputDir: '/out',
      options: {
        sites: [],
        outputSite: 'local',
        cleanup: 'leaf',
        cluster: ['horizontal', 'label'],
        reuse: false,
        force: true,
        siteSelector: 'round-robin',
        seed: -5,
        defaultRetries: 2,
      },
    };
    const min: SubmitRequest = { workflow: { path: 'w.yml' }, catalogs: [], options: {} };
    expect(decodeSubmitRequest(encodeSubmitRequest(full))).toStrictEqual(full);
    expect(decodeSubmitRequest(encodeSubmitRequest(min))).toStrictEqual(min);
    expect(decodeSubmitReply(encodeSubmitReply({ workflowId: 'w-1' }))).toStrictEqual({
      workflowId: 'w-1',
    });
    expect(decodeWorkflowRef(encodeWorkflowRef({ workflowId: 'w' }))).toStrictEqual({
      workflowId: 'w',
    });
    expectInvalid(() => decodeSubmitRequest(new Uint8Array(0)), 'SubmitRequest', 'workflow');
  });

  it('WorkflowStatus in every state', () => {
    for (const state of ['running', 'succeeded', 'failed', 'halted', 'removed'] as const) {
      const s: WorkflowStatus = {
        workflowId: 'w',
        name: 'radar',
        state,
        total: 21,
        counts: { unready: 1, ready: 2, running: 3, retrying: 4, done: 5, failed: 6 },
        updatedAt: '2025-01-01T00:00:00Z',
        ...(state === 'failed' ? { detail: 'job x failed' } : {}),
        ...(state === 'running'
          ? {
              transfers: [
                {
                  job: 'stage_in_edge_0',
                  attempt: 2,
                  filesDone: 3,
                  filesTotal: 10,
                  bytesDone: 5_000_000_000,
                  bytesTotal: 9_000_000_000,
                },
              ],
            }
          : {}),
      };
      expect(decodeWorkflowStatus(encodeWorkflowStatus(s))).toStrictEqual(s);
    }
  });

  it('AnalyzeReply full and minimal', () => {
    const full: AnalyzeReply = {
      workflowId: 'w',
      name: 'n',
      state: 'failed',
      detail: 'd',
      summary: { total: 5, succeeded: 1, failed: 1, unsubmitted: 1, running: 1, retrying: 1 },
      failedJobs: [
        {
          job: 'j',
          kind: 'compute',
          transformation: 'ns::t:1',
          state: 'failed',
          site: 's',
          agent: 'a',
          host: 'h',
          attempts: 3,
          failedAttempts: 3,
          attempt: 3,
          exitCode: 2,
          signal: null,
          executor: 'process',
          argv: ['/bin/false'],
          command: '/bin/false',
          cwd: '/w',
          start: 'iso',
          durationMs: 5.5,
          maxRssMb: 1.25,
          stderrTail: 'err',
          stdoutTail: '',
          missingFiles: ['o'],
          failure: { kind: 'application', message: 'exit 2', missingFiles: ['o'] },
          cause: 'c',
          nextStep: 'n',
          history: [
            {
              attempt: 1,
              agent: 'a',
              exitCode: 2,
              signal: null,
              kind: 'application',
              message: 'm',
            },
            { attempt: 2, exitCode: null, signal: 'SIGKILL', kind: 'infrastructure', message: '' },
          ],
        },
        {
          job: 'k',
          kind: 'unknown',
          transformation: '',
          state: 'retrying',
          attempts: 0,
          failedAttempts: 0,
          exitCode: null,
          signal: null,
          argv: [],
          command: '',
          stderrTail: '',
          stdoutTail: '',
          missingFiles: [],
          failure: { kind: 'timeout', message: '' },
          cause: '',
          nextStep: '',
          history: [],
        },
      ],
      idleJobs: [
        {
          job: 'i',
          summary: 'no agent serves site hpc',
          requirements: [{ requirement: 'site ∈ {hpc}', matching: 0 }],
        },
      ],
      lostAttempts: [{ key, agent: 'a', site: 's', lostAt: 'iso', reason: 'lease' }],
      blocked: { count: 1, first: ['b'] },
      retriedThenSucceeded: { count: 0, first: [] },
      attemptFailures: { application: 3, cancelled: 1 },
      detailJson: '{"x":1}',
    };
    const min: AnalyzeReply = {
      workflowId: '',
      name: '',
      state: 'running',
      summary: { total: 0, succeeded: 0, failed: 0, unsubmitted: 0, running: 0, retrying: 0 },
      failedJobs: [],
      idleJobs: [],
      lostAttempts: [],
      blocked: { count: 0, first: [] },
      retriedThenSucceeded: { count: 0, first: [] },
      attemptFailures: {},
    };
    expect(decodeAnalyzeReply(encodeAnalyzeReply(full))).toStrictEqual(full);
    expect(decodeAnalyzeReply(encodeAnalyzeReply(min))).toStrictEqual(min);
  });

  it('ListAgents request and reply', () => {
    expect(decodeListAgentsRequest(encodeListAgentsRequest({}))).toStrictEqual({});
    expect(decodeListAgentsRequest(encodeListAgentsRequest({ site: 's' }))).toStrictEqual({
      site: 's',
    });
    const reply: ListAgentsReply = {
      agents: [
        {
          ad: {
            agent: 'a',
            site: 's',
            sites: [],
            host: 'h',
            slots: 1,
            cores: 1,
            memoryMb: 1,
            diskFreeMb: 1,
            executors: [],
            labels: { k: 'v' },
            arch: 'arm64',
            prefetch: 2,
          },
          state: 'quarantined',
          slotsInUse: 1,
          queued: 2,
          heartbeatAgeMs: 1500.5,
          running: [key],
        },
      ],
    };
    expect(decodeListAgentsReply(encodeListAgentsReply(reply))).toStrictEqual(reply);
    expect(decodeListAgentsReply(encodeListAgentsReply({ agents: [] }))).toStrictEqual({
      agents: [],
    });
  });
});

describe('untrusted bytes and unrepresentable values', () => {
  it('malformed bytes become INVALID_ARGUMENT naming the type', () => {
    const good = encodeOffer({ key, runId: 'r', job: fullJob });
    expectInvalid(
      () => decodeOffer(good.subarray(0, good.length - 3)),
      'aloft.v1.Offer',
      'malformed',
    );
    expectInvalid(
      () => decodeOffer(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
      'aloft.v1.Offer',
    );
    expectInvalid(
      () => decodeAttemptResult(new Uint8Array([0x0a, 0x05, 0x01])),
      'aloft.v1.AttemptResult',
    );
    expectInvalid(() => decodeKill('not bytes' as unknown as Uint8Array), 'aloft.v1.Kill');
  });

  it('well-formed bytes missing what the TS type requires are refused', () => {
    expectInvalid(() => decodeOffer(new Uint8Array(0)), 'aloft.v1.Offer: key', 'missing');
    expectInvalid(() => decodeResultAck(new Uint8Array(0)), 'aloft.v1.ResultAck: key');
    // kind 0 (unspecified) and an unknown enum number
    const job = encodeOffer({ key, runId: 'r', job: minimalJob });
    const mutated = Buffer.from(job);
    const at = mutated.indexOf(Buffer.from([0x10, 0x01])); // PlannedJob.kind = 1
    mutated[at + 1] = 0x63;
    expectInvalid(() => decodeOffer(mutated), 'job.kind', 'unknown planned job kind 99');
    // a failed outcome must carry its failure; an ok one must not
    const v1 = aloft.v1;
    const failedNoFailure = v1.AttemptResult.encode({
      key,
      agent: 'a',
      outcome: { ok: false, record: {} },
    }).finish();
    expectInvalid(
      () => decodeAttemptResult(failedNoFailure),
      'outcome.failure',
      'missing on a failed outcome',
    );
    const okWithFailure = v1.AttemptResult.encode({
      key,
      agent: 'a',
      outcome: { ok: true, record: {}, failure: { kind: 1 } },
    }).finish();
    expectInvalid(() => decodeAttemptResult(okWithFailure), 'present on an ok outcome');
    const noRecord = v1.AttemptResult.encode({ key, agent: 'a', outcome: { ok: true } }).finish();
    expectInvalid(() => decodeAttemptResult(noRecord), 'outcome.record', 'missing');
    // every problem of one message is reported at once
    const twoBad = v1.Offer.encode({
      runId: 'r',
      job: { kind: 42 as aloft.v1.PlannedJobKind },
    }).finish();
    const err = expectInvalid(() => decodeOffer(twoBad), 'key', 'job.kind', 'job.resources');
    expect(err.problems.length).toBe(3);
  });

  it('int64 beyond 2^53 is refused on decode; bad integers are refused on encode', () => {
    // ResultAck{key{epoch = 2^60}} built by hand: 0a 0b | 18 varint(2^60)
    const varint = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
    const keyBytes = [0x18, ...varint];
    const bytes = new Uint8Array([0x0a, keyBytes.length, ...keyBytes]);
    expectInvalid(() => decodeResultAck(bytes), 'key.epoch', 'safe range');
    expectInvalid(
      () => encodeResultAck({ key: { job: 'j', attempt: 1.5, epoch: 0 } }),
      'key.attempt',
    );
    expectInvalid(() => encodeResultAck({ key: { job: 'j', attempt: 1, epoch: -1 } }), 'key.epoch');
    expectInvalid(
      () => encodeOffer({ key, runId: 'r', job: { ...minimalJob, kind: 'bogus' as never } }),
      'job.kind',
      "unknown planned job kind 'bogus'",
    );
    expectInvalid(() => encodeHeartbeat({ agent: 'a' } as never), 'aloft.v1.Heartbeat', 'shape');
  });

  it('oversize payloads are refused before parsing', () => {
    const big = encodeAttemptResult({
      key,
      agent: 'a',
      outcome: { ok: true, record: { ...minimalRecord, stdoutTail: 'x'.repeat(5000) } },
    });
    expect(decodeAttemptResult(big).outcome.record.stdoutTail).toHaveLength(5000);
    try {
      decodeAttemptResult(big, { maxBytes: 4096 });
      throw new Error('expected a refusal');
    } catch (e) {
      expect(e).toBeInstanceOf(AloftError);
      expect((e as AloftError).code).toBe('RESOURCE_EXHAUSTED');
      expect((e as AloftError).retryable).toBe(false);
      expect((e as AloftError).message).toContain('aloft.v1.AttemptResult');
      expect((e as AloftError).message).toContain('4096');
    }
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBeGreaterThan(1024 * 1024);
    const codec = createProtobufCodec({ maxPayload: 100 });
    const bytes = codec.encode(subjects.attemptResult('a'), {
      key,
      agent: 'a',
      outcome: { ok: true, record: fullRecord },
    });
    expect(() => codec.decode(subjects.attemptResult('a'), bytes)).toThrow(
      /exceeds the limit of 100 bytes/,
    );
  });
});

describe('subject codec', () => {
  const codec = createProtobufCodec();

  it('maps every protocol subject to its message type', () => {
    expect(messageTypeForSubject(subjects.offer('a-1'))).toBe('aloft.v1.Offer');
    expect(messageTypeForSubject(subjects.ack('a-1'))).toBe('aloft.v1.ResultAck');
    expect(messageTypeForSubject(subjects.kill('a-1'))).toBe('aloft.v1.Kill');
    expect(messageTypeForSubject(subjects.advertise('a-1'))).toBe('aloft.v1.AdvertiseRequest');
    expect(messageTypeForSubject(subjects.attemptStarted('a-1'))).toBe('aloft.v1.AttemptStarted');
    expect(messageTypeForSubject(subjects.attemptResult('a-1'))).toBe('aloft.v1.AttemptResult');
    expect(messageTypeForSubject(subjects.ad('a-1'))).toBe('aloft.v1.AgentAd');
    expect(messageTypeForSubject(subjects.heartbeat('a-1'))).toBe('aloft.v1.Heartbeat');
    expect(messageTypeForSubject(`${subjects.offer('a-1')}.reply`)).toBe('aloft.v1.OfferReply');
    expect(messageTypeForSubject('_INBOX.agent-a.x')).toBeUndefined();
    expectInvalid(
      () => messageTypeForSubject('aloft.sched.bogus.a'),
      "subject 'aloft.sched.bogus.a'",
      'no aloft.v1 message type',
    );
  });

  it('round-trips every protocol message through its subject', () => {
    const cases: [string, unknown][] = [
      [subjects.offer('a'), { key, runId: 'r', job: fullJob }],
      [subjects.ack('a'), { key }],
      [subjects.kill('a'), { key, reason: 'orphan' }],
      [subjects.advertise('a'), { reason: 'the scheduler has no ad for this agent' }],
      [subjects.attemptStarted('a'), { key, agent: 'a', site: 's', host: 'h' }],
      [subjects.attemptResult('a'), { key, agent: 'a', outcome: { ok: true, record: fullRecord } }],
      [
        subjects.ad('a'),
        {
          agent: 'a',
          site: 's',
          sites: [],
          host: 'h',
          slots: 1,
          cores: 1,
          memoryMb: 1,
          diskFreeMb: 1,
          executors: ['process'],
          labels: {},
        },
      ],
      [
        subjects.heartbeat('a'),
        { agent: 'a', seq: 1, running: [key], slotsInUse: 1, diskFreeMb: 5 },
      ],
      [`${subjects.offer('a')}.reply`, { accepted: true }],
      [`${subjects.offer('a')}.reply`, { accepted: false, reason: 'does not fit' }],
      ['test.json.reply', undefined],
      ['_INBOX.agent-a.123', { accepted: true }],
      ['_INBOX.agent-a.123', { accepted: false, reason: 'busy' }],
      ['test.json', { hello: ['world', 1, null] }],
      ['test.json', 'plain string'],
      ['test.json', null],
    ];
    for (const [subject, data] of cases) {
      expect(codec.decode(subject, codec.encode(subject, data))).toStrictEqual(data);
    }
  });

  it('refuses a body of the wrong type for the subject', () => {
    const ack = codec.encode(subjects.ack('a'), { key });
    expectInvalid(
      () => codec.decode(subjects.kill('a'), ack),
      'aloft.v1.ResultAck',
      'expected aloft.v1.Kill',
    );
    const reply = codec.encode('_INBOX.x', { accepted: true });
    expectInvalid(() => codec.decode(subjects.offer('a'), reply), 'expected aloft.v1.Offer');
    const protocolOnInbox = codec.encode(subjects.kill('a'), { key, reason: '' });
    expectInvalid(() => codec.decode('_INBOX.x', protocolOnInbox), 'aloft.v1.Kill');
    expectInvalid(
      () => codec.decode(subjects.kill('a'), new Uint8Array(0)),
      'empty aloft.v1.Envelope',
    );
    expectInvalid(
      () => codec.decode(subjects.kill('a'), new Uint8Array([0x0a, 0x20, 1])),
      'aloft.v1.Envelope',
      'malformed',
    );
    expectInvalid(() => codec.encode(subjects.kill('a'), null), 'not an object');
    expectInvalid(() => codec.encode('aloft.nope', { a: 1 }), 'no aloft.v1 message type');
  });

  it('refuses a message naming another agent than its subject (forged result)', () => {
    const result = { key, agent: 'B', outcome: { ok: true, record: minimalRecord } };
    expectInvalid(
      () => codec.encode(subjects.attemptResult('A'), result),
      "names agent 'B'",
      "'A'",
    );
    // Bytes produced for B, replayed on A's subject, are refused on decode too.
    const bytes = codec.encode(subjects.attemptResult('B'), result);
    expectInvalid(() => codec.decode(subjects.attemptResult('A'), bytes), "names agent 'B'");
    const hb = codec.encode(subjects.heartbeat('B'), {
      agent: 'B',
      seq: 1,
      running: [],
      slotsInUse: 0,
      diskFreeMb: 0,
    });
    expectInvalid(() => codec.decode(subjects.heartbeat('A'), hb), "names agent 'B'");
  });
});
