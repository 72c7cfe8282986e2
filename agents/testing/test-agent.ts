/**
 * An agent on a fresh in-process transport in a fresh temporary work dir, with a protocol
 * driver attached: the setup of most agent tests. `close()` stops the agent (stopping its
 * attempts at once), closes the transport and removes the work dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInProcessTransport, type Transport } from '../../lib/transport/index.js';
import { createAgent, type Agent, type AgentOptions } from '../agent/index.js';
import { createProtocolDriver, type ProtocolDriver } from './protocol-driver.js';

export interface TestAgent {
  agent: Agent;
  driver: ProtocolDriver;
  transport: Transport;
  /** Temporary directory: the agent's work dir is `${dir}/agent`, free space elsewhere. */
  dir: string;
  workDir: string;
  close(): Promise<void>;
}

export async function startTestAgent(
  o: Partial<Omit<AgentOptions, 'transport'>> & { transport?: Transport; dir?: string } = {},
): Promise<TestAgent> {
  const dir = o.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'aloft-agent-')));
  const transport = o.transport ?? createInProcessTransport();
  const id = o.id ?? 'agent-1';
  const driver = createProtocolDriver(transport, id);
  const workDir = o.workDir ?? path.join(dir, 'agent');
  const agent = createAgent({
    site: 'local',
    sites: [],
    slots: 2,
    ...o,
    id,
    transport,
    workDir,
  });
  await agent.start();
  return {
    agent,
    driver,
    transport,
    dir,
    workDir,
    async close() {
      await agent.stop({ graceMs: 0 });
      driver.close();
      await transport.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
