/**
 * The s3:// store (issue 4): objects in S3 or an S3-compatible server (MinIO, Ceph RGW,
 * s3rver) through `@aws-sdk/client-s3`. URL forms, endpoint/region/credential resolution
 * and named endpoints (Pegasus' `s3://user@site/bucket/key`) are in s3-config.ts.
 *
 * Integrity, beyond the contracts in store.ts:
 *  - every object we write carries its sha256 as user metadata (`x-amz-meta-sha256`);
 *  - `get` hashes while streaming into a temp file beside the destination and renames only
 *    when the byte count matches Content-Length and the sha256 matches both the caller's
 *    expectation and the object's x-amz-meta-sha256 (when present) — an object altered
 *    behind our back is DATA_LOSS naming the URL and both checksums;
 *  - `put` needs the sha256 BEFORE sending: it is a request header (single PutObject) or
 *    fixed at CreateMultipartUpload. Below `multipartThreshold` the file is read once into
 *    memory, hashed, and sent from that buffer (one read), its sha256 doubling as the
 *    SigV4 payload hash (the SDK does not hash it again; servers that check signed payloads
 *    verify the bytes they got against it). Above the threshold the caller's sha256
 *    (PutOptions.sha256, e.g. from the invocation record) is used when given; otherwise the
 *    file is hashed in a first pass (a second read, from the page cache for a file a job
 *    just wrote: ~1.2 GB/s here, see bench/staging's sha256 line). Either way the parts are
 *    hashed again as they are read for sending and checked before CompleteMultipartUpload,
 *    so a source that changed under us is never completed. Then a HeadObject checks size
 *    and metadata. A failed multipart upload is aborted, so no partial object is visible.
 *    The alternatives were worse: a CopyObject onto itself to add the metadata afterwards
 *    is a server-side copy of the whole object on AWS (and impossible in one request above
 *    5 GB) and leaves a window in which the object has no checksum; S3's own multipart
 *    checksums are checksums of part checksums, not a sha256 of the file.
 *  - Checksum settings: `requestChecksumCalculation` and `responseChecksumValidation` are
 *    WHEN_REQUIRED. Since early 2025 (3.729) the SDK by default sends a CRC32 with every
 *    upload — for a streamed body as an aws-chunked trailer — and validates response
 *    checksums. S3-compatible servers that predate that change reject such uploads or,
 *    worse, keep the chunk framing as object bytes: s3rver stores "78\r\nhello..." for a
 *    streamed 120-byte PutObject (checked). Our own sha256 covers integrity end to end.
 *
 * Timeouts and retries: a socket with no data moving for `idleTimeoutMs` fails the transfer
 * UNAVAILABLE (a stalled server never hangs a job). The SDK retries single HTTP requests
 * (`maxAttempts`, jittered) — cheap for one part or one HEAD; a transfer that failed after
 * its body began (cut, stall, corrupt) is retried by the caller (staging, with lib/retry),
 * which re-runs the whole get/put. AbortSignal is honoured by every request and body.
 *
 * Errors: NoSuchKey/404 → NOT_FOUND; NoSuchBucket → NOT_FOUND saying so; AccessDenied and
 * other 403s → PERMISSION_DENIED (not retryable); 408/429/5xx, throttling, network errors,
 * timeouts → UNAVAILABLE (retryable); other 4xx → FAILED_PRECONDITION. Messages never hold
 * a secret: known access keys, secrets and session tokens are scrubbed from them.
 *
 * `stat` of a missing object or bucket is undefined; `delete` of a missing object — or of
 * anything in a missing bucket — succeeds; `list` yields objects only (keys ending in '/',
 * "folder" markers, are skipped) and reports a missing bucket as NOT_FOUND.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { AloftError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import { checkTransferred, tempNameFor } from './atomic-file.js';
import { registerStore } from './registry.js';
import {
  displayS3Url,
  namedEndpoint,
  parsePegasusS3Config,
  parseS3Url,
  resolveS3Config,
  routedEndpoint,
  routeFor,
  s3UrlOf,
  type ResolvedEndpoint,
  type ResolvedS3Config,
  type S3EndpointConfig,
  type S3Location,
  type S3Route,
  type S3StoreOptions,
  MAX_PARTS,
} from './s3-config.js';
import {
  storeError,
  type CopyResult,
  type GetOptions,
  type PutOptions,
  type Store,
  type StoreEntry,
  type StoreOpOptions,
  type StoreStat,
} from './store.js';

/** The metadata key (x-amz-meta-sha256) holding an object's sha256, hex. */
export const SHA256_METADATA = 'sha256';

