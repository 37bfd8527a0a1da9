// Real-broker test harness: spawns Debian's `nats-server` on a free 127.0.0.1 port, with plain,
// operator-JWT (MEMORY resolver) and/or TLS/mTLS configuration minted into a private temp dir.
// Owns: config + credential/cert generation, readiness, stop/restart on the same port, and making
// sure no nats-server outlives the test process. Does not own: NATS clients, the driver under test,
// or skipping — a missing `nats-server`/`openssl` binary is a loud error, never a skipped test.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binarySearchDirs, findExecutable } from '../../src/adapters/private-nats-server.ts';
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  type KeyPair,
  type OperatorLimits,
  type Permission,
} from '@nats-io/jwt';

const execFileAsync = promisify(execFile);

/** nats-server starts in ~10 ms locally; 10 s covers a loaded 2-core CI box without hiding a hang. */
const READY_TIMEOUT_MS = 10_000;
/** Graceful SIGTERM shutdown takes milliseconds; after this we SIGKILL the process group. */
const STOP_TIMEOUT_MS = 5_000;
/** After SIGKILL the kernel reaps promptly; this only bounds waiting on a wedged process. */
const KILL_WAIT_MS = 2_000;
/** The ephemeral port we probe can be stolen before nats-server binds it; retry with a new one. */
const PORT_ATTEMPTS = 3;
/** TLS handshake budget on the server (nats default 2 s); generous for a slow CI box. */
const TLS_HANDSHAKE_TIMEOUT_S = 5;
/** Certificates live for one test run; 2 days tolerates a day boundary and minor clock skew. */
const CERT_VALIDITY_DAYS = 2;
/** Server log kept for diagnostics; bounded so a chatty long-running suite cannot grow memory. */
const LOG_CAP_CHARS = 256 * 1024;
/** Where Debian puts the binary; not on a non-root PATH, so checked explicitly. */
const INSTALL_HINT = 'apt-get install -y nats-server';
const LOOPBACK = '127.0.0.1';

export type TlsMode = 'off' | 'server' | 'mutual';
export type AuthMode = 'none' | 'jwt';
export type StopSignal = 'SIGTERM' | 'SIGKILL';

export interface StartNatsServerOptions {
  /** 'none' (default) or 'jwt': operator/account/user JWTs with `resolver: MEMORY`. */
  readonly auth?: AuthMode;
  /** 'off' (default), 'server' (server cert only) or 'mutual' (client cert required). */
  readonly tls?: TlsMode;
  /** Raw nats-server config appended verbatim (e.g. `max_payload: 4096`). */
  readonly extraConfig?: string;
  /**
   * The broker's `max_payload` in bytes (nats default 1 MiB). Clients learn it from the server's
   * INFO and refuse to publish anything bigger, headers included.
   */
  readonly maxPayload?: number;
}

export interface MintUserOptions {
  readonly name?: string;
  /** Publish allow-list (empty/absent = unrestricted). */
  readonly pub?: readonly string[];
  /** Subscribe allow-list (empty/absent = unrestricted). Request/reply needs `_INBOX.>` here. */
  readonly sub?: readonly string[];
  readonly denyPub?: readonly string[];
  readonly denySub?: readonly string[];
  /** JWT expiry, unix seconds. */
  readonly expiresAt?: number;
}

export interface MintedUser {
  /** `.creds` file content (JWT + seed), as produced by fmtCreds. */
  readonly creds: string;
  /** Path of the creds file (mode 0600) inside configDir. */
  readonly credsFile: string;
  readonly jwt: string;
  readonly seed: string;
  readonly publicKey: string;
}

export interface JwtMaterial extends MintedUser {
  readonly operatorPublicKey: string;
  readonly accountPublicKey: string;
  readonly systemAccountPublicKey: string;
  /** A further user of the trusted account, optionally with narrower permissions. */
  mintUser(options?: MintUserOptions): Promise<MintedUser>;
  /** A well-formed user signed by an account the server does not trust (must be rejected). */
  mintUntrustedUser(): Promise<MintedUser>;
}

