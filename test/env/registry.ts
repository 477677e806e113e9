/**
 * A real registry (Debian's `docker-registry`, CNCF distribution 2.8) on 127.0.0.1 for tests, in one of four
 * modes: plain HTTP, TLS, TLS + htpasswd basic auth, TLS + bearer tokens from our token server.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { testCertificates } from './certs.ts';
import { httpGet } from './http-get.ts';
import { registerLeftover } from './process-cleanup.ts';
import { dockerConfigJson, registryConfig } from './registry-config.ts';
import { run } from './run.ts';
import { startTokenServer, type AnonymousAccess, type TokenScope, type TokenServer } from './token-server.ts';

export type RegistryMode = 'plain' | 'tls' | 'basic' | 'token';

export interface StartRegistryOptions {
  mode: RegistryMode;
  /** username → password for 'basic' and 'token' (default: one user `kiln` / `kiln-test-password`). */
  users?: Record<string, string>;
  /** Fixed port (no retry when busy); default: a free one. */
  port?: number;
  /** Storage root to use and keep (e.g. to reuse pushed content); default: a temp dir removed by stop(). */
  dir?: string;
  /** 'basic' and 'token' use TLS unless this is false; 'tls' always does, 'plain' never. */
  tls?: boolean;
  /** 'token' mode: what anonymous requests get (default 'pull'). */
  anonymous?: AnonymousAccess;
  /** 'token' mode: custom grant policy (subject undefined = anonymous). */
  grant?: (subject: string | undefined, scope: TokenScope) => string[];
  /** 'token' mode: token lifetime in seconds (default 300). */
  tokenTtlSeconds?: number;
}

export interface TestRegistry {
  mode: RegistryMode;
  /** `127.0.0.1:PORT` */
  host: string;
  /** `http(s)://127.0.0.1:PORT` */
  url: string;
  tls: boolean;
  /** PEM file of the test CA (TLS registries). */
  caFile?: string;
  /** A directory holding `ca.crt`, for `skopeo --cert-dir` and friends (TLS registries). */
  certDir?: string;
  /** The first user (basic/token). */
  username?: string;
  password?: string;
  users: Record<string, string>;
  tokenServer?: TokenServer;
  /** A dir with a config.json holding valid credentials for this registry (no auths when none are needed). */
  dockerConfigDir: string;
  /** The registry's process id. */
  pid: number;
  /** The registry's temp dir (config, htpasswd, log, storage unless `dir` was given); removed by stop(). */
  workDir: string;
  storageDir: string;
  logFile: string;
  stop(): Promise<void>;
}

export const defaultUsers: Readonly<Record<string, string>> = { kiln: 'kiln-test-password' };

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

