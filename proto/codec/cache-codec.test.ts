/**
 * The input cache on the wire: an ad's cache summary and a stage-in's cache use survive
 * encode/decode exactly, and absent stays absent.
 */
import { describe, expect, it } from 'vitest';
import type { AttemptResultMsg } from '../agent-protocol.js';
import type { InvocationRecord } from '../attempt.js';
import {
  decodeAgentAd,
  decodeAttemptResult,
  encodeAgentAd,
  encodeAttemptResult,
  type WireAgentAd,
} from './index.js';

const ad: WireAgentAd = {
  agent: 'edge-1',
  site: 'radar',
  sites: [],
  host: 'h',
  slots: 4,
  cores: 2,
  memoryMb: 512,
  diskFreeMb: 100,
  executors: ['process'],
  labels: {},
};

const record: InvocationRecord = {
  job: 'j',
  attempt: 1,
  agent: 'edge-1',
  site: 'radar',
  host: 'h',
  user: 'u',
  executor: 'process',
  argv: ['x'],
  cwd: '/s',
  start: '2024-01-01T00:00:00.000Z',
  durationMs: 1,
  exitCode: 0,
  signal: null,
  utimeMs: 0,
  stimeMs: 0,
  maxRssKb: 0,
  stdoutTail: '',
  stderrTail: '',
  stdoutBytes: 0,
  stderrBytes: 0,
  files: [],
  transfers: [],
};

describe('cache fields on the wire', () => {
  it('AgentAd cache summary round-trips; absent stays absent', () => {
    const withCache: WireAgentAd = {
      ...ad,
      cache: {
        entries: 10_000,
        bytes: 2 ** 40,
        budgetBytes: 2 ** 41,
        largest: [
          { urls: ['s3://data/a.dat', 'http://h/a.dat'], bytes: 2 ** 33, sha256: 'ab'.repeat(32) },
          { urls: ['file:///store/b.dat'], bytes: 5 },
        ],
      },
    };
    expect(decodeAgentAd(encodeAgentAd(withCache))).toStrictEqual(withCache);
    expect(decodeAgentAd(encodeAgentAd(ad))).toStrictEqual(ad);
    const empty: WireAgentAd = {
      ...ad,
      cache: { entries: 0, bytes: 0, budgetBytes: 0, largest: [] },
    };
    expect(decodeAgentAd(encodeAgentAd(empty))).toStrictEqual(empty);
  });

  it('TransferRecord cache use round-trips; absent stays absent', () => {
    const t = { lfn: 'a', src: 'http://h/a', dst: 'file:///s/a', bytes: 3, durationMs: 1 };
    const msg: AttemptResultMsg = {
      key: { job: 'j', attempt: 1, epoch: 1 },
      agent: 'edge-1',
      outcome: {
        ok: true,
        record: {
          ...record,
          transfers: [
            { ...t, cache: 'hit' },
            { ...t, cache: 'miss' },
            { ...t, cache: 'bypass' },
            t,
          ],
        },
      },
    };
    expect(decodeAttemptResult(encodeAttemptResult(msg))).toStrictEqual(msg);
  });
});
