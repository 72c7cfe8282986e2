/** Public surface of the transport seam: the interface, in-process and NATS implementations. */
export type {
  Message,
  Subscription,
  PublishOptions,
  RequestOptions,
  Transport,
} from './transport.js';
export { createInProcessTransport, type InProcessTransportOptions } from './in-process.js';
export {
  createNatsTransport,
  type NatsTransport,
  type NatsTransportOptions,
  type NatsTlsOptions,
  type NatsStatus,
} from './nats-transport.js';
export { jsonCodec, replySubject, type Codec } from './nats-codec.js';
export { CHUNK_HEADER, MSG_ID_HEADER, MAX_CHUNKED_BYTES, type ChunkLimits } from './nats-chunks.js';
export {
  agentPermissions,
  agentInboxPrefix,
  schedulerPermissions,
  SCHEDULER_INBOX_PREFIX,
  type NatsPermissions,
} from './nats-permissions.js';
export {
  TRACEPARENT_HEADER,
  newTraceparent,
  parseTraceparent,
  type TraceContext,
} from './trace-context.js';