export interface TlsMaterial {
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** Present in both TLS modes; only required by the server in 'mutual'. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

export interface RestartOptions {
  /** How the old process dies: 'SIGTERM' (graceful, default) or 'SIGKILL' (crash). */
  readonly signal?: StopSignal;
  /** Runs while the broker is down, before it is started again on the same port. */
  readonly whileDown?: () => Promise<void> | void;
}

export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>`. TLS modes still use this URL; pass `tls` options to the client. */
  readonly url: string;
  readonly port: number;
  readonly configDir: string;
  readonly configFile: string;
  readonly jwt: JwtMaterial | undefined;
  readonly tls: TlsMaterial | undefined;
  /** True while the current nats-server process is alive. */
  readonly running: boolean;
  /** PID of the current nats-server (from its log prefix), for orphan checks; undefined when down. */
  readonly pid: number | undefined;
  /** Server log (stderr) of all runs so far, bounded to the most recent LOG_CAP_CHARS. */
  logs(): string;
  /** Kills the server and removes configDir. Idempotent. The handle is unusable afterwards. */
  stop(): Promise<void>;
  /** Stops the server and starts it again with the same port and config. */
  restart(options?: RestartOptions): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Orphan protection. Each server runs under a tiny sh watchdog in its own process group: the
// watchdog kills nats-server when its stdin pipe from us closes — which the kernel does even if
// this process is SIGKILLed. On an orderly exit we additionally SIGKILL every live group.

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  });
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

// $1.. = nats-server argv. fd 3 keeps our pipe for the background reader (async lists otherwise
// get /dev/null as stdin). The reader forwards one signal name, or TERM on EOF (parent died).
// sh exits only after nats-server has, so our 'exit' event means the port is free again.
const WATCHDOG_SCRIPT = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'child=$!',
  '( read -r sig || sig=TERM; case "$sig" in KILL) ;; *) sig=TERM ;; esac; kill -s "$sig" "$child" ) <&3 >/dev/null 2>&1 &',
  'reader=$!',
  'exec 3<&-',
  'wait "$child"',
  'status=$?',
  'kill "$reader" 2>/dev/null',
  'exit "$status"',
].join('\n');

// ---------------------------------------------------------------------------------------------
// Binaries

/** PATH entries followed by the sbin directories Debian installs daemons into. */
export function defaultSearchDirs(): string[] {
  return binarySearchDirs(process.env['PATH']);
}

/** Absolute path of nats-server; throws (never skips) when it is not installed. */
export function findNatsServer(searchDirs: readonly string[] = defaultSearchDirs()): string {
  const found = findExecutable('nats-server', searchDirs);
  if (found === undefined) {
    throw new Error(
      `nats-server not found in ${searchDirs.join(':')}. The real-broker tests ` +
        `require it and never skip: install it with \`${INSTALL_HINT}\` (Debian/Ubuntu).`,
    );
  }
  return found;
}

