/**
 * The protobuf codecs of the aloft.v1 contract (schemas in proto/schemas, generated code in
 * proto/generated): encodeX/decodeX per message, the subject-routed Codec for the NATS
 * transport, and the grpc-js service definition of aloft.v1.Control.
 */
export * from './wire-types.js';
export { DEFAULT_MAX_MESSAGE_BYTES, type DecodeOptions } from './wire-support.js';
export type { MessageCodec } from './message-codec.js';
export {
  agentAdCodec,
  heartbeatCodec,
  offerCodec,
  offerReplyCodec,
  attemptStartedCodec,
  attemptResultCodec,
  resultAckCodec,
  killCodec,
  advertiseRequestCodec,
  encodeAgentAd,
  decodeAgentAd,
  encodeHeartbeat,
  decodeHeartbeat,
  encodeOffer,
  decodeOffer,
  encodeOfferReply,
  decodeOfferReply,
  encodeAttemptStarted,
  decodeAttemptStarted,
  encodeAttemptResult,
  decodeAttemptResult,
  encodeResultAck,
  decodeResultAck,
  encodeKill,
  decodeKill,
  encodeAdvertiseRequest,
  decodeAdvertiseRequest,
} from './agent-codec.js';
export {
  controlService,
  type ControlMethod,
  submitRequestCodec,
  submitReplyCodec,
  workflowRefCodec,
  workflowStatusCodec,
  analyzeReplyCodec,
  listAgentsRequestCodec,
  listAgentsReplyCodec,
  agentStatusCodec,
  drainAgentRequestCodec,
  releaseHoldRequestCodec,
  releaseHoldReplyCodec,
  encodeSubmitRequest,
  decodeSubmitRequest,
  encodeSubmitReply,
  decodeSubmitReply,
  encodeWorkflowRef,
  decodeWorkflowRef,
  encodeWorkflowStatus,
  decodeWorkflowStatus,
  encodeAnalyzeReply,
  decodeAnalyzeReply,
  encodeListAgentsRequest,
  decodeListAgentsRequest,
  encodeListAgentsReply,
  decodeListAgentsReply,
} from './control-codec.js';
export {
  createProtobufCodec,
  messageTypeForSubject,
  type Codec,
  type ProtobufCodecOptions,
} from './subject-codec.js';
