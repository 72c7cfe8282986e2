/**
 * The end of a job's stdout/stderr file for the invocation record: the last `max` bytes
 * (default 4 KiB), decoded as UTF-8 without a broken first character, and the file's size.
 */
import { open, stat } from 'node:fs/promises';

export const TAIL_BYTES = 4096;

export interface Tail {
  tail: string;
  bytes: number;
}

export async function readTail(file: string, max = TAIL_BYTES): Promise<Tail> {
  // Most jobs write nothing to one stream or both: a stat answers without opening the file.
  const st = await stat(file).catch(() => undefined);
  if (!st || st.size === 0) return { tail: '', bytes: 0 };
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return { tail: '', bytes: 0 };
  }
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, max);
    const buf = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await fh.read(buf, got, len - got, size - len + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    let start = 0;
    // Cut mid-character? Skip UTF-8 continuation bytes (at most 3) at the front.
    if (size > len) {
      while (start < Math.min(3, got) && ((buf[start] ?? 0) & 0xc0) === 0x80) start++;
    }
    return { tail: buf.subarray(start, got).toString('utf8'), bytes: size };
  } finally {
    await fh.close();
  }
}
