/** The Transport conformance suite against both implementations (NATS: a real server). */
import { afterAll, beforeAll, describe } from 'vitest';
import {
  natsServerAvailable,
  startNatsServer,
  type NatsServer,
} from '../../test/helpers/nats-server.js';
import { transportConformance } from '../../test/helpers/transport-conformance.js';
import { createInProcessTransport, createNatsTransport } from './index.js';

transportConformance('in-process', async () => ({
  t: createInProcessTransport(),
  settle: () => new Promise((r) => setImmediate(r)),
}));

describe.skipIf(!natsServerAvailable)('nats', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });
  transportConformance('nats', async () => {
    const t = await createNatsTransport({ servers: server.url, name: 'conformance' });
    return { t, settle: () => t.flush() };
  });
});
