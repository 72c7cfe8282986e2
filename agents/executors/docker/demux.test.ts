/** The docker attach-stream demultiplexer, fed frames in awkward chunkings. */
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { createDemuxer } from './demux.js';

function frame(type: number, payload: string): Buffer {
  const body = Buffer.from(payload);
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
}

async function demux(chunks: Buffer[]): Promise<{ out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (d: Buffer) => o.push(d));
  err.on('data', (d: Buffer) => e.push(d));
  await pipeline(Readable.from(chunks), createDemuxer(out, err));
  return { out: Buffer.concat(o).toString(), err: Buffer.concat(e).toString() };
}

describe('createDemuxer', () => {
  const stream = Buffer.concat([
    frame(1, 'hello '),
    frame(2, 'oops\n'),
    frame(1, 'world\n'),
    frame(1, ''),
    frame(2, 'é'.repeat(1000)),
  ]);
  it('splits whole frames', async () => {
    expect(await demux([stream])).toEqual({
      out: 'hello world\n',
      err: 'oops\n' + 'é'.repeat(1000),
    });
  });
  it('handles frames split at every byte boundary', async () => {
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(await demux(bytes)).toEqual({ out: 'hello world\n', err: 'oops\n' + 'é'.repeat(1000) });
  });
  it('rejects a malformed header and a truncated frame', async () => {
    await expect(demux([Buffer.from('plain text, not multiplexed')])).rejects.toThrow(
      /malformed docker stream header/,
    );
    await expect(demux([frame(1, 'abcdef').subarray(0, 10)])).rejects.toThrow(
      /ended in the middle of a frame/,
    );
  });
});
