/**
 * `kiln warm`: kaniko's warmer. Fetches images (`--image`, or every base image of `--dockerfile`) into the
 * base-image cache `--cache-dir`, which `kiln build --cache=true --cache-dir DIR` reads without a registry.
 * Flags follow kaniko's warmer (its shorthands differ from the executor's: -c is --cache-dir, -d --dockerfile).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { dockerfileImages, warmImages, type WarmTarget } from '../../cache/warmer.ts';
import { KilnError } from '../../errors.ts';
import { parsePlatform, hostPlatform } from '../../image/platform.ts';
import { parseLogFormat, parseLogLevel } from '../../log/levels.ts';
import { createLogger, type Logger } from '../../log/logger.ts';
import { jsonLogsRequested, reportErrorAsJson } from '../json-errors.ts';
import { createTransferProgress } from '../../log/transfer-progress.ts';
import {
  addRegistryMap, addRegistryMirror, defaultRegistryOptions, parseRegistryCertificate, parseRegistryClientCert,
  type RegistryOptions,
} from '../../registry/options.ts';
import { parseFlags, parseGoDuration, usageError, type ParsedArgv } from '../flag-parser.ts';
import { findFlag, type FlagSpec } from '../kaniko-flags.ts';

/** The executor's spec for a flag the warmer shares, optionally with another shorthand. */
function shared(name: string, short?: string): FlagSpec {
  const spec = findFlag(name);
  if (!spec) throw new Error(`flag table has no --${name}`);
  const { short: _executorShort, note: _note, ...rest } = spec;
  return { ...rest, status: 'supported', ...(short ? { short } : {}) };
}

export const WARM_FLAGS: readonly FlagSpec[] = [
  { name: 'image', short: 'i', type: 'repeatable', default: undefined, valueName: 'IMAGE', group: 'cache', status: 'supported',
    help: 'Image to cache. Set it repeatedly for multiple images.' },
  { name: 'dockerfile', short: 'd', type: 'string', default: '', valueName: 'PATH', group: 'cache', status: 'supported',
    help: 'Path to a Dockerfile: every image its stages start from (and COPY --from) is cached.' },
  { name: 'cache-dir', short: 'c', type: 'string', default: '/cache', valueName: 'DIR', group: 'cache', status: 'supported',
    help: 'Directory of the base-image cache (an OCI image layout).' },
  { name: 'force', short: 'f', type: 'bool', default: false, group: 'cache', status: 'supported',
    help: 'Fetch images even when the cache holds a fresh copy.' },
  shared('cache-ttl'),
  shared('build-arg'),
  shared('custom-platform'),
  ...['insecure', 'insecure-pull', 'skip-tls-verify', 'skip-tls-verify-pull', 'insecure-registry', 'skip-tls-verify-registry',
    'registry-certificate', 'registry-client-cert', 'registry-mirror', 'registry-map', 'skip-default-registry-fallback',
    'image-download-retry'].map((n) => shared(n)),
  shared('verbosity', 'v'),
  shared('log-format'),
  shared('log-timestamp'),
];

function renderWarmHelp(): string {
  const col = 44;
  const lines = [
    'Usage: kiln warm [flags]',
    '',
    "Fetch base images into a cache directory (kaniko's warmer), for builds with --cache=true --cache-dir DIR.",
    '',
    'Flags:',
  ];
  for (const f of WARM_FLAGS) {
    const usage = `  ${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.type === 'bool' ? '[=BOOL]' : ` ${f.valueName ?? 'VALUE'}`}`;
    const def = f.type !== 'repeatable' && f.default !== undefined && f.default !== '' ? ` (default ${String(f.default)})` : '';
    lines.push((usage.length < col ? usage.padEnd(col) : `${usage}\n${' '.repeat(col)}`) + f.help + def);
  }
  lines.push('  -h, --help'.padEnd(col) + 'Show this help.', '', 'Environment: DOCKER_CONFIG (registry credentials).');
  return lines.join('\n') + '\n';
}

function list(parsed: ParsedArgv, name: string): string[] {
  const v = parsed.flags.get(name)?.value;
  return Array.isArray(v) ? v : [];
}

function str(parsed: ParsedArgv, name: string): string {
  return String(parsed.flags.get(name)?.value ?? '');
}