export interface S3Store extends Store {
  readonly scheme: 's3';
  /** Close the SDK clients' idle connections. The store stays usable (clients reopen). */
  close(): void;
  /**
   * A store with this one's options and `routes` over its own routes (a route of `routes`
   * wins over one of this store's for the same prefix): e.g. a job's StoreAccess entries
   * over the environment's configuration. Credentials still come from this store's options.
   * Throws AloftError.invalid for a bad route; no network.
   */
  withRoutes(routes: readonly S3Route[]): S3Store;
}

const SHA_RE = /^[0-9a-f]{64}$/;

function normSha(v: string | undefined): string | undefined {
  const s = v?.trim().toLowerCase();
  return s !== undefined && SHA_RE.test(s) ? s : undefined;
}

/** Names of S3 errors meaning "try again later". */
const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  'TimeoutError',
]);
/** Names of S3 errors meaning "these credentials may not do this". */
const DENIED_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidSecurity',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
}

type Sdk = typeof import('@aws-sdk/client-s3');
type MiddlewareStackLike = InstanceType<Sdk['PutObjectCommand']>['middlewareStack'];

interface Client {
  s3: S3Client;
  ep: ResolvedEndpoint;
  /** The SDK module (loaded on first use: it costs ~100 ms, which commands not touching
   * s3:// should not pay). */
  api: Sdk;
}

let sdkModule: Promise<Sdk> | undefined;
const loadSdk = (): Promise<Sdk> => (sdkModule ??= import('@aws-sdk/client-s3'));

/** Read into all of `buf` from `position`; fewer bytes only at end of file. */
async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off;
}

const HASH_CHUNK = 4 * 1024 * 1024;

async function hashFile(fh: FileHandle, size: number, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(HASH_CHUNK, Math.max(size, 1)));
  for (let pos = 0; pos < size;) {
    signal?.throwIfAborted();
    const n = await readFully(fh, buf.subarray(0, Math.min(buf.length, size - pos)), pos);
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
    pos += n;
  }
  return hash.digest('hex');
}

/**
 * Give SigV4 the body's sha256 we computed anyway (x-amz-content-sha256): the SDK would
 * otherwise hash the body a second time to sign it. Servers that check signed payloads
 * (AWS, MinIO, Ceph) then also verify the bytes they received against our checksum.
 */
function withPayloadSha256<C extends { middlewareStack: MiddlewareStackLike }>(
  command: C,
  sha256: string,
): C {
  command.middlewareStack.add(
    (next) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> } | undefined)?.headers;
      if (headers) headers['x-amz-content-sha256'] = sha256;
      return next(args);
    },
    { step: 'build', name: 'aloftPayloadSha256' },
  );
  return command;
}

/**
 * Stream a response body into `destPath` the way store.ts demands — a temp file beside it,
 * hashed on the way, renamed only when complete and verified — with Node's stream machinery
 * (backpressure, batched writev, no per-chunk await), which is what keeps this path within a
 * few percent of the bare SDK piping into a file (bench/staging). The checks are
 * atomic-file.ts's checkTransferred, as in writeFileAtomically.
 */
async function downloadAtomically(
  body: Readable,
  destPath: string,
  o: { source: string; fsync: boolean; sha256?: string; bytes?: number; signal?: AbortSignal },
): Promise<CopyResult> {
  await mkdir(path.dirname(destPath), { recursive: true });
  const tmp = tempNameFor(destPath);
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb): void {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(
      body,
      tap,
      createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: o.fsync }),
      o.signal ? { signal: o.signal } : {},
    );
    const sha256 = hash.digest('hex');
    checkTransferred(o, bytes, sha256);
    o.signal?.throwIfAborted();
    await rename(tmp, destPath);
    return { bytes, sha256 };
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

