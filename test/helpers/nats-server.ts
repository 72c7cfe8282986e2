/**
 * A real `nats-server` for one test file (DESIGN §9): started from a generated config file
 * in its own temp dir on a free loopback port (`port: -1` + `ports_file_dir`), restartable
 * on the SAME port (fault tests: "restart nats-server mid-run"), stopped or SIGKILLed by
 * pid — never by name, other engineers' servers run beside this one. Also generates TLS
 * material (a CA, a server cert for 127.0.0.1/localhost, client certs) with `openssl`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const NATS_SERVER_BIN = '/usr/sbin/nats-server';
export const OPENSSL_BIN = '/usr/bin/openssl';

/** True when the binaries a NATS test needs are installed (tests skip cleanly otherwise). */
export const natsServerAvailable = existsSync(NATS_SERVER_BIN);
export const opensslAvailable = existsSync(OPENSSL_BIN);

/** nats-server permission block: subjects a user may publish / subscribe to. */
export interface NatsPermissionsConfig {
  publish?: { allow?: string[]; deny?: string[] };
  subscribe?: { allow?: string[]; deny?: string[] };
  /** Lets the user reply to requests it received (publish to their reply subjects). */
  allow_responses?: boolean;
}

export interface NatsServerOptions {
  users?: { user: string; password: string; permissions?: NatsPermissionsConfig }[];
  /** Users authenticated by nkey: the PUBLIC user key (`U...`). */
  nkeys?: { nkey: string; permissions?: NatsPermissionsConfig }[];
  token?: string;
  /** TLS for client connections; paths to PEM files. `verify` requires client certs. */
  tls?: { certFile: string; keyFile: string; caFile?: string; verify?: boolean };
  /** Server max_payload in bytes (default nats-server's 1 MiB). */
  maxPayload?: number;
}

export interface NatsServer {
  /** `nats://127.0.0.1:PORT` (also correct for TLS: the client upgrades). */
  readonly url: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** The temp dir holding the config, ports file and log. */
  readonly dir: string;
  /** The server's log so far (for diagnosing a failing test). */
  log(): Promise<string>;
  /** SIGTERM and wait for exit. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Start again on the same port (after stop/kill; stops first if still running). */
  restart(): Promise<void>;
  /** Stop and remove the temp dir. */
  dispose(): Promise<void>;
}

/** nats-server's config syntax is a superset of JSON, so the config is JSON. */
function renderConfig(o: NatsServerOptions, port: number, dir: string): string {
  const conf: Record<string, unknown> = {
    host: '127.0.0.1',
    port,
    ports_file_dir: dir,
    // JetStream stays off: NATS is transport here, never the database (DESIGN §6).
    ...(o.maxPayload !== undefined ? { max_payload: o.maxPayload } : {}),
  };
  const users: Record<string, unknown>[] = [
    ...(o.users ?? []).map((u) => ({
      user: u.user,
      password: u.password,
      ...(u.permissions ? { permissions: u.permissions } : {}),
    })),
    ...(o.nkeys ?? []).map((u) => ({
      nkey: u.nkey,
      ...(u.permissions ? { permissions: u.permissions } : {}),
    })),
  ];
  if (users.length > 0) conf['authorization'] = { users };
  else if (o.token !== undefined) conf['authorization'] = { token: o.token };
  if (o.tls) {
    conf['tls'] = {
      cert_file: o.tls.certFile,
      key_file: o.tls.keyFile,
      ...(o.tls.caFile ? { ca_file: o.tls.caFile } : {}),
      ...(o.tls.verify ? { verify: true } : {}),
      timeout: 5,
    };
  }
  return JSON.stringify(conf, null, 2);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitForPortsFile(dir: string, pid: number, proc: ChildProcess): Promise<number> {
  const file = path.join(dir, `nats-server_${pid}.ports`);
  for (let i = 0; i < 500; i++) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const log = await readFile(path.join(dir, 'server.log'), 'utf8').catch(() => '');
      throw new Error(`nats-server exited during start (${proc.exitCode}):\n${log}`);
    }
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text) {
      const ports = JSON.parse(text) as { nats?: string[] };
      const first = ports.nats?.[0];
      if (first) return Number(new URL(first.replace(/^nats:/, 'http:')).port);
    }
    await sleep(20);
  }
  throw new Error(`nats-server did not write ${file} within 10 s`);
}

