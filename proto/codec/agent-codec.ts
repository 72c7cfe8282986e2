/**
 * Codecs of the agent protocol (proto/agent-protocol.ts + Heartbeat) as aloft.v1 messages.
 * Each codec's encode/decode is exported as encodeX/decodeX.
 */
import { aloft } from '../generated/aloft.js';
import type {
  AttemptResultMsg,
  AttemptStartedMsg,
  AdvertiseRequestMsg,
  CacheSummary,
  KillMsg,
  Offer,
  OfferReply,
  ResultAck,
  TransferProgress,
} from '../agent-protocol.js';
import type { Heartbeat, WireAgentAd } from './wire-types.js';
import { keyIn, keyOut, outcomeIn, outcomeOut } from './attempt-codec.js';
import { plannedJobIn, plannedJobOut } from './plan-codec.js';
import { messageCodec } from './message-codec.js';
import { fromInt64, present, toUint, type DecodeOptions, type Problems } from './wire-support.js';

import v1 = aloft.v1;

function cacheSummaryOut(p: Problems, c: CacheSummary, path: string): v1.ICacheSummary {
  return {
    entries: toUint(p, `${path}.entries`, c.entries, 64),
    bytes: toUint(p, `${path}.bytes`, c.bytes, 64),
    budgetBytes: toUint(p, `${path}.budgetBytes`, c.budgetBytes, 64),
    largest: c.largest.map((e, i) => {
      const o: v1.ICachedInput = {
        urls: e.urls,
        bytes: toUint(p, `${path}.largest[${i}].bytes`, e.bytes, 64),
      };
      if (e.sha256 !== undefined) o.sha256 = e.sha256;
      return o;
    }),
  };
}

function cacheSummaryIn(p: Problems, c: v1.ICacheSummary, path: string): CacheSummary {
  return {
    entries: fromInt64(p, `${path}.entries`, c.entries),
    bytes: fromInt64(p, `${path}.bytes`, c.bytes),
    budgetBytes: fromInt64(p, `${path}.budgetBytes`, c.budgetBytes),
    largest: (c.largest ?? []).map((e, i) => ({
      urls: e.urls ?? [],
      bytes: fromInt64(p, `${path}.largest[${i}].bytes`, e.bytes),
      ...(present(e.sha256) ? { sha256: e.sha256 } : {}),
    })),
  };
}

export function agentAdOut(p: Problems, a: WireAgentAd, path = ''): v1.IAgentAd {
  const o: v1.IAgentAd = {
    agent: a.agent,
    site: a.site,
    sites: a.sites,
    host: a.host,
    slots: toUint(p, `${path}slots`, a.slots, 32),
    cores: a.cores,
    memoryMb: a.memoryMb,
    diskFreeMb: a.diskFreeMb,
    executors: a.executors,
    labels: a.labels,
  };
  if (a.gpus !== undefined) o.gpus = a.gpus;
  if (a.arch !== undefined) o.arch = a.arch;
  if (a.os !== undefined) o.os = a.os;
  if (a.cacheBytes !== undefined) o.cacheBytes = toUint(p, `${path}cacheBytes`, a.cacheBytes, 64);
  if (a.state !== undefined) o.draining = a.state === 'draining';
  if (a.cache !== undefined) o.cache = cacheSummaryOut(p, a.cache, `${path}cache`);
  if (a.prefetch !== undefined) o.prefetch = toUint(p, `${path}prefetch`, a.prefetch, 32);
  return o;
}

