/**
 * The agent's outbox (DESIGN §6 "Attempts and leases"): every attempt result is written
 * here as it is first sent, one JSON file per attempt, atomically (temp file, fsync,
 * rename, fsync of the directory), and deleted only when the scheduler acknowledges it. A
 * restarted agent reads the outbox and sends everything again, so no completed result is
 * ever lost; the scheduler deduplicates.
 */
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../lib/logging/index.js';
import { isTempName, writeFileAtomically } from '../../lib/store/index.js';
import { subjectToken, type AttemptKey, type AttemptResultMsg } from '../../proto/index.js';

/** `job.attempt.epoch`: the identity of an attempt, also its outbox file stem. */
export function keyId(key: AttemptKey): string {
  return `${key.job}.${key.attempt}.${key.epoch}`;
}

async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

export interface Outbox {
  readonly dir: string;
  /** Results left from earlier runs (temp files of interrupted writes are removed). */
  load(): Promise<AttemptResultMsg[]>;
  /** Persist a result durably before it is sent. */
  put(msg: AttemptResultMsg): Promise<void>;
  /** Forget an acknowledged result (missing is fine). */
  remove(key: AttemptKey): Promise<void>;
}

export function createOutbox(dir: string, logger: Logger): Outbox {
  function fileOf(key: AttemptKey): string {
    subjectToken('job id', key.job);
    return path.join(dir, `${keyId(key)}.json`);
  }

  async function syncDir(): Promise<void> {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  return {
    dir,

    async load() {
      const out: AttemptResultMsg[] = [];
      for (const name of (await readdir(dir)).sort()) {
        const file = path.join(dir, name);
        if (isTempName(name)) {
          await rm(file, { force: true });
          continue;
        }
        if (!name.endsWith('.json')) continue;
        try {
          const msg = JSON.parse(await readFile(file, 'utf8')) as AttemptResultMsg;
          if (typeof msg?.key?.job !== 'string' || typeof msg.outcome !== 'object') {
            throw new Error('not an attempt result');
          }
          out.push(msg);
        } catch (e) {
          // A result we cannot read cannot be sent; keep the file aside for a human.
          logger.error({ file, err: e }, 'unreadable outbox entry set aside');
          await rename(file, `${file}.unreadable`);
        }
      }
      return out;
    },

    async put(msg) {
      await writeFileAtomically(once(Buffer.from(JSON.stringify(msg))), fileOf(msg.key), {
        source: 'outbox',
      });
      await syncDir();
    },

    async remove(key) {
      await rm(fileOf(key), { force: true });
    },
  };
}