function registryOptions(parsed: ParsedArgv, env: NodeJS.ProcessEnv, logger: Logger): RegistryOptions {
  let registryMaps: Record<string, string[]> = {};
  for (const value of list(parsed, 'registry-map')) {
    for (const kv of value.split(';').filter((s) => s !== '')) registryMaps = addRegistryMap(registryMaps, kv);
  }
  for (const m of list(parsed, 'registry-mirror')) registryMaps = addRegistryMirror(registryMaps, m);
  const retry = Number(parsed.flags.get('image-download-retry')?.value ?? 0);
  if (retry < 0) throw usageError(`invalid value "${retry}" for --image-download-retry: expected a number >= 0`);
  return defaultRegistryOptions({
    insecurePush: parsed.flags.get('insecure')?.value === true,
    insecurePull: parsed.flags.get('insecure-pull')?.value === true,
    skipTlsVerifyPush: parsed.flags.get('skip-tls-verify')?.value === true,
    skipTlsVerifyPull: parsed.flags.get('skip-tls-verify-pull')?.value === true,
    insecureRegistries: list(parsed, 'insecure-registry'),
    skipTlsVerifyRegistries: list(parsed, 'skip-tls-verify-registry'),
    registryCertificates: Object.fromEntries(list(parsed, 'registry-certificate').map(parseRegistryCertificate)),
    registryClientCerts: Object.fromEntries(list(parsed, 'registry-client-cert').map(parseRegistryClientCert)),
    registryMaps,
    skipDefaultRegistryFallback: parsed.flags.get('skip-default-registry-fallback')?.value === true,
    imageDownloadRetry: retry,
    ...(env.DOCKER_CONFIG ? { dockerConfigDir: env.DOCKER_CONFIG } : {}),
    env,
    log: (m) => logger.warn(m),
    info: (m) => logger.info(m),
    progress: createTransferProgress(logger),
  });
}

function buildArgs(parsed: ParsedArgv, env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list(parsed, 'build-arg')) {
    const eq = item.indexOf('=');
    if (eq === 0) throw usageError(`invalid value "${item}" for --build-arg: the key is empty`);
    if (eq < 0) out.set(item, env[item] ?? '');
    else out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

/** Runs `kiln warm` with its raw arguments. */
export async function runWarmCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<void> {
  const parsed = parseFlags(argv, env, WARM_FLAGS);
  if (parsed.help) {
    process.stdout.write(renderWarmHelp());
    return;
  }
  if (parsed.operands.length > 0) throw usageError(`unexpected argument "${parsed.operands[0]}"`, 'kiln warm takes flags only');
  const logger = createLogger({
    level: parseLogLevel(str(parsed, 'verbosity')),
    format: (() => {
      const f = parseLogFormat(str(parsed, 'log-format'));
      return env.NO_COLOR && f === 'color' ? 'text' : f;
    })(),
    timestamp: parsed.flags.get('log-timestamp')?.value === true,
    statusLine: process.stderr.isTTY === true && str(parsed, 'log-format') !== 'json',
  });
  for (const d of parsed.deprecations) logger.warn(d);
  const ttlMs = parseGoDuration(str(parsed, 'cache-ttl')) ?? 0;
  const platformText = str(parsed, 'custom-platform');
  const platform = platformText === '' ? hostPlatform() : parsePlatform(platformText);
  const targets: WarmTarget[] = list(parsed, 'image').map((name) => ({ name, platform }));
  const dockerfile = str(parsed, 'dockerfile');
  if (dockerfile !== '') {
    const file = path.resolve(cwd, dockerfile);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new KilnError('DOCKERFILE_NOT_FOUND', `--dockerfile ${dockerfile}: cannot read ${file}: ${(err as Error).message}`, { exitCode: 2 });
    }
    targets.push(...dockerfileImages(text, dockerfile, buildArgs(parsed, env), platform));
  }
  await warmImages(targets, {
    cacheDir: path.resolve(cwd, str(parsed, 'cache-dir')),
    ttlMs,
    force: parsed.flags.get('force')?.value === true,
    registry: registryOptions(parsed, env, logger),
    logger,
  });
}

export function register(program: Command): void {
  program.enablePositionalOptions();
  program
    .command('warm')
    .description("fetch base images into a --cache-dir for builds without a registry (kaniko's warmer flags)")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[flags...]', "kaniko warmer flags; see 'kiln warm --help'")
    .action(async (args: string[]) => {
      try {
        await runWarmCommand(args ?? []);
      } catch (err) {
        if (jsonLogsRequested(args ?? [])) reportErrorAsJson(err);
        throw err;
      }
    });
}