export function agentAdIn(p: Problems, a: v1.IAgentAd, path = ''): WireAgentAd {
  const o: WireAgentAd = {
    agent: a.agent ?? '',
    site: a.site ?? '',
    sites: a.sites ?? [],
    host: a.host ?? '',
    slots: a.slots ?? 0,
    cores: a.cores ?? 0,
    memoryMb: a.memoryMb ?? 0,
    diskFreeMb: a.diskFreeMb ?? 0,
    executors: a.executors ?? [],
    labels: { ...(a.labels ?? {}) },
  };
  if (present(a.gpus)) o.gpus = a.gpus;
  if (present(a.arch)) o.arch = a.arch;
  if (present(a.os)) o.os = a.os;
  if (present(a.cacheBytes)) o.cacheBytes = fromInt64(p, `${path}cacheBytes`, a.cacheBytes);
  if (present(a.draining)) o.state = a.draining ? 'draining' : 'ready';
  if (present(a.cache)) o.cache = cacheSummaryIn(p, a.cache, `${path}cache`);
  if (present(a.prefetch)) o.prefetch = a.prefetch;
  return o;
}

export const agentAdCodec = messageCodec<WireAgentAd, v1.IAgentAd>(
  'aloft.v1.AgentAd',
  v1.AgentAd,
  (p, a) => agentAdOut(p, a),
  (p, a) => agentAdIn(p, a),
);

export const heartbeatCodec = messageCodec<Heartbeat, v1.IHeartbeat>(
  'aloft.v1.Heartbeat',
  v1.Heartbeat,
  (p, h) => ({
    agent: h.agent,
    seq: toUint(p, 'seq', h.seq, 64),
    running: h.running.map((k, i) => keyOut(p, `running[${i}]`, k)),
    slotsInUse: toUint(p, 'slotsInUse', h.slotsInUse, 32),
    diskFreeMb: h.diskFreeMb,
  }),
  (p, h) => ({
    agent: h.agent ?? '',
    seq: fromInt64(p, 'seq', h.seq),
    running: (h.running ?? []).map((k, i) => keyIn(p, `running[${i}]`, k)),
    slotsInUse: h.slotsInUse ?? 0,
    diskFreeMb: h.diskFreeMb ?? 0,
  }),
);

export const offerCodec = messageCodec<Offer, v1.IOffer>(
  'aloft.v1.Offer',
  v1.Offer,
  (p, o) => ({ key: keyOut(p, 'key', o.key), runId: o.runId, job: plannedJobOut(p, 'job', o.job) }),
  (p, o) => ({
    key: keyIn(p, 'key', o.key),
    runId: o.runId ?? '',
    job: plannedJobIn(p, 'job', o.job),
  }),
);

export const offerReplyCodec = messageCodec<OfferReply, v1.IOfferReply>(
  'aloft.v1.OfferReply',
  v1.OfferReply,
  (_p, r) => (r.accepted ? { accepted: true } : { accepted: false, reason: r.reason }),
  (_p, r) => (r.accepted ? { accepted: true } : { accepted: false, reason: r.reason ?? '' }),
);

function progressOut(p: Problems, g: TransferProgress): v1.ITransferProgress {
  return {
    filesDone: toUint(p, 'progress.filesDone', g.filesDone, 32),
    filesTotal: toUint(p, 'progress.filesTotal', g.filesTotal, 32),
    bytesDone: toUint(p, 'progress.bytesDone', g.bytesDone, 64),
    bytesTotal: toUint(p, 'progress.bytesTotal', g.bytesTotal, 64),
  };
}

function progressIn(p: Problems, g: v1.ITransferProgress): TransferProgress {
  return {
    filesDone: g.filesDone ?? 0,
    filesTotal: g.filesTotal ?? 0,
    bytesDone: fromInt64(p, 'progress.bytesDone', g.bytesDone),
    bytesTotal: fromInt64(p, 'progress.bytesTotal', g.bytesTotal),
  };
}

export const attemptStartedCodec = messageCodec<AttemptStartedMsg, v1.IAttemptStarted>(
  'aloft.v1.AttemptStarted',
  v1.AttemptStarted,
  (p, s) => {
    const o: v1.IAttemptStarted = {
      key: keyOut(p, 'key', s.key),
      agent: s.agent,
      site: s.site,
      host: s.host,
    };
    if (s.progress !== undefined) o.progress = progressOut(p, s.progress);
    return o;
  },
  (p, s) => {
    const o: AttemptStartedMsg = {
      key: keyIn(p, 'key', s.key),
      agent: s.agent ?? '',
      site: s.site ?? '',
      host: s.host ?? '',
    };
    if (present(s.progress)) o.progress = progressIn(p, s.progress);
    return o;
  },
);

