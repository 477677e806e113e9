/**
 * The docker credential-helper protocol: `docker-credential-<name> get` reads the server URL on stdin and
 * prints {"ServerURL","Username","Secret"}; a Username of "<token>" means Secret is an identity token.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { KilnError } from '../errors.ts';
import type { Credentials } from './docker-config.ts';

const NOT_FOUND = 'credentials not found';
const TIMEOUT_MS = 60_000;

interface HelperOutput {
  Username?: string;
  Secret?: string;
}

/** Runs the helper; "credentials not found" gives empty credentials (anonymous). */
export async function getFromCredentialHelper(helper: string, serverUrl: string, env: Record<string, string | undefined>): Promise<Credentials> {
  const program = `docker-credential-${helper}`;
  const { code, stdout, stderr, spawnError } = await run(program, ['get'], serverUrl, env);
  if (spawnError) {
    throw new KilnError('CREDENTIAL_HELPER_FAILED', `credential helper ${program} could not be run: ${spawnError.code ?? spawnError.message}`, {
      hint: `install ${program} on PATH, or remove "${helper}" from credHelpers/credsStore in the docker config`,
    });
  }
  if (code !== 0) {
    if (stdout.includes(NOT_FOUND) || stderr.includes(NOT_FOUND)) return {};
    // The helper's own output may echo secrets; report only its first line, trimmed.
    const reason = (stderr || stdout).trim().split('\n')[0]?.slice(0, 200) ?? '';
    throw new KilnError('CREDENTIAL_HELPER_FAILED', `credential helper ${program} failed for ${serverUrl} (exit ${code})${reason ? `: ${reason}` : ''}`);
  }
  let parsed: HelperOutput;
  try {
    parsed = JSON.parse(stdout) as HelperOutput;
  } catch {
    throw new KilnError('CREDENTIAL_HELPER_FAILED', `credential helper ${program} printed something that is not JSON for ${serverUrl}`);
  }
  if (parsed.Username === '<token>') return parsed.Secret ? { identityToken: parsed.Secret } : {};
  const credentials: Credentials = {};
  if (parsed.Username) credentials.username = parsed.Username;
  if (parsed.Secret) credentials.password = parsed.Secret;
  return credentials;
}

/** Whether `docker-credential-<helper>` is an executable file in one of PATH's directories. */
export function isHelperOnPath(helper: string, env: Record<string, string | undefined>): boolean {
  const program = `docker-credential-${helper}`;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, program);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return true;
    } catch {
      // not here
    }
  }
  return false;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  spawnError?: NodeJS.ErrnoException;
}

function run(program: string, args: string[], input: string, env: Record<string, string | undefined>): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    // spawn's own `timeout` keeps its timer when the program cannot be started at all.
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS).unref();
    child.on('close', () => clearTimeout(timer));
    child.on('error', () => clearTimeout(timer));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // the helper may exit before reading stdin
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout: '', stderr: '', spawnError: e }));
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.end(input);
  });
}
