/**
 * The agent's NATS connection from its config: protobuf codec, the agent's own inbox
 * prefix (server permissions confine its replies there), credentials (user/password, an
 * nkey seed read from its file, or a token) and TLS files. It waits for a first connect
 * (an edge node often boots before its link is up) until the signal aborts, and then
 * reconnects forever.
 */
import { readFile } from 'node:fs/promises';
import { AloftError } from '../../lib/errors/index.js';
import type { Logger } from '../../lib/logging/index.js';
import {
  agentInboxPrefix,
  createNatsTransport,
  type NatsTransport,
  type NatsTransportOptions,
} from '../../lib/transport/index.js';
import { createProtobufCodec } from '../../proto/codec/index.js';
import type { AgentConfig } from './config.js';

export interface ConnectOptions {
  logger: Logger;
  /** Cancels a connect in progress; the connected transport is closed by its owner. */
  signal?: AbortSignal;
  /** Base wait between reconnect attempts (default the transport's). */
  reconnectWaitMs?: number;
  /** Give up when the first connect fails instead of waiting (default false: wait). */
  failFast?: boolean;
}

export async function connectAgentTransport(
  config: AgentConfig,
  o: ConnectOptions,
): Promise<NatsTransport> {
  const opts: NatsTransportOptions = {
    servers: config.nats,
    name: `agent-${config.id}`,
    inboxPrefix: agentInboxPrefix(config.id),
    codec: createProtobufCodec(),
    waitOnFirstConnect: !o.failFast,
    logger: o.logger,
  };
  // The signal cancels the connect only: a transport given the caller's signal would close
  // the moment SIGTERM arrives, but a drain still needs it (ads, results, acks).
  const connecting = new AbortController();
  const cancel = (): void => connecting.abort();
  o.signal?.addEventListener('abort', cancel, { once: true });
  if (o.signal?.aborted) connecting.abort();
  opts.signal = connecting.signal;
  if (o.reconnectWaitMs !== undefined) opts.reconnectWaitMs = o.reconnectWaitMs;
  if (config.natsUser !== undefined) opts.user = config.natsUser;
  if (config.natsPassword !== undefined) opts.pass = config.natsPassword;
  if (config.natsToken !== undefined) opts.token = config.natsToken;
  if (config.natsNkeySeedFile !== undefined) {
    let seed: string;
    try {
      seed = (
        await readFile(config.natsNkeySeedFile, { encoding: 'utf8', signal: o.signal })
      ).trim();
    } catch (e) {
      throw AloftError.invalid({
        where: `natsNkeySeedFile ${config.natsNkeySeedFile}`,
        message: `cannot be read: ${(e as Error).message}`,
        hint: 'point it at the file holding the agent user seed (SU...)',
      });
    }
    opts.nkeySeed = seed;
  }
  if (config.tlsCa !== undefined || config.tlsCert !== undefined) {
    opts.tls = {};
    if (config.tlsCa !== undefined) opts.tls.caFile = config.tlsCa;
    if (config.tlsCert !== undefined) opts.tls.certFile = config.tlsCert;
    if (config.tlsKey !== undefined) opts.tls.keyFile = config.tlsKey;
  }
  try {
    return await createNatsTransport(opts);
  } finally {
    o.signal?.removeEventListener('abort', cancel);
  }
}
