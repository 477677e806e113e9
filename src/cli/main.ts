/**
 * Kiln's command-line entry. Each command lives in its own module under commands/ and is loaded only when
 * invoked, so start-up stays small.
 */
import type { Command } from 'commander';
import { KilnError, hostConditionError, isKilnError } from '../errors.ts';
import { VERSION } from './version.ts';
import { wasReported } from './json-errors.ts';

export interface CommandModule {
  /** Adds the command (with its flags and action) to the program. */
  register(program: Command): void;
}

/** Command name → lazy module. Kept as a table so `--help` lists every command without loading them. */
const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  parse: { summary: 'parse a Dockerfile and print it', load: () => import('./commands/parse.ts') },
  build: { summary: 'build an image from a Dockerfile (kaniko executor flags)', load: () => import('./commands/build.ts') },
  executor: { summary: "the same as build, under the kaniko executor's name", load: () => import('./commands/executor.ts') },
  warm: { summary: "fetch base images into a --cache-dir for builds without a registry (kaniko's warmer)", load: () => import('./commands/warm.ts') },
};

/** `build` and `executor` parse their own flags (kaniko's): commander only hands them the rest of the line. */
const BUILD_COMMANDS = new Set(['build', 'executor']);

export async function main(argv: string[]): Promise<number> {
  // The common case skips commander (~15 ms of loading): what it would do is pass argv[1…] through.
  if (BUILD_COMMANDS.has(argv[0] ?? '')) {
    try {
      await (await import('./commands/build.ts')).runBuildCommand(argv[0]!, argv.slice(1));
      return 0;
    } catch (err) {
      return reportError(err);
    }
  }
  const { Command } = await import('commander');
  const program = new Command('kiln')
    .description('Build OCI images from a Dockerfile, without a daemon')
    .version(VERSION, '--version')
    .showHelpAfterError()
    .exitOverride();
  const name = argv.find((a) => !a.startsWith('-'));
  for (const [cmd, entry] of Object.entries(commands)) {
    if (cmd === name) (await entry.load()).register(program);
    else program.command(cmd).description(entry.summary).helpOption(false).allowUnknownOption();
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  const e = err as { code?: string; exitCode?: number };
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) {
    // commander already printed the message (or the help/version text). Its usage errors (unknown command or
    // option, missing argument) exit 2, as the README documents for a bad command line.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    return e.code === 'commander.help' && e.exitCode === 0 ? 0 : 2;
  }
  if (!isKilnError(err)) err = hostConditionError(err) ?? err;
  if (wasReported(err)) return isKilnError(err) ? err.exitCode : 70;
  if (isKilnError(err)) {
    process.stderr.write(err.describe() + '\n');
    if (process.env.KILN_DEBUG && err.stack) process.stderr.write(err.stack + '\n');
    return err.exitCode;
  }
  process.stderr.write(`internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  return 70;
}

export { KilnError };

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
