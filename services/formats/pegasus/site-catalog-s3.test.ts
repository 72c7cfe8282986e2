/**
 * s3:// file servers in the site catalog: the forms the s3 store reads are accepted
 * (`s3://bucket/prefix`, Pegasus' `s3://user@site/bucket/prefix`), anything it would refuse
 * is a problem naming the file, the site, the directory and the fix — all at once.
 */
import { describe, expect, test } from 'vitest';
import { isAloftError } from '../../../lib/errors/index.js';
import { siteCatalogFromDocument } from './index.js';

const doc = (...urls: string[]): unknown => ({
  pegasus: '5.0',
  sites: [
    {
      name: 'cloud',
      directories: [
        {
          type: 'sharedScratch',
          path: '/scratch',
          fileServers: urls.map((url) => ({ url, operation: 'all' })),
        },
      ],
    },
  ],
});

function problems(d: unknown): readonly { where: string; message: string; hint?: string }[] {
  try {
    siteCatalogFromDocument(d, 'sites.yml');
  } catch (e) {
    if (isAloftError(e)) return e.problems;
    throw e;
  }
  throw new Error('read did not fail');
}

describe('site catalog: s3 file servers', () => {
  test('s3://bucket/prefix and s3://user@site/bucket/prefix are read as written', () => {
    const sc = siteCatalogFromDocument(
      doc('s3://wf-scratch/run-1', 's3://pegasus@osn/bucket.a/prefix/', 'S3://upper-case/x'),
      'sites.yml',
    );
    expect(sc.sites[0]!.directories[0]!.fileServers.map((f) => f.url)).toEqual([
      's3://wf-scratch/run-1',
      's3://pegasus@osn/bucket.a/prefix/',
      'S3://upper-case/x',
    ]);
  });

  test('every bad s3 URL is a problem with where, what and how to fix it', () => {
    const list = problems(
      doc(
        's3://user:secret@site/bucket/x',
        's3://bucket:9000/x',
        's3://bkt/x?versionId=1',
        's3:///no-bucket',
        's3://Bad_Bucket!/x',
        's3://bucket/a/../b',
      ),
    );
    const where = (i: number): string =>
      `sites.yml: sites[0].directories[0].fileServers[${i}].url (site cloud)`;
    expect(list.map((p) => p.where)).toEqual([0, 1, 2, 3, 4, 5].map(where));
    expect(list.map((p) => p.message)).toEqual([
      expect.stringMatching(/carries a password$/),
      expect.stringMatching(/has a port$/),
      expect.stringMatching(/has a query or fragment$/),
      expect.stringMatching(/names no bucket$/),
      expect.stringMatching(/has an invalid bucket name 'Bad_Bucket!'$/),
      expect.stringMatching(/has a '\.' or '\.\.' path segment/),
    ]);
    expect(list.every((p) => typeof p.hint === 'string' && p.hint.length > 0)).toBe(true);
    expect(JSON.stringify(list)).not.toContain('secret');
  });
});