/** Start a nats-server from a generated config. Stop it in afterAll with `dispose()`. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aloft-nats-'));
  const confFile = path.join(dir, 'nats-server.conf');
  const logFile = path.join(dir, 'server.log');
  let proc: ChildProcess | undefined;
  let port = -1;

  async function launch(): Promise<void> {
    // Ports files of earlier runs name other pids; clear them so discovery is unambiguous.
    for (const f of await readdir(dir)) if (f.endsWith('.ports')) await rm(path.join(dir, f));
    await writeFile(confFile, renderConfig(options, port, dir));
    const child = spawn(NATS_SERVER_BIN, ['-c', confFile, '-l', logFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc = child;
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (child.pid === undefined) throw new Error('nats-server did not start');
    try {
      const bound = await waitForPortsFile(dir, child.pid, child);
      if (port === -1) port = bound;
    } catch (e) {
      child.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\n${stderr}`);
    }
  }

  async function signalAndWait(sig: NodeJS.Signals): Promise<void> {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(sig);
    await exited;
  }

  await launch();
  const server: NatsServer = {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return proc?.pid;
    },
    dir,
    log: () => readFile(logFile, 'utf8').catch(() => ''),
    stop: () => signalAndWait('SIGTERM'),
    kill: () => signalAndWait('SIGKILL'),
    async restart() {
      await signalAndWait('SIGTERM');
      // The port was just released; retry briefly in case the kernel still holds it.
      for (let i = 0; ; i++) {
        try {
          await launch();
          return;
        } catch (e) {
          if (i >= 20) throw e;
          await sleep(100);
        }
      }
    },
    async dispose() {
      await signalAndWait('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** PEM file paths of a test PKI: one CA, a server cert, and named client certs. */
export interface TlsMaterial {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clients: Record<string, { certFile: string; keyFile: string }>;
}

const run = promisify(execFile);

/**
 * Generate a CA, a server certificate valid for 127.0.0.1 and localhost, and one client
 * certificate per name (CN = name), all EC P-256, with `openssl` (argv, no shell).
 */
export async function generateTlsMaterial(
  dir: string,
  clientNames: string[] = ['client'],
): Promise<TlsMaterial> {
  const f = (n: string): string => path.join(dir, n);
  const ossl = (args: string[]): Promise<unknown> => run(OPENSSL_BIN, args, { cwd: dir });
  const key = (out: string): Promise<unknown> =>
    ossl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out]);

  await mkdir(dir, { recursive: true });
  await key(f('ca-key.pem'));
  await ossl([
    'req', '-x509', '-new', '-key', f('ca-key.pem'), '-sha256', '-days', '2',
    '-subj', '/CN=aloft test CA', '-out', f('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore

  async function leaf(name: string, cn: string, ext: string): Promise<void> {
    await key(f(`${name}-key.pem`));
    await ossl(['req', '-new', '-key', f(`${name}-key.pem`), '-subj', `/CN=${cn}`, '-out', f(`${name}.csr`)]); // prettier-ignore
    await writeFile(f(`${name}.ext`), ext);
    await ossl([
      'x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'),
      '-CAcreateserial', '-days', '2', '-sha256', '-extfile', f(`${name}.ext`),
      '-out', f(`${name}.pem`),
    ]); // prettier-ignore
  }

  await leaf(
    'server',
    'localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  const clients: TlsMaterial['clients'] = {};
  for (const name of clientNames) {
    await leaf(`client-${name}`, name, 'extendedKeyUsage=clientAuth\n');
    clients[name] = { certFile: f(`client-${name}.pem`), keyFile: f(`client-${name}-key.pem`) };
  }
  return {
    dir,
    caFile: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server-key.pem'),
    clients,
  };
}