/** An AbortSignal that fires when `parent` does or when `abort()` is called. */
function childSignal(parent: AbortSignal | undefined): AbortController {
  const ac = new AbortController();
  if (parent?.aborted) ac.abort(parent.reason);
  else parent?.addEventListener('abort', () => ac.abort(parent.reason), { once: true });
  return ac;
}

export function createS3Store(options: S3StoreOptions = {}): S3Store {
  const cfg: ResolvedS3Config = resolveS3Config(options);
  const t = cfg.tuning;
  const log: Logger = (options.logger ?? silentLogger).child({ component: 's3-store' });
  const secrets = new Set(cfg.secrets.filter((s) => s.length >= 4));
  const clients = new Map<string, Client>();

  function scrub(text: string): string {
    // Passwords in URLs, then every secret we know of, wherever it appears.
    let out = text.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s:]*:[^/@\s]*@/g, '$1[redacted]@');
    for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
    return out;
  }

  function makeClient(api: Sdk, ep: ResolvedEndpoint): S3Client {
    const { S3Client } = api;
    let probe: S3Client | undefined;
    const region =
      ep.region ??
      (async (): Promise<string> => {
        // The profile's region, else us-east-1 (what S3-compatible servers expect).
        probe ??= new S3Client(ep.profile ? { profile: ep.profile } : {});
        try {
          return await probe.config.region();
        } catch {
          return 'us-east-1';
        }
      });
    return new S3Client({
      region,
      ...(ep.endpoint !== undefined ? { endpoint: ep.endpoint } : {}),
      ...(ep.credentials ? { credentials: ep.credentials } : {}),
      ...(ep.profile !== undefined && !ep.credentials ? { profile: ep.profile } : {}),
      forcePathStyle: ep.forcePathStyle,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: t.maxAttempts,
      requestHandler: {
        connectionTimeout: t.connectTimeoutMs,
        socketTimeout: t.idleTimeoutMs,
      },
    });
  }

  async function locate(
    url: string,
    keyRequired = true,
  ): Promise<{ loc: S3Location; client: Client }> {
    const loc = parseS3Url(url, keyRequired);
    const route = routeFor(cfg, url);
    const id = route ? `route ${route.url}` : (loc.name ?? '');
    let client = clients.get(id);
    if (!client) {
      const base = loc.name === undefined ? cfg.default : namedEndpoint(cfg, loc.name);
      const ep = route ? routedEndpoint(cfg, route, base) : base;
      if (!ep || (!base && route?.endpoint === undefined)) {
        const site = loc.name!.slice(loc.name!.indexOf('@') + 1);
        throw AloftError.invalid({
          where: `S3 URL '${displayS3Url(url)}'`,
          message: `names S3 endpoint '${loc.name}', which is not configured`,
          hint:
            `add a [${site}] section with endpoint = http(s)://... (and [${loc.name}] with ` +
            'access_key and secret_key) to the Pegasus s3cfg file (S3CFG or ~/.pegasus/s3cfg)',
        });
      }
      const api = await loadSdk();
      client = clients.get(id) ?? { s3: makeClient(api, ep), ep, api };
      clients.set(id, client);
    }
    return { loc, client };
  }

  /**
   * Run `fn` on the object `url` names, located first; whatever it throws comes out
   * classified by `fail` for `op` — the one place get, put, stat and delete map errors.
   */
  async function onObject<T>(
    op: string,
    url: string,
    signal: AbortSignal | undefined,
    fn: (at: { loc: S3Location; client: Client }) => Promise<T>,
  ): Promise<T> {
    let at: { loc: S3Location; client: Client } | undefined;
    try {
      at = await locate(url);
      return await fn(at);
    } catch (e) {
      throw await fail(e, op, url, at?.client, signal, at?.loc.bucket);
    }
  }

  /** Learn the secrets the SDK's chain resolved, so they can be scrubbed too. */
  async function learnSecrets(client: Client): Promise<void> {
    try {
      const c = await client.s3.config.credentials();
      for (const s of [c.accessKeyId, c.secretAccessKey, c.sessionToken]) {
        if (typeof s === 'string' && s.length >= 4) secrets.add(s);
      }
    } catch {
      // no credentials resolved: nothing to scrub
    }
  }

  /** Map anything thrown by an operation onto the store contract (header). */
  async function fail(
    e: unknown,
    op: string,
    url: string,
    client: Client | undefined,
    signal?: AbortSignal,
    bucket?: string,
  ): Promise<AloftError> {
    const shown = displayS3Url(url);
    if (client) await learnSecrets(client);
    const make = (code: AloftError['code'], msg: string, retryable?: boolean): AloftError =>
      new AloftError(code, scrub(msg), {
        cause: e,
        ...(retryable !== undefined ? { retryable } : {}),
      });
    if (e instanceof AloftError) {
      return e.code === 'INVALID_ARGUMENT' || e.message === scrub(e.message)
        ? e
        : make(e.code, e.message, e.retryable);
    }
    const err = (e ?? {}) as SdkError;
    const name = err.name ?? '';
    const detail = err.message ?? String(e);
    if (signal?.aborted || name === 'AbortError') {
      return make('CANCELLED', `${op} ${shown} cancelled`, false);
    }
    if (name === 'TimeoutError') {
      return make('UNAVAILABLE', `${op} ${shown}: timed out (${detail})`, true);
    }
    if (name === 'CredentialsProviderError') {
      return make(
        'FAILED_PRECONDITION',
        `${op} ${shown}: no S3 credentials for ${client?.ep.label ?? 'the endpoint'}: ` +
          'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or give credentials',
        false,
      );
    }
    const status = err.$metadata?.httpStatusCode;
    const code = err.Code ?? name;
    const http = status !== undefined ? ` (HTTP ${status})` : '';
    const where = client?.ep.label ?? 'the endpoint';
    if (code === 'NoSuchBucket') {
      return make(
        'NOT_FOUND',
        `${op} ${shown}: bucket '${bucket ?? '?'}' does not exist at ${where}` +
          ' (create it, or check the URL and the endpoint)',
        false,
      );
    }
    if (code === 'NoSuchKey' || code === 'NotFound' || status === 404) {
      return make('NOT_FOUND', `${op} ${shown}: not found${http}`, false);
    }
    if (DENIED_NAMES.has(code) || status === 403) {
      return make(
        'PERMISSION_DENIED',
        `${op} ${shown}: access denied: ${code}${http}: ${detail}` +
          ` (check the credentials used for ${where} and the bucket's policy)`,
        false,
      );
    }
    if (
      RETRYABLE_NAMES.has(code) ||
      status === 408 ||
      status === 429 ||
      (status !== undefined && status >= 500) ||
      (status === undefined && err.$fault === 'server')
    ) {
      return make('UNAVAILABLE', `${op} ${shown}: ${code}${http}: ${detail}`, true);
    }
    if (status !== undefined && status >= 400) {
      return make('FAILED_PRECONDITION', `${op} ${shown}: ${code}${http}: ${detail}`, false);
    }
    const errno = err.code ?? (e as { cause?: { code?: string } })?.cause?.code;
    if (errno !== undefined && NETWORK_CODES.has(errno)) {
      return make('UNAVAILABLE', `${op} ${shown}: ${detail} (${errno}) at ${where}`, true);
    }
    const base = storeError(e, op, shown);
    return make(base.code, base.message, base.retryable);
  }

  function abortMultipart(
    client: Client,
    loc: S3Location,
    uploadId: string,
    url: string,
  ): Promise<void> {
    // Not the caller's signal: it may be the very reason we are aborting.
    const signal = AbortSignal.timeout(Math.max(t.idleTimeoutMs, 10_000));
    return client.s3
      .send(
        new client.api.AbortMultipartUploadCommand({
          Bucket: loc.bucket,
          Key: loc.key,
          UploadId: uploadId,
        }),
        { abortSignal: signal },
      )
      .then(
        () => undefined,
        async (e: unknown) => {
          const err = await fail(e, 'abort multipart upload of', url, client);
          if (err.code !== 'NOT_FOUND') {
            log.warn({ url: displayS3Url(url), err: err.message }, 'multipart abort failed');
          }
        },
      );
  }

  async function multipartUpload(
    client: Client,
    loc: S3Location,
    url: string,
    fh: FileHandle,
    size: number,
    sha256: string,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const partSize = Math.max(t.partSize, Math.ceil(size / MAX_PARTS));
    const nParts = Math.ceil(size / partSize);
    const created = await client.s3.send(
      new client.api.CreateMultipartUploadCommand({
        Bucket: loc.bucket,
        Key: loc.key,
        Metadata: { [SHA256_METADATA]: sha256 },
      }),
      { abortSignal: signal },
    );
    const uploadId = created.UploadId;
    if (!uploadId) {
      throw new AloftError('UNAVAILABLE', `put ${displayS3Url(url)}: server sent no UploadId`);
    }
    const inner = childSignal(signal);
    try {
      const etags: string[] = new Array<string>(nParts);
      const hash = createHash('sha256');
      let next = 0;
      let reading: Promise<unknown> = Promise.resolve();
      // Parts are read (and hashed) strictly in order by one reader, and sent in parallel.
      const readNext = (): Promise<{ n: number; buf: Buffer } | undefined> => {
        const p = reading.then(async () => {
          inner.signal.throwIfAborted();
          if (next >= nParts) return undefined;
          const n = next++;
          const len = Math.min(partSize, size - n * partSize);
          const buf = Buffer.allocUnsafe(len);
          const got = await readFully(fh, buf, n * partSize);
          if (got !== len) {
            throw new AloftError(
              'DATA_LOSS',
              `put ${displayS3Url(url)}: source shrank while uploading (read ${n * partSize + got} of ${size} bytes)`,
              { retryable: true },
            );
          }
          hash.update(buf);
          return { n, buf };
        });
        reading = p.catch(() => undefined);
        return p;
      };
      const worker = async (): Promise<void> => {
        for (;;) {
          const part = await readNext();
          if (!part) return;
          const r = await client.s3.send(
            new client.api.UploadPartCommand({
              Bucket: loc.bucket,
              Key: loc.key,
              UploadId: uploadId,
              PartNumber: part.n + 1,
              Body: part.buf,
              ContentLength: part.buf.length,
            }),
            { abortSignal: inner.signal },
          );
          if (!r.ETag) {
            throw new AloftError(
              'UNAVAILABLE',
              `put ${displayS3Url(url)}: no ETag for part ${part.n + 1}`,
            );
          }
          etags[part.n] = r.ETag;
        }
      };
      // The first failure is the cause; it aborts the other parts in flight.
      let firstError: { e: unknown } | undefined;
      const workers = Array.from({ length: Math.min(t.partConcurrency, nParts) }, () =>
        worker().catch((e: unknown) => {
          firstError ??= { e };
          inner.abort();
        }),
      );
      await Promise.all(workers);
      if (firstError) throw firstError.e;
      const sent = hash.digest('hex');
      if (sent !== sha256) {
        throw new AloftError(
          'DATA_LOSS',
          `put ${displayS3Url(url)}: the source changed while uploading ` +
            `(expected sha256 ${sha256}, sent ${sent})`,
          { retryable: true },
        );
      }
      await client.s3.send(
        new client.api.CompleteMultipartUploadCommand({
          Bucket: loc.bucket,
          Key: loc.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
        { abortSignal: signal },
      );
      return nParts;
    } catch (e) {
      inner.abort();
      await abortMultipart(client, loc, uploadId, url);
      throw e;
    }
  }

  return {
    scheme: 's3',

    async get(url: string, destPath: string, o: GetOptions = {}): Promise<CopyResult> {
      const expected = o.sha256 === undefined ? undefined : o.sha256.trim().toLowerCase();
      return onObject('get', url, o.signal, async (at) => {
        const { client } = at;
        const t0 = Date.now();
        const res = await client.s3.send(
          new client.api.GetObjectCommand({ Bucket: at.loc.bucket, Key: at.loc.key }),
          { abortSignal: o.signal },
        );
        const body = res.Body as Readable | undefined;
        if (!body) throw new AloftError('UNAVAILABLE', `get ${displayS3Url(url)}: no body`);
        try {
          const stored = normSha(res.Metadata?.[SHA256_METADATA]);
          if (expected !== undefined && stored !== undefined && expected !== stored) {
            throw new AloftError(
              'DATA_LOSS',
              `get ${displayS3Url(url)}: checksum mismatch (expected sha256 ${expected}, ` +
                `the object's x-amz-meta-sha256 is ${stored})`,
              { retryable: true },
            );
          }
          const want = expected ?? stored;
          const r = await downloadAtomically(body, path.resolve(destPath), {
            source: `get ${displayS3Url(url)}`,
            fsync: t.fsync,
            ...(o.signal ? { signal: o.signal } : {}),
            ...(want !== undefined ? { sha256: want } : {}),
            ...(res.ContentLength !== undefined ? { bytes: res.ContentLength } : {}),
          }).catch((e: unknown) => {
            if (e instanceof AloftError && e.code === 'DATA_LOSS' && stored !== undefined) {
              throw new AloftError(
                'DATA_LOSS',
                `${e.message}; ${stored} is the object's x-amz-meta-sha256, written at ` +
                  'upload: the object was altered in the store',
                { retryable: true },
              );
            }
            throw e;
          });
          log.debug({ url: displayS3Url(url), bytes: r.bytes, ms: Date.now() - t0 }, 's3 get done');
          return r;
        } finally {
          if (!body.readableEnded) body.destroy();
        }
      });
    },

    async put(srcPath: string, url: string, o: PutOptions = {}): Promise<CopyResult> {
      let fh: FileHandle | undefined;
      const given = o.sha256 === undefined ? undefined : o.sha256.trim().toLowerCase();
      try {
        return await onObject('put', url, o.signal, async ({ client, loc }) => {
          const t0 = Date.now();
          try {
            fh = await open(srcPath, 'r');
          } catch (e) {
            throw storeError(e, `put ${srcPath} to`, displayS3Url(url));
          }
          const st = await fh.stat();
          if (!st.isFile()) {
            throw new AloftError(
              'FAILED_PRECONDITION',
              `put ${srcPath} to ${displayS3Url(url)}: the source is not a regular file`,
              { retryable: false },
            );
          }
          let size = st.size;
          let sha256: string;
          let parts = 1;
          if (size < t.multipartThreshold) {
            const buf = Buffer.allocUnsafe(size);
            size = await readFully(fh, buf, 0);
            const body = buf.subarray(0, size);
            sha256 = createHash('sha256').update(body).digest('hex');
            if (given !== undefined && given !== sha256) {
              throw new AloftError(
                'DATA_LOSS',
                `put ${srcPath} to ${displayS3Url(url)}: the source's sha256 is ${sha256}, ` +
                  `not the expected ${given}`,
                { retryable: true },
              );
            }
            o.signal?.throwIfAborted();
            await client.s3.send(
              withPayloadSha256(
                new client.api.PutObjectCommand({
                  Bucket: loc.bucket,
                  Key: loc.key,
                  Body: body,
                  ContentLength: size,
                  Metadata: { [SHA256_METADATA]: sha256 },
                }),
                sha256,
              ),
              { abortSignal: o.signal },
            );
          } else {
            sha256 = given ?? (await hashFile(fh, size, o.signal));
            parts = await multipartUpload(client, loc, url, fh, size, sha256, o.signal);
          }
          // What the server now holds: right size, our checksum. (Catches servers that store
          // something else — e.g. chunk framing — and writers racing us on the same key.)
          const head = await client.s3
            .send(new client.api.HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }), {
              abortSignal: o.signal,
            })
            .catch(async (e: unknown) => {
              const err = await fail(e, 'put', url, client, o.signal, loc.bucket);
              if (err.code !== 'NOT_FOUND') throw err;
              throw new AloftError(
                'UNAVAILABLE',
                `put ${srcPath} to ${displayS3Url(url)}: the object is not visible after upload`,
              );
            });
          const storedSha = normSha(head.Metadata?.[SHA256_METADATA]);
          if (head.ContentLength !== size || storedSha !== sha256) {
            throw new AloftError(
              'DATA_LOSS',
              `put ${srcPath} to ${displayS3Url(url)}: the store holds ${String(head.ContentLength)} ` +
                `bytes with sha256 ${storedSha ?? '(none)'} after uploading ${size} bytes with ` +
                `sha256 ${sha256}`,
              { retryable: true },
            );
          }
          log.debug(
            { url: displayS3Url(url), bytes: size, parts, ms: Date.now() - t0 },
            's3 put done',
          );
          return { bytes: size, sha256 };
        });
      } finally {
        await fh?.close().catch(() => undefined);
      }
    },

    async stat(url: string, o: StoreOpOptions = {}): Promise<StoreStat | undefined> {
      try {
        return await onObject('stat', url, o.signal, async (at) => {
          const { client } = at;
          const head = await client.s3.send(
            new client.api.HeadObjectCommand({ Bucket: at.loc.bucket, Key: at.loc.key }),
            { abortSignal: o.signal },
          );
          const out: StoreStat = {
            size: head.ContentLength ?? 0,
            mtimeMs: head.LastModified?.getTime() ?? 0,
          };
          if (head.ETag) out.etag = head.ETag.replace(/"/g, '');
          const sha = normSha(head.Metadata?.[SHA256_METADATA]);
          if (sha !== undefined) out.sha256 = sha;
          return out;
        });
      } catch (e) {
        if (e instanceof AloftError && e.code === 'NOT_FOUND') return undefined;
        throw e;
      }
    },

    async delete(url: string, o: StoreOpOptions = {}): Promise<void> {
      try {
        await onObject('delete', url, o.signal, ({ client, loc }) =>
          client.s3.send(new client.api.DeleteObjectCommand({ Bucket: loc.bucket, Key: loc.key }), {
            abortSignal: o.signal,
          }),
        );
      } catch (e) {
        if (e instanceof AloftError && e.code === 'NOT_FOUND') return;
        throw e;
      }
    },

    async *list(prefixUrl: string, o: StoreOpOptions = {}): AsyncIterable<StoreEntry> {
      let client: Client | undefined;
      let loc: S3Location;
      try {
        const at = await locate(prefixUrl, false);
        client = at.client;
        loc = at.loc;
      } catch (e) {
        throw await fail(e, 'list', prefixUrl, client, o.signal);
      }
      let token: string | undefined;
      do {
        let page;
        try {
          page = await client.s3.send(
            new client.api.ListObjectsV2Command({
              Bucket: loc.bucket,
              ...(loc.key !== '' ? { Prefix: loc.key } : {}),
              ...(token !== undefined ? { ContinuationToken: token } : {}),
              MaxKeys: t.listPageSize,
            }),
            { abortSignal: o.signal },
          );
        } catch (e) {
          throw await fail(e, 'list', prefixUrl, client, o.signal, loc.bucket);
        }
        for (const obj of page.Contents ?? []) {
          if (obj.Key === undefined || obj.Key.endsWith('/')) continue;
          yield { url: s3UrlOf(loc, obj.Key), size: obj.Size ?? 0 };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    },

    close(): void {
      for (const c of clients.values()) c.s3.destroy();
      clients.clear();
    },

    withRoutes(routes) {
      return createS3Store({ ...options, routes: [...routes, ...(options.routes ?? [])] });
    },
  };
}

/** Where Pegasus looks for its s3cfg: $S3CFG, else ~/.pegasus/s3cfg. */
export function pegasusS3ConfigPath(env: Record<string, string | undefined>): string {
  return env['S3CFG'] || path.join(env['HOME'] || homedir(), '.pegasus', 's3cfg');
}

export interface S3EnvironmentOptions {
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Extra or overriding named endpoints (e.g. from the site catalog). */
  endpoints?: Record<string, S3EndpointConfig>;
}

/**
 * Build the s3:// store from the environment (AWS_* variables, AWS_PROFILE and the shared
 * config files, ALOFT_S3_PATH_STYLE, and the Pegasus s3cfg file when there is one) and
 * register it for `s3:`. Throws AloftError.invalid listing every problem; no network.
 * The CLI calls it once at start-up, before anything resolves an s3:// URL.
 */
export function registerS3FromEnvironment(o: S3EnvironmentOptions = {}): S3Store {
  const env = o.env ?? process.env;
  const file = pegasusS3ConfigPath(env);
  let fromFile: Record<string, S3EndpointConfig> = {};
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (env['S3CFG'] || (code !== 'ENOENT' && code !== 'ENOTDIR')) {
      throw AloftError.invalid({
        where: env['S3CFG'] ? `environment S3CFG (${file})` : file,
        message: `cannot be read (${code ?? (e as Error).message})`,
      });
    }
  }
  if (text !== undefined) fromFile = parsePegasusS3Config(text, file);
  const store = createS3Store({
    env,
    endpoints: { ...fromFile, ...o.endpoints },
    ...(o.logger ? { logger: o.logger } : {}),
  });
  registerStore(store);
  return store;
}
