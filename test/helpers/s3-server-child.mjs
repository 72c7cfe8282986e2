/**
 * The child process behind test/helpers/s3-server.ts: an s3rver 3.7 (DESIGN §9) on a free
 * loopback port, with a few changes so it behaves like the S3-compatible servers aloft meets
 * in production (MinIO, Ceph, AWS) where it matters to our tests:
 *  - PutObject / UploadPart / CompleteMultipartUpload are atomic: bytes go to a temporary
 *    file that is renamed into place only when the request body arrived complete. s3rver
 *    writes straight to the object's path, so a cut upload would leave a partial object
 *    visible — which no real S3 server does.
 *  - AbortMultipartUpload (DELETE ?uploadId=) removes the upload's parts (s3rver answers
 *    405 to it).
 *  - the access key pair is the one given (s3rver's built-in S3RVER/S3RVER is revoked), so
 *    a wrong access key id is refused with 403 InvalidAccessKeyId. s3rver does not check
 *    SigV4 signatures, so a wrong secret is NOT refused.
 * Needs `node --openssl-legacy-provider`: s3rver's ListObjectsV2 continuation tokens use DES.
 *
 * Protocol (all JSON lines on stdout, read by the parent):
 *   {"ready":true,"port":N}                once listening;
 *   {"req":{method,bucket,key,query,status,bytesOut,bytesIn,payloadSha256,complete}}
 *                                          for every request, written when the response is
 *                                          ended (before the client can have all of it) or
 *                                          when its connection closed first (complete false);
 *   {"sync":ID}                            answer to the line `sync ID` on stdin: every
 *                                          request answered before the parent sent it is
 *                                          logged above this line.
 * Config comes as JSON in argv[2]: { directory, buckets, accessKeyId, secretAccessKey }.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';
import account from 's3rver/lib/models/account.js';
import S3Error from 's3rver/lib/models/error.js';

const { DUMMY_ACCOUNT } = account;
const config = JSON.parse(process.argv[2] || '{}');

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** Stream `content` into `dest` through a temp file; rename only if the body was complete. */
async function writeAtomically(content, dest, mkdir = true) {
  if (mkdir) await fsp.mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${crypto.randomBytes(6).toString('hex')}`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  try {
    if (Buffer.isBuffer(content)) {
      md5.update(content);
      size = content.length;
      await fsp.writeFile(tmp, content);
    } else {
      const count = new Transform({
        transform(chunk, _enc, cb) {
          md5.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      await pipeline(content, count, fs.createWriteStream(tmp));
      if (content instanceof http.IncomingMessage && !content.complete) {
        throw new Error('request body ended early');
      }
    }
    return { tmp, size, md5: md5.digest('hex') };
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  const { tmp, size, md5 } = await writeAtomically(object.content, objectPath);
  try {
    await this.putMetadata(object.bucket, object.key, object.metadata, md5);
    await fsp.rename(tmp, objectPath);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  return { size, md5 };
};

FilesystemStore.prototype.putPart = async function putPart(bucket, uploadId, partNumber, content) {
  const uploadDir = path.join(
    this.getResourcePath(bucket, undefined, 'uploads'),
    path.basename(uploadId),
  );
  // A part of an unknown (e.g. aborted) upload is refused, as S3 does — and never recreates
  // the upload's directory (s3rver's own putPart would).
  const known = await fsp.stat(path.join(uploadDir, 'key')).then(
    () => true,
    () => false,
  );
  if (!known) {
    content.resume();
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', {
      UploadId: uploadId,
    });
  }
  const partPath = path.join(uploadDir, String(partNumber));
  const { tmp, size, md5 } = await writeAtomically(content, partPath, false);
  try {
    await fsp.writeFile(`${partPath}.md5`, md5);
    await fsp.rename(tmp, partPath);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  return { size, md5 };
};

function errorXml(code, message) {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

/** bucket and key of a path-style request ('/bucket/some/key'). */
function target(url) {
  const u = new URL(url, 'http://localhost');
  const [bucket = '', ...rest] = u.pathname.slice(1).split('/');
  let key = rest.join('/');
  try {
    key = decodeURIComponent(key);
  } catch {
    // keep it raw
  }
  const query = {};
  for (const [k, v] of u.searchParams) query[k] = v;
  return { bucket: decodeURIComponent(bucket), key, query };
}

async function main() {
  if (config.accessKeyId && config.accessKeyId !== 'S3RVER') {
    DUMMY_ACCOUNT.createKeyPair(config.accessKeyId, config.secretAccessKey);
    DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  }
  const app = new S3rver({
    silent: true,
    directory: config.directory,
    configureBuckets: (config.buckets || []).map((name) => ({ name })),
  });
  await app.configureBuckets();
  const handle = app.callback();

  const server = http.createServer((req, res) => {
    const t = target(req.url || '/');
    let logged = false;
    const log = (complete) => {
      if (logged) return;
      logged = true;
      const out = res.getHeader('content-length');
      const inn = req.headers['content-length'];
      emit({
        req: {
          method: req.method,
          bucket: t.bucket,
          key: t.key,
          query: t.query,
          status: res.statusCode,
          bytesOut: out === undefined ? null : Number(out),
          bytesIn: inn === undefined ? null : Number(inn),
          payloadSha256: req.headers['x-amz-content-sha256'] ?? null,
          complete,
        },
      });
    };
    const end = res.end;
    res.end = function (...args) {
      log(true);
      return end.apply(this, args);
    };
    res.on('close', () => log(false));

    if (req.method === 'DELETE' && 'uploadId' in t.query) {
      // AbortMultipartUpload, which s3rver lacks.
      const dir = path.join(
        app.store.getResourcePath(t.bucket, undefined, 'uploads'),
        path.basename(t.query.uploadId),
      );
      req.resume();
      fsp
        .stat(dir)
        .then(
          () => fsp.rm(dir, { recursive: true, force: true, maxRetries: 5 }).then(() => 204),
          () => 404,
        )
        .catch(() => 500)
        .then((status) => {
          const body =
            status === 404
              ? errorXml('NoSuchUpload', 'The specified upload does not exist.')
              : status === 500
                ? errorXml('InternalError', 'Could not remove the upload.')
                : undefined;
          res.writeHead(status, body ? { 'content-type': 'application/xml' } : {});
          res.end(body);
        });
      return;
    }
    handle(req, res);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  emit({ ready: true, port: server.address().port });

  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const m = /^sync (\S+)$/.exec(line.trim());
    if (m) emit({ sync: m[1] });
  });
  // The parent going away (stdin closed) or SIGTERM: stop.
  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`s3-server-child: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
