/**
 * The test environment by hand:
 *   node test/env/cli.ts registry --mode tls [--port N] [--user NAME:PASSWORD ...] [--anonymous none|pull|all]
 *   node test/env/cli.ts mirror [--port N]              (the conformance mirror on 127.0.0.1:5000)
 *   node test/env/cli.ts base-images [NAME ...]         (build/find the cached layouts, print their paths)
 *   node test/env/cli.ts check-base [NAME ...]          (compare the layouts with the corpus reference)
 * Servers print a JSON description and run until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { baseImageLayout, baseImageRefNames, type BaseImageName } from './base-images.ts';
import { checkBaseLayout, type BaseReferenceName } from './check-base.ts';
import { startConformanceMirror } from './conformance-mirror.ts';
import { startRegistry, type RegistryMode, type TestRegistry } from './registry.ts';
import type { AnonymousAccess } from './token-server.ts';

const imageNames: BaseImageName[] = ['busybox', 'busybox-compat', 'debian'];
const referenceNames: Record<BaseImageName, BaseReferenceName> = {
  busybox: 'busybox', 'busybox-compat': 'busybox-compat', debian: 'debian-bookworm',
};

function describe(registry: TestRegistry): object {
  const { stop: _stop, tokenServer, ...rest } = registry;
  return {
    ...rest,
    ...(tokenServer ? { tokenServer: { realm: tokenServer.realm, service: tokenServer.service, issuer: tokenServer.issuer } } : {}),
  };
}

async function serveUntilInterrupted(registry: TestRegistry, extra: object = {}): Promise<void> {
  process.stdout.write(`${JSON.stringify({ ...describe(registry), ...extra }, null, 2)}\n`);
  process.stderr.write(`registry running (log: ${registry.logFile}); Ctrl-C stops it\n`);
  // Signal handlers alone do not keep Node's event loop alive (the registry child is unref'd): a timer does.
  const keepAlive = setInterval(() => {}, 1 << 30);
  await new Promise<void>((resolvePromise) => {
    process.once('SIGINT', resolvePromise);
    process.once('SIGTERM', resolvePromise);
  });
  clearInterval(keepAlive);
  await registry.stop();
}

function selectedImages(names: string[]): BaseImageName[] {
  if (names.length === 0) return imageNames;
  for (const name of names) {
    if (!imageNames.includes(name as BaseImageName)) throw new Error(`unknown image ${name} (${imageNames.join(', ')})`);
  }
  return names as BaseImageName[];
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      mode: { type: 'string', default: 'plain' },
      port: { type: 'string' },
      user: { type: 'string', multiple: true },
      anonymous: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  const port = values.port === undefined ? undefined : Number(values.port);
  if (values.help || command === undefined) {
    process.stdout.write('usage: cli.ts registry --mode plain|tls|basic|token [--port N] [--user U:P]... '
      + '[--anonymous none|pull|all] | mirror [--port N] | base-images [NAME...] | check-base [NAME...]\n');
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command === 'registry') {
    const mode = values.mode as RegistryMode;
    if (!['plain', 'tls', 'basic', 'token'].includes(mode)) throw new Error(`unknown mode ${mode}`);
    const users = values.user === undefined ? undefined : Object.fromEntries(values.user.map((u) => {
      const colon = u.indexOf(':');
      if (colon < 0) throw new Error(`--user wants NAME:PASSWORD, got ${u}`);
      return [u.slice(0, colon), u.slice(colon + 1)];
    }));
    const registry = await startRegistry({ mode, port, users, anonymous: values.anonymous as AnonymousAccess | undefined });
    await serveUntilInterrupted(registry);
    return 0;
  }
  if (command === 'mirror') {
    const mirror = await startConformanceMirror({ port });
    await serveUntilInterrupted(mirror);
    return 0;
  }
  if (command === 'base-images') {
    for (const name of selectedImages(rest)) {
      process.stdout.write(`${name}\t${await baseImageLayout(name)}:${baseImageRefNames[name]}\n`);
    }
    return 0;
  }
  if (command === 'check-base') {
    let failed = false;
    for (const name of selectedImages(rest)) {
      const check = await checkBaseLayout(await baseImageLayout(name), baseImageRefNames[name], referenceNames[name]);
      if (check === undefined) { process.stdout.write(`${name}: no conformance corpus, nothing to compare\n`); continue; }
      const differences = Object.values(check).flat();
      failed ||= differences.length > 0;
      process.stdout.write(`${name}: ${differences.length} difference(s)\n`);
      for (const line of differences.slice(0, 50)) process.stdout.write(`  ${line}\n`);
    }
    return failed ? 1 : 0;
  }
  throw new Error(`unknown command ${command}`);
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
