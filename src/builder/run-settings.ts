/** RUN settings for a build: the isolation (auto resolved once, and logged), secrets, ssh, cache-mount root. */
import os from 'node:os';
import path from 'node:path';
import { proxyEnvFromBuildArgs } from '../dockerfile/platform-args.ts';
import { KilnError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { ResolvedIsolation, RunSpec } from '../sandbox/types.ts';
import type { RunSettings } from './dispatch-context.ts';
import { loadSandbox } from './lazy-modules.ts';
import type { BuildOptions } from './options.ts';

export function cacheMountRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.KILN_CACHE_HOME ?? env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'kiln', 'cache-mounts');
}

/** `workRoot`: where steps' overlay dirs go; the isolation probe also finds out whether overlays work there. */
export function runSettings(options: BuildOptions, logger: Logger, workRoot: string, signal?: AbortSignal): RunSettings {
  let resolved: Promise<ResolvedIsolation> | undefined;
  return {
    isolation() {
      resolved ??= (async () => {
        if (options.isolation !== 'auto') return options.isolation;
        const sandbox = await loadSandbox();
        const picked = await sandbox.detectIsolation(workRoot);
        if (picked === 'none') {
          throw new KilnError('RUN_ISOLATION', 'RUN needs mount namespaces (CAP_SYS_ADMIN), user namespaces or chroot (CAP_SYS_CHROOT), and this environment allows none of them', {
            hint: 'run Kiln as root (CAP_SYS_CHROOT at least), or build in place (--isolation=none, kaniko\'s model) in a throwaway container',
          });
        }
        // Answered by the isolation probe's own process (detectIsolation was given the work dir).
        const snapshots = picked === 'namespace' || picked === 'userns'
          ? await sandbox.overlayWorks(picked, workRoot) ? 'overlay' : 'walk (the work dir\'s filesystem takes no overlay upper dir)'
          : 'walk';
        logger.info(`RUN isolation: ${picked} (auto), snapshots: ${snapshots}`);
        return picked;
      })();
      return resolved;
    },
    secrets: options.secrets,
    ssh: options.ssh,
    cacheRoot: cacheMountRoot(),
    proxies: proxyEnvFromBuildArgs(options.buildArgs),
    ...(signal ? { signal } : {}),
  };
}

/**
 * Starts the isolation probe (and, for namespaced steps, the overlay probe of the work dir's filesystem, in
 * the same process under --isolation=auto, and the first step's launcher: a second one here competed with the
 * start-up for the CPU) now, beside the base image pull, instead of in front of the first RUN step. Errors
 * surface at that step.
 */
export function probeRunAhead(run: RunSettings, workRoot: string, network: RunSpec['network']): void {
  run.isolation().then(async (isolation) => {
    if (isolation !== 'namespace' && isolation !== 'userns') return;
    const sandbox = await loadSandbox();
    await sandbox.overlayWorks(isolation, workRoot);
    sandbox.prepareLauncher(isolation, network);
  }).catch(() => {});
}
