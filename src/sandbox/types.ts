/** The contract between the build executor and the sandbox that runs one RUN step. */
import type { Writable } from 'node:stream';

/** How a step is isolated; `auto` picks the strongest the machine allows (see detectIsolation). */
export type Isolation = 'auto' | 'namespace' | 'userns' | 'chroot' | 'none';
export type ResolvedIsolation = Exclude<Isolation, 'auto'>;

/** The modes whose steps run in namespaces of their own (mount, pid, ipc, uts; userns also a user namespace). */
export function isNamespaced(isolation: ResolvedIsolation): boolean {
  return isolation === 'namespace' || isolation === 'userns';
}

export type RunRootfs =
  /** Run directly in this dir (chroot mode, namespace mode without overlay, or `/` in none mode). */
  | { kind: 'dir'; path: string }
  /** Mount an overlay (lowerdir = lower.join(':'), first is topmost) in the step's mount namespace; writes land in `upper`. */
  | { kind: 'overlay'; lower: string[]; upper: string; work: string };

export type RunMountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';

export interface RunMountSpec {
  type: RunMountType;
  /** Absolute path inside the rootfs. For a secret exposed only as `env`, '' (no file). */
  target: string;
  /** Host path: bind/cache dir or file, secret file, ssh agent socket. */
  source?: string;
  /**
   * secret: the value itself instead of a `source` file (`--secret env=`). It reaches the launcher through a
   * pipe and lives only in the step's tmpfs (or its environment): Kiln never writes it to disk.
   */
  content?: Buffer;
  readOnly: boolean;
  /** tmpfs size in bytes. */
  size?: number;
  /** secret: file mode (default 0o400), owner uid/gid (default 0). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** secret: also expose the secret's content as this environment variable. */
  env?: string;
}

/** Host files copied (never bound directly) onto the rootfs's /etc files; defaults are the host's own. */
export interface HostsFiles {
  resolvConf?: string;
  hosts?: string;
  hostname?: string;
}

export interface RunSpec {
  rootfs: RunRootfs;
  /** Final argv (the caller prepends the shell). */
  argv: string[];
  /** KEY=value, complete and in order; passed to the step exactly (HOME added when absent). */
  env: string[];
  /** Working directory inside the rootfs, created (as root, 0755) when missing. */
  cwd: string;
  /** USER as written ("" = root): name or uid, optionally `:group`. */
  user: string;
  isolation: Isolation;
  network: 'default' | 'none' | 'host';
  mounts: RunMountSpec[];
  hostsFiles?: HostsFiles;
  stdout?: Writable;
  stderr?: Writable;
  /** Abort kills the whole process tree, cleans up and rejects with a KilnError (code RUN_ABORTED). */
  signal?: AbortSignal;
  /** Parent of the step's scratch dir (default: the OS temp dir). */
  tempDir?: string;
  /**
   * The caller removes `tempDir` and everything in it (a build's step dir): the step's scratch dir is then
   * removed off the main thread (remove-soon.ts), not before runStep returns.
   */
  tempDirRemovedByCaller?: boolean;
  /** RUN steps still to come after this one: their launchers (up to two) start once this one ends (spare-launcher.ts). */
  stepsAfter?: number;
}

export interface RunResult {
  /** The step's exit code; a step killed by signal n gives 128 + n. */
  exitCode: number;
  /**
   * Paths inside the rootfs (absolute, symlinks resolved) that were created only as mount points. runStep has
   * already removed those left empty; the caller keeps all of them out of the layer.
   */
  mountStubs: string[];
  isolation: ResolvedIsolation;
}
