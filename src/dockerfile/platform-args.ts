/**
 * BuildKit's predefined build arguments (dockerfile2llb defaultArgs): BUILD* and TARGET* platform
 * values and TARGETSTAGE, visible in FROM lines and, when redeclared with `ARG NAME`, inside a stage;
 * plus the proxy arguments, which reach RUN's environment without being declared.
 */
import { formatPlatform } from '../image/platform.ts';
import type { Platform } from '../image/types.ts';

/** The predefined arguments, in BuildKit's order; a build arg of the same name overrides. */
export function predefinedArgs(options: {
  buildPlatform: Platform;
  targetPlatform: Platform;
  /** The target stage's name ("" for an unnamed last stage). */
  targetStage: string;
  buildArgs: ReadonlyMap<string, string>;
}): Map<string, string> {
  const { buildPlatform: bp, targetPlatform: tp } = options;
  const entries: [string, string][] = [
    ['BUILDPLATFORM', formatPlatform(bp)],
    ['BUILDOS', bp.os],
    ['BUILDOSVERSION', bp['os.version'] ?? ''],
    ['BUILDARCH', bp.architecture],
    ['BUILDVARIANT', bp.variant ?? ''],
    ['TARGETPLATFORM', formatPlatform(tp)],
    ['TARGETOS', tp.os],
    ['TARGETOSVERSION', tp['os.version'] ?? ''],
    ['TARGETARCH', tp.architecture],
    ['TARGETVARIANT', tp.variant ?? ''],
    ['TARGETSTAGE', options.targetStage],
  ];
  const args = new Map<string, string>();
  for (const [key, value] of entries) args.set(key, options.buildArgs.get(key) ?? value);
  return args;
}

export const PROXY_ARG_NAMES = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'] as const;

/**
 * Proxy settings from build args (any case, as BuildKit's proxyEnvFromBuildArgs). RUN steps get them
 * as both upper- and lower-case variables; they never reach the image config or history.
 */
export function proxyEnvFromBuildArgs(buildArgs: ReadonlyMap<string, string>): Map<string, string> {
  const env = new Map<string, string>();
  for (const [key, value] of buildArgs) {
    const upper = key.toUpperCase();
    if (!(PROXY_ARG_NAMES as readonly string[]).includes(upper)) continue;
    env.set(upper, value);
    env.set(upper.toLowerCase(), value);
  }
  return env;
}