async function htpasswdFile(dir: string, users: Record<string, string>): Promise<string> {
  const lines: string[] = [];
  for (const [user, password] of Object.entries(users)) {
    lines.push((await run('htpasswd', ['-Bbn', user, password])).stdout.trim());
  }
  const file = join(dir, 'htpasswd');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

interface Launched { pid: number; exited: Promise<number | null> }

function launch(configFile: string, logFile: string): Launched {
  const logFd = openSync(logFile, 'a');
  try {
    const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', logFd, logFd] });
    const exited = new Promise<number | null>((resolvePromise) => {
      child.on('exit', (code) => resolvePromise(code));
      child.on('error', () => resolvePromise(-1));
    });
    if (child.pid === undefined) throw new Error('could not start docker-registry (is it installed?)');
    // The registry must not keep a test process alive on its own.
    child.unref();
    return { pid: child.pid, exited };
  } finally {
    closeSync(logFd);
  }
}

/**
 * Resolves true once the registry logged that it listens on `port` and `/v2/` answers, false when the process
 * exits first. The log line matters: when the port is taken, another server may answer `/v2/` in its place.
 */
async function waitUntilServing(url: string, port: number, logFile: string, ca: string | undefined, launched: Launched): Promise<boolean> {
  let exited = false;
  void launched.exited.then(() => { exited = true; });
  const listening = `listening on 127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) return false;
    if (readFileSync(logFile, 'utf8').includes(listening)) {
      try {
        await httpGet(`${url}/v2/`, { ca, timeoutMs: 1000 });
        return !exited;
      } catch { /* not accepting yet */ }
    }
    await sleep(25);
  }
  throw new Error(`registry at ${url} did not answer /v2/ within 20 s (log: ${logFile})`);
}

async function stopProcess(launched: Launched): Promise<void> {
  if (!isAlive(launched.pid)) return;
  try { process.kill(launched.pid, 'SIGTERM'); } catch { return; }
  // The timer is cancelled once the process exits, so a finished test does not wait out the 5 s.
  const timer = new AbortController();
  const timedOut = await Promise.race([
    launched.exited.then(() => false),
    sleep(5000, undefined, { signal: timer.signal }).then(() => true, () => false),
  ]);
  timer.abort();
  if (timedOut) {
    try { process.kill(launched.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    await launched.exited;
  }
}

export async function startRegistry(options: StartRegistryOptions): Promise<TestRegistry> {
  const { mode } = options;
  const tls = mode === 'tls' || ((mode === 'basic' || mode === 'token') && options.tls !== false);
  const needsUsers = mode === 'basic' || mode === 'token';
  const users = needsUsers ? { ...(options.users ?? defaultUsers) } : {};
  const [username, password] = Object.entries(users)[0] ?? [undefined, undefined];

  const workDir = mkdtempSync(join(tmpdir(), `kiln-registry-${mode}-`));
  const leftover = { dir: workDir, pid: undefined as number | undefined };
  const forget = registerLeftover(leftover);
  let tokenServer: TokenServer | undefined;
  try {
    const storageDir = options.dir ?? join(workDir, 'storage');
    mkdirSync(storageDir, { recursive: true });
    const logFile = join(workDir, 'registry.log');
    const certs = tls || mode === 'token' ? await testCertificates() : undefined;
    let certDir: string | undefined;
    if (certs && tls) {
      certDir = join(workDir, 'certs');
      mkdirSync(certDir);
      copyFileSync(certs.caCertFile, join(certDir, 'ca.crt'));
    }
    const ca = certs ? readFileSync(certs.caCertFile, 'utf8') : undefined;
    const htpasswd = mode === 'basic' ? await htpasswdFile(workDir, users) : undefined;
    if (mode === 'token' && certs) {
      tokenServer = await startTokenServer({
        service: 'kiln-test-registry', issuer: 'kiln-test-token-server', users,
        signingKeyFile: certs.tokenKeyFile, signingCertFile: certs.tokenCertFile,
        tls: tls ? { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile } : undefined,
        anonymous: options.anonymous, grant: options.grant, ttlSeconds: options.tokenTtlSeconds,
      });
    }

    const scheme = tls ? 'https' : 'http';
    for (let attempt = 0; ; attempt++) {
      const port = options.port ?? await freePort();
      const configFile = join(workDir, 'config.yml');
      writeFileSync(configFile, JSON.stringify(registryConfig({
        port, storageDir, secret: randomBytes(16).toString('hex'),
        tls: tls && certs ? { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile } : undefined,
        htpasswdFile: htpasswd,
        token: tokenServer && certs ? {
          realm: tokenServer.realm, service: tokenServer.service, issuer: tokenServer.issuer,
          rootCertBundle: certs.caCertFile,
        } : undefined,
      }), null, 2));
      const launched = launch(configFile, logFile);
      leftover.pid = launched.pid;
      const host = `127.0.0.1:${port}`;
      const url = `${scheme}://${host}`;
      if (!(await waitUntilServing(url, port, logFile, ca, launched))) {
        const log = readFileSync(logFile, 'utf8');
        if (options.port === undefined && attempt < 5 && log.includes('address already in use')) continue;
        throw new Error(`docker-registry exited at start; log ${logFile}:\n${log.split('\n').slice(-10).join('\n')}`);
      }
      const dockerConfigDir = join(workDir, 'docker');
      mkdirSync(dockerConfigDir);
      writeFileSync(join(dockerConfigDir, 'config.json'), dockerConfigJson(host, username, password));
      const ownedTokenServer = tokenServer;
      let stopped = false;
      return {
        mode, host, url, tls, users, dockerConfigDir, workDir, storageDir, logFile, pid: launched.pid,
        ...(certs && tls ? { caFile: certs.caCertFile, certDir } : {}),
        ...(username === undefined ? {} : { username, password }),
        ...(ownedTokenServer ? { tokenServer: ownedTokenServer } : {}),
        stop: async () => {
          if (stopped) return;
          stopped = true;
          await stopProcess(launched);
          await ownedTokenServer?.stop();
          rmSync(workDir, { recursive: true, force: true });
          forget();
        },
      };
    }
  } catch (error) {
    if (leftover.pid !== undefined && isAlive(leftover.pid)) process.kill(leftover.pid, 'SIGKILL');
    await tokenServer?.stop();
    rmSync(workDir, { recursive: true, force: true });
    forget();
    throw error;
  }
}