export const attemptResultCodec = messageCodec<AttemptResultMsg, v1.IAttemptResult>(
  'aloft.v1.AttemptResult',
  v1.AttemptResult,
  (p, r) => ({
    key: keyOut(p, 'key', r.key),
    agent: r.agent,
    outcome: outcomeOut(p, 'outcome', r.outcome),
  }),
  (p, r) => ({
    key: keyIn(p, 'key', r.key),
    agent: r.agent ?? '',
    outcome: outcomeIn(p, 'outcome', r.outcome),
  }),
);

export const resultAckCodec = messageCodec<ResultAck, v1.IResultAck>(
  'aloft.v1.ResultAck',
  v1.ResultAck,
  (p, a) => ({ key: keyOut(p, 'key', a.key) }),
  (p, a) => ({ key: keyIn(p, 'key', a.key) }),
);

export const killCodec = messageCodec<KillMsg, v1.IKill>(
  'aloft.v1.Kill',
  v1.Kill,
  (p, k) => ({ key: keyOut(p, 'key', k.key), reason: k.reason }),
  (p, k) => ({ key: keyIn(p, 'key', k.key), reason: k.reason ?? '' }),
);

export const advertiseRequestCodec = messageCodec<AdvertiseRequestMsg, v1.IAdvertiseRequest>(
  'aloft.v1.AdvertiseRequest',
  v1.AdvertiseRequest,
  (_p, a) => ({ reason: a.reason }),
  (_p, a) => ({ reason: a.reason ?? '' }),
);

export const encodeAgentAd = (v: WireAgentAd): Uint8Array => agentAdCodec.encode(v);
export const decodeAgentAd = (b: Uint8Array, o?: DecodeOptions): WireAgentAd =>
  agentAdCodec.decode(b, o);
export const encodeHeartbeat = (v: Heartbeat): Uint8Array => heartbeatCodec.encode(v);
export const decodeHeartbeat = (b: Uint8Array, o?: DecodeOptions): Heartbeat =>
  heartbeatCodec.decode(b, o);
export const encodeOffer = (v: Offer): Uint8Array => offerCodec.encode(v);
export const decodeOffer = (b: Uint8Array, o?: DecodeOptions): Offer => offerCodec.decode(b, o);
export const encodeOfferReply = (v: OfferReply): Uint8Array => offerReplyCodec.encode(v);
export const decodeOfferReply = (b: Uint8Array, o?: DecodeOptions): OfferReply =>
  offerReplyCodec.decode(b, o);
export const encodeAttemptStarted = (v: AttemptStartedMsg): Uint8Array =>
  attemptStartedCodec.encode(v);
export const decodeAttemptStarted = (b: Uint8Array, o?: DecodeOptions): AttemptStartedMsg =>
  attemptStartedCodec.decode(b, o);
export const encodeAttemptResult = (v: AttemptResultMsg): Uint8Array =>
  attemptResultCodec.encode(v);
export const decodeAttemptResult = (b: Uint8Array, o?: DecodeOptions): AttemptResultMsg =>
  attemptResultCodec.decode(b, o);
export const encodeResultAck = (v: ResultAck): Uint8Array => resultAckCodec.encode(v);
export const decodeResultAck = (b: Uint8Array, o?: DecodeOptions): ResultAck =>
  resultAckCodec.decode(b, o);
export const encodeKill = (v: KillMsg): Uint8Array => killCodec.encode(v);
export const decodeKill = (b: Uint8Array, o?: DecodeOptions): KillMsg => killCodec.decode(b, o);
export const encodeAdvertiseRequest = (v: AdvertiseRequestMsg): Uint8Array =>
  advertiseRequestCodec.encode(v);
export const decodeAdvertiseRequest = (b: Uint8Array, o?: DecodeOptions): AdvertiseRequestMsg =>
  advertiseRequestCodec.decode(b, o);
