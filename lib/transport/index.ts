/** Public surface of the transport seam: the interface and its in-process implementation. */
export type { Message, Subscription, RequestOptions, Transport } from './transport.js';
export { createInProcessTransport, type InProcessTransportOptions } from './in-process.js';
