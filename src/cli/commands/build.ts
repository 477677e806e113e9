/**
 * `kiln build` (and `kiln executor`, kaniko's name for it): kaniko's flags → BuildOptions → the executor.
 * Flags are parsed by flag-parser.ts (Go/pflag conventions), not by commander, so commander only routes.
 */
import type { Command } from 'commander';
import { KilnError } from '../../errors.ts';
import type { BuildOptions } from '../../builder/options.ts';
import { createLogger } from '../../log/logger.ts';
import type { Logger } from '../../log/logger.ts';
import { resolveBuildOptions } from '../build-options.ts';
import { parseFlags } from '../flag-parser.ts';
import { renderHelp } from '../flag-help.ts';
import { VERSION } from '../version.ts';
import { jsonLogsRequested, reportErrorAsJson } from '../json-errors.ts';

type RunBuild = (options: BuildOptions, logger: Logger, control: { signal: AbortSignal }) => Promise<unknown>;

/**
 * SIGINT/SIGTERM abort the build: the running step's processes are killed and the work dir, mounts and
 * partial outputs are removed before Kiln exits with 128+n, as a shell would report it. So does a closed
 * stdout or stderr (`kiln build … | head`: EPIPE), with 141 as for SIGPIPE, instead of dying on the unhandled
 * stream error with the work dir left behind; what is written to the closed stream after that is dropped.
 */
function interruptOnSignals(logger: Logger): { signal: AbortSignal; readonly received: string | undefined; readonly exitCode: number } {
  const controller = new AbortController();
  const state = { received: undefined as string | undefined, exitCode: 1 };
  const interrupt = (name: string, exitCode: number): void => {
    if (state.received !== undefined) return;
    state.received = name;
    state.exitCode = exitCode;
    logger.warn(`${name} received: stopping the build and cleaning up`);
    controller.abort(new Error(`interrupted by ${name}`));
  };
  const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };
  for (const name of Object.keys(codes)) process.once(name, () => interrupt(name, codes[name]!));
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') interrupt('SIGPIPE', 141);
    });
  }
  return {
    signal: controller.signal,
    get received() { return state.received; },
    get exitCode() { return state.exitCode; },
  };
}

/** Loads the executor (a module of its own: `kiln build --help` and flag errors never load the builder). */
async function loadRunBuild(): Promise<RunBuild> {
  return (await import('../../builder/executor.ts')).runBuild as RunBuild;
}

/** Runs `kiln build` / `kiln executor` with its raw arguments. */
export async function runBuildCommand(commandName: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let logger: Logger | undefined;
  try {
    await buildCommand(commandName, argv, env, (l) => { logger = l; });
  } catch (err) {
    if (jsonLogsRequested(argv)) reportErrorAsJson(err, logger);
    throw err;
  }
}

async function buildCommand(commandName: string, argv: readonly string[], env: NodeJS.ProcessEnv, onLogger: (logger: Logger) => void): Promise<void> {
  const parsed = parseFlags(argv, env);
  if (parsed.help) {
    process.stdout.write(renderHelp(commandName));
    return;
  }
  if (parsed.operands.length === 1 && parsed.operands[0] === 'version') {
    // kaniko's `executor version` subcommand, in its format.
    process.stdout.write(`Kiln version :  ${VERSION}\n`);
    return;
  }
  const options = resolveBuildOptions(parsed, env, process.cwd());
  const logger = createLogger({
    level: options.log.level,
    format: env.NO_COLOR && options.log.format === 'color' ? 'text' : options.log.format,
    timestamp: options.log.timestamp,
    // Progress bars only where a person watches; CI logs and JSON get plain lines.
    statusLine: process.stderr.isTTY === true && options.log.format !== 'json',
  });
  onLogger(logger);
  for (const notice of options.notices) logger.warn(notice);
  const runBuild = await loadRunBuild();
  const interrupt = interruptOnSignals(logger);
  try {
    await runBuild(options, logger, { signal: interrupt.signal });
  } catch (err) {
    if (interrupt.received) throw new KilnError('INTERRUPTED', `build interrupted by ${interrupt.received}`, { exitCode: interrupt.exitCode });
    // --verbosity=debug is how kaniko users ask for detail: give them the stack main.ts leaves out.
    if (logger.enabled('debug') && err instanceof Error && err.stack) logger.debug(err.stack);
    throw err;
  }
}

/** Adds the command under `name` ("build" or "executor") to the program. */
export function registerBuildCommand(program: Command, name: string, summary: string): void {
  // The program must not read kaniko's flags (-v is --verbosity there, not a version flag).
  program.enablePositionalOptions();
  program
    .command(name)
    .description(summary)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[flags...]', "kaniko executor flags; see 'kiln build --help'")
    .action(async (args: string[]) => {
      await runBuildCommand(name, args ?? []);
    });
}

export function register(program: Command): void {
  registerBuildCommand(program, 'build', 'build an image from a Dockerfile (kaniko executor flags)');
}