function findOpenssl(): string {
  const found = findExecutable('openssl', defaultSearchDirs());
  if (found === undefined) {
    throw new Error('openssl not found on PATH; TLS test certificates need it: `apt-get install -y openssl`.');
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Ports

export async function freeLoopbackPort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, LOOPBACK, () => {
      const address = probe.address();
      if (address === null || typeof address === 'string') {
        probe.close();
        reject(new Error('could not determine a free loopback port'));
        return;
      }
      probe.close(() => resolve(address.port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Credentials

async function writeSecret(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600); // umask cannot widen, but an existing file keeps its old mode
}

function permission(allow: readonly string[] | undefined, deny: readonly string[] | undefined): Partial<Permission> {
  const p: Partial<Permission> = {};
  if (allow !== undefined && allow.length > 0) p.allow = [...allow];
  if (deny !== undefined && deny.length > 0) p.deny = [...deny];
  return p;
}

let userCounter = 0;

async function mintUserWith(
  account: KeyPair,
  dir: string,
  options: MintUserOptions,
): Promise<MintedUser> {
  userCounter += 1;
  const name = options.name ?? `user-${userCounter}`;
  const ukp = createUser();
  const jwt = await encodeUser(
    name,
    ukp,
    account,
    {
      pub: permission(options.pub, options.denyPub),
      sub: permission(options.sub, options.denySub),
    },
    options.expiresAt === undefined ? {} : { exp: options.expiresAt },
  );
  const creds = new TextDecoder().decode(fmtCreds(jwt, ukp));
  const credsFile = join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${userCounter}.creds`);
  await writeSecret(credsFile, creds);
  return {
    creds,
    credsFile,
    jwt,
    seed: new TextDecoder().decode(ukp.getSeed()),
    publicKey: ukp.getPublicKey(),
  };
}

async function createJwtMaterial(dir: string): Promise<{ material: JwtMaterial; config: string }> {
  const okp = createOperator();
  const sys = createAccount();
  const acct = createAccount();
  const operatorJwt = await encodeOperator('reachy-test-operator', okp, {
    system_account: sys.getPublicKey(),
  });
  // Absent limits decode as 0 in nats-server (no connections allowed); -1 means unlimited.
  const limits: OperatorLimits = {
    subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1,
  };
  const sysJwt = await encodeAccount('SYS', sys, { limits }, { signer: okp });
  const acctJwt = await encodeAccount('reachy-test', acct, { limits }, { signer: okp });
  const operatorFile = join(dir, 'operator.jwt');
  await writeFile(operatorFile, operatorJwt, { mode: 0o600 });

  const user = await mintUserWith(acct, dir, { name: 'driver' });
  const material: JwtMaterial = {
    ...user,
    operatorPublicKey: okp.getPublicKey(),
    accountPublicKey: acct.getPublicKey(),
    systemAccountPublicKey: sys.getPublicKey(),
    mintUser: (options = {}) => mintUserWith(acct, dir, options),
    mintUntrustedUser: () => mintUserWith(createAccount(), dir, { name: 'untrusted' }),
  };
  const config = [
    `operator: ${JSON.stringify(operatorFile)}`,
    `system_account: ${sys.getPublicKey()}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${sys.getPublicKey()}: ${JSON.stringify(sysJwt)}`,
    `  ${acct.getPublicKey()}: ${JSON.stringify(acctJwt)}`,
    '}',
  ].join('\n');
  return { material, config };
}

// ---------------------------------------------------------------------------------------------
// Certificates

async function createTlsMaterial(dir: string, mode: 'server' | 'mutual'): Promise<{ material: TlsMaterial; config: string }> {
  const openssl = findOpenssl();
  const f = (name: string): string => join(dir, name);
  const run = async (args: readonly string[]): Promise<void> => {
    try {
      await execFileAsync(openssl, args, { cwd: dir });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? '';
      throw new Error(`openssl ${args.join(' ')} failed: ${stderr}`, { cause: err });
    }
  };
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

  await writeFile(
    f('ca.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      'x509_extensions = v3_ca',
      '[dn]',
      'CN = reachy-mini-driver test CA',
      '[v3_ca]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  await run(['req', '-x509', '-new', ...ecKey, '-keyout', f('ca-key.pem'), '-out', f('ca.pem'),
    '-days', String(CERT_VALIDITY_DAYS), '-config', f('ca.cnf')]);

  const leaf = async (name: string, cn: string, extensions: readonly string[]): Promise<void> => {
    await writeFile(
      f(`${name}.cnf`),
      ['[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', `CN = ${cn}`,
        '[v3_leaf]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature',
        'authorityKeyIdentifier = keyid', ...extensions, ''].join('\n'),
    );
    await run(['req', '-new', ...ecKey, '-keyout', f(`${name}-key.pem`), '-out', f(`${name}.csr`),
      '-config', f(`${name}.cnf`)]);
    await run(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'),
      '-CAcreateserial', '-out', f(`${name}.pem`), '-days', String(CERT_VALIDITY_DAYS),
      '-extfile', f(`${name}.cnf`), '-extensions', 'v3_leaf']);
    await chmod(f(`${name}-key.pem`), 0o600);
  };
  await leaf('server', 'localhost', ['extendedKeyUsage = serverAuth', `subjectAltName = IP:${LOOPBACK},DNS:localhost`]);
  await leaf('client', 'reachy-test-client', ['extendedKeyUsage = clientAuth']);

  const material: TlsMaterial = {
    caFile: f('ca.pem'),
    serverCertFile: f('server.pem'),
    serverKeyFile: f('server-key.pem'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client-key.pem'),
  };
  const config = [
    'tls {',
    `  cert_file: ${JSON.stringify(material.serverCertFile)}`,
    `  key_file: ${JSON.stringify(material.serverKeyFile)}`,
    `  ca_file: ${JSON.stringify(material.caFile)}`,
    `  verify: ${mode === 'mutual' ? 'true' : 'false'}`,
    `  timeout: ${TLS_HANDSHAKE_TIMEOUT_S}`,
    '}',
  ].join('\n');
  return { material, config };
}

// ---------------------------------------------------------------------------------------------
// Process

interface RunningProcess {
  readonly child: ChildProcess;
  readonly pgid: number;
  readonly exited: Promise<number | null>;
  alive: boolean;
  serverPid: number | undefined;
}

class StartFailure extends Error {
  readonly portInUse: boolean;
  constructor(message: string, portInUse: boolean) {
    super(message);
    this.portInUse = portInUse;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function spawnServer(binary: string, configFile: string, appendLog: (text: string) => void): Promise<RunningProcess> {
  installExitHook();
  const child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'nats-server-watchdog', binary, '-c', configFile], {
    detached: true, // own process group, so killGroup reaches sh and nats-server together
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const pgid = child.pid;
  if (pgid === undefined) {
    return Promise.reject(new Error(`failed to spawn ${binary}`));
  }
  liveGroups.add(pgid);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      liveGroups.delete(pgid);
      proc.alive = false;
      child.stdin?.end(); // lets the watchdog's reader finish
      resolve(code);
    });
  });
  const proc: RunningProcess = { child, pgid, exited, alive: true, serverPid: undefined };
  child.stdin?.on('error', () => {}); // EPIPE after the watchdog has gone is expected

  let ownLog = '';
  return new Promise<RunningProcess>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      appendLog(chunk);
      if (!settled) {
        ownLog += chunk;
        if (ownLog.includes('Server is ready')) {
          const pid = /^\[(\d+)\]/.exec(ownLog)?.[1];
          if (pid !== undefined) proc.serverPid = Number(pid);
          settle(() => resolve(proc));
        }
      }
    });
    child.once('error', (err) => settle(() => reject(err)));
    void exited.then((code) =>
      settle(() =>
        reject(
          new StartFailure(
            `nats-server exited (code ${String(code)}) before becoming ready:\n${ownLog}`,
            /address already in use/i.test(ownLog),
          ),
        ),
      ),
    );
    const timer = setTimeout(() => {
      settle(() => {
        killGroup(pgid, 'SIGKILL');
        reject(new Error(`nats-server not ready within ${READY_TIMEOUT_MS} ms:\n${ownLog}`));
      });
    }, READY_TIMEOUT_MS);
  });
}

async function stopProcess(proc: RunningProcess, signal: StopSignal): Promise<void> {
  if (!proc.alive) return;
  proc.child.stdin?.end(signal === 'SIGKILL' ? 'KILL\n' : 'TERM\n');
  if ((await withTimeout(proc.exited, STOP_TIMEOUT_MS)) !== 'timeout') return;
  killGroup(proc.pgid, 'SIGKILL');
  if ((await withTimeout(proc.exited, KILL_WAIT_MS)) === 'timeout') {
    throw new Error(`nats-server process group ${proc.pgid} did not exit after SIGKILL`);
  }
}

/** One nats-server process under the watchdog, for harnesses that write their own config (clusters, leaf nodes). */
export interface NatsProcess {
  /** PID of nats-server itself (from its log prefix). */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Resolves with the exit code once the process (and its watchdog) is gone. */
  readonly exited: Promise<number | null>;
  /** 'SIGTERM' (graceful, default) or 'SIGKILL' (a crash); resolves once the process has exited. */
  stop(signal?: StopSignal): Promise<void>;
}

/** Starts nats-server with `configFile` and resolves once it logs 'Server is ready'; its stderr goes to `appendLog`. */
export async function spawnNatsProcess(configFile: string, appendLog: (text: string) => void): Promise<NatsProcess> {
  const proc = await spawnServer(findNatsServer(), configFile, appendLog);
  return {
    get pid() {
      return proc.alive ? proc.serverPid : undefined;
    },
    get running() {
      return proc.alive;
    },
    exited: proc.exited,
    stop: (signal = 'SIGTERM') => stopProcess(proc, signal),
  };
}

// ---------------------------------------------------------------------------------------------
// Public entry point

/** Starts a nats-server on 127.0.0.1 and resolves once it logs 'Server is ready'. */
export async function startNatsServer(options: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = findNatsServer();
  const auth = options.auth ?? 'none';
  const tlsMode = options.tls ?? 'off';
  const configDir = await mkdtemp(join(tmpdir(), 'reachy-nats-'));
  const configFile = join(configDir, 'nats-server.conf');

  let log = '';
  const appendLog = (text: string): void => {
    log += text;
    if (log.length > LOG_CAP_CHARS) log = log.slice(log.length - LOG_CAP_CHARS);
  };

  let current: RunningProcess | undefined;
  let port = 0;
  try {
    const sections: string[] = [];
    let jwt: JwtMaterial | undefined;
    let tls: TlsMaterial | undefined;
    if (auth === 'jwt') {
      const made = await createJwtMaterial(configDir);
      jwt = made.material;
      sections.push(made.config);
    }
    if (tlsMode !== 'off') {
      const made = await createTlsMaterial(configDir, tlsMode);
      tls = made.material;
      sections.push(made.config);
    }
    if (options.maxPayload !== undefined) {
      if (!Number.isInteger(options.maxPayload) || options.maxPayload <= 0) throw new RangeError(`maxPayload must be a positive integer, got ${options.maxPayload}`);
      sections.push(`max_payload: ${options.maxPayload}`);
    }
    if (options.extraConfig !== undefined) sections.push(options.extraConfig);

    for (let attempt = 1; ; attempt += 1) {
      port = await freeLoopbackPort();
      const config = [`listen: "${LOOPBACK}:${port}"`, `server_name: reachy_test_${port}`, ...sections, ''].join('\n');
      await writeFile(configFile, config, { mode: 0o600 });
      try {
        current = await spawnServer(binary, configFile, appendLog);
        break;
      } catch (err) {
        if (err instanceof StartFailure && err.portInUse && attempt < PORT_ATTEMPTS) continue;
        throw err;
      }
    }

    let stopped = false;
    const handle: NatsServerHandle = {
      url: `nats://${LOOPBACK}:${port}`,
      port,
      configDir,
      configFile,
      jwt,
      tls,
      get running() {
        return current?.alive ?? false;
      },
      get pid() {
        return current?.alive === true ? current.serverPid : undefined;
      },
      logs: () => log,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        try {
          if (current !== undefined) await stopProcess(current, 'SIGTERM');
        } finally {
          current = undefined;
          await rm(configDir, { recursive: true, force: true });
        }
      },
      restart: async (restartOptions = {}) => {
        if (stopped) throw new Error('restart() after stop(): start a new server instead');
        if (current !== undefined) await stopProcess(current, restartOptions.signal ?? 'SIGTERM');
        current = undefined;
        if (restartOptions.whileDown !== undefined) await restartOptions.whileDown();
        // Same port and config file: clients reconnecting to `url` must find the same broker.
        current = await spawnServer(binary, configFile, appendLog);
      },
    };
    return handle;
  } catch (err) {
    if (current !== undefined) await stopProcess(current, 'SIGKILL').catch(() => {});
    await rm(configDir, { recursive: true, force: true });
    throw err;
  }
}
