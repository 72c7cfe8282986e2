/**
 * Docker's multiplexed attach stream (non-TTY containers), split back into stdout and
 * stderr. Each frame is an 8-byte header — stream type (1 stdout, 2 stderr; 0 stdin is
 * never sent back), three zero bytes, a big-endian uint32 payload length — then the
 * payload. Frames may arrive split across or packed into chunks. The writer respects the
 * destinations' back-pressure, so a job that writes gigabytes does not fill the agent's
 * memory. A malformed header is an error (never guessed around): output is not silently
 * mixed.
 */
import { Writable } from 'node:stream';

const HEADER = 8;

function writeTo(dest: NodeJS.WritableStream, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = dest.write(data, (err) => {
      if (err) reject(err);
    });
    if (ok) resolve();
    else dest.once('drain', resolve);
  });
}

export function createDemuxer(
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): Writable {
  let pending = Buffer.alloc(0);
  /** Bytes of the current frame's payload still to come, and where they go. */
  let remaining = 0;
  let dest: NodeJS.WritableStream = stdout;

  async function consume(chunk: Buffer): Promise<void> {
    let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (remaining > 0) {
        const n = Math.min(remaining, buf.length);
        await writeTo(dest, buf.subarray(0, n));
        remaining -= n;
        buf = buf.subarray(n);
        continue;
      }
      if (buf.length < HEADER) {
        pending = Buffer.from(buf);
        return;
      }
      const type = buf[0];
      if ((type !== 1 && type !== 2) || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) {
        throw new Error(`malformed docker stream header (type byte ${type})`);
      }
      dest = type === 1 ? stdout : stderr;
      remaining = buf.readUInt32BE(4);
      buf = buf.subarray(HEADER);
    }
  }

  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      consume(chunk).then(() => cb(), cb);
    },
    final(cb) {
      cb(
        pending.length > 0 || remaining > 0
          ? new Error('docker stream ended in the middle of a frame')
          : null,
      );
    },
  });
}
