/**
 * The plan handed to launcher.pl: what to mount, where to chroot, who to become, what to exec. Pure
 * functions; the encoding is NUL-separated records (name, argument count, arguments) so any byte but NUL
 * survives, with no JSON parser needed on the perl side (perl-base has none).
 */
import { posix } from 'node:path';
import { KilnError } from '../errors.ts';
import { isNamespaced, type HostsFiles, type ResolvedIsolation, type RunMountSpec, type RunRootfs, type RunSpec } from './types.ts';

export type PlanRecord = readonly [name: string, args: readonly string[]];

export interface PlanContext {
  isolation: ResolvedIsolation;
  /** The step's own temp dir: holds the plan, `ns/` (a tmpfs inside the namespace) and `empty/`. */
  stepDir: string;
  /** Kiln's pid: chroot/none launchers exit when their parent is no longer Kiln. */
  parentPid: number;
  arch: string;
}

const defaultHostsFiles: Required<HostsFiles> = {
  resolvConf: '/etc/resolv.conf', hosts: '/etc/hosts', hostname: '/etc/hostname',
};

/** mount(2) options are limited to one page; stay well below it. */
const mountDataLimit = 3500;

/** The lower dir given to overlayfs when the rootfs has no layers yet (FROM scratch). */
export function emptyLowerDir(stepDir: string): string {
  return posix.join(stepDir, 'empty');
}

function fail(code: string, message: string, hint?: string): never {
  throw new KilnError(code, message, hint === undefined ? {} : { hint });
}

/** `/a/../b/` → `/b`; relative targets are taken from the root, as BuildKit does. */
export function normalizeTarget(target: string): string {
  return posix.resolve('/', target);
}

/** Depth-first order so a mount never hides one made before it (BuildKit sorts mounts the same way). */
export function sortMounts(mounts: readonly RunMountSpec[]): RunMountSpec[] {
  const depth = (m: RunMountSpec) => normalizeTarget(m.target).split('/').filter((p) => p !== '').length;
  return [...mounts].sort((a, b) => depth(a) - depth(b));
}

function commonDir(paths: readonly string[]): string {
  let common = posix.dirname(paths[0] ?? '/');
  for (const path of paths) {
    while (common !== '/' && !path.startsWith(`${common}/`)) common = posix.dirname(common);
  }
  return common;
}

/** The overlay record: base dir to chdir into ('' for none), upper, work, then the lower dirs. */
export function overlayRecord(rootfs: Extract<RunRootfs, { kind: 'overlay' }>, emptyLower: string): string[] {
  const lower = rootfs.lower.length > 0 ? rootfs.lower : [emptyLower];
  for (const dir of [...lower, rootfs.upper, rootfs.work]) {
    if (!posix.isAbsolute(dir)) fail('RUN_ROOTFS', `overlay dir ${dir} is not absolute`);
    if (/[:,\\]/.test(dir)) fail('RUN_ROOTFS', `overlay dir ${dir} contains ':', ',' or '\\', which overlayfs cannot take`);
  }
  const data = `lowerdir=${lower.join(':')},upperdir=${rootfs.upper},workdir=${rootfs.work}`;
  if (data.length <= mountDataLimit) return ['overlay', '', rootfs.upper, rootfs.work, ...lower];
  const base = commonDir([...lower, rootfs.upper, rootfs.work]);
  const rel = (p: string) => posix.relative(base, p);
  return ['overlay', base, rel(rootfs.upper), rel(rootfs.work), ...lower.map(rel)];
}

function hostsFileRecords(files: HostsFiles | undefined, exists: (path: string) => boolean): PlanRecord[] {
  const chosen = { ...defaultHostsFiles, ...files };
  const records: PlanRecord[] = [];
  for (const [target, source] of [['/etc/resolv.conf', chosen.resolvConf], ['/etc/hosts', chosen.hosts],
    ['/etc/hostname', chosen.hostname]] as const) {
    if (exists(source)) records.push(['file', [target, source]]);
  }
  return records;
}

/** The secret values given in memory, in the order the launcher reads them from its stdin. */
export function secretInputs(spec: Pick<RunSpec, 'mounts'>): Buffer[] {
  return spec.mounts.flatMap((m) => (m.content === undefined ? [] : [m.content]));
}

/** stdin of the launcher: each value as its decimal length, a newline, then its bytes. */
export function encodeSecretInputs(values: readonly Buffer[]): Buffer {
  return Buffer.concat(values.flatMap((v) => [Buffer.from(`${v.length}\n`), v]));
}

/** Index of `mount`'s value among secretInputs(spec), or '' when it has a source file. */
function inputIndex(spec: Pick<RunSpec, 'mounts'>, mount: RunMountSpec): string {
  if (mount.content === undefined) return '';
  return String(spec.mounts.filter((m) => m.content !== undefined).indexOf(mount));
}

function mountRecord(mount: RunMountSpec, input: string): PlanRecord {
  const optional = (n: number | undefined, radix = 10) => (n === undefined ? '' : n.toString(radix));
  return ['mount', [mount.type, mount.source ?? '', normalizeTarget(mount.target), mount.readOnly ? '1' : '0',
    optional(mount.size), optional(mount.mode, 8), optional(mount.uid), optional(mount.gid), input]];
}

function checkMounts(spec: RunSpec, isolation: ResolvedIsolation): void {
  for (const mount of spec.mounts) {
    const fileMount = mount.type !== 'secret' || mount.target !== '';
    if (fileMount && !isNamespaced(isolation)) {
      fail('RUN_MOUNT_UNSUPPORTED', `RUN --mount=type=${mount.type} needs mount namespaces: CAP_SYS_ADMIN, or user namespaces allowed (this step runs with ${isolation})`,
        'use --isolation=chroot (mounts are emulated there) or run Kiln where it may create mount namespaces');
    }
    if (mount.content !== undefined && mount.type !== 'secret') {
      fail('RUN_MOUNT', `RUN --mount=type=${mount.type} cannot take its content in memory`);
    }
    if (mount.type !== 'tmpfs' && mount.source === undefined && mount.content === undefined) {
      fail('RUN_MOUNT', `RUN --mount=type=${mount.type},target=${mount.target} has no source`);
    }
    if (mount.env !== undefined && (mount.type !== 'secret' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(mount.env))) {
      fail('RUN_MOUNT', `invalid env=${mount.env} for RUN --mount=type=${mount.type}`);
    }
    if (!fileMount && mount.env === undefined) fail('RUN_MOUNT', 'RUN --mount=type=secret needs a target or env');
  }
}

function checkRootfs(spec: RunSpec, isolation: ResolvedIsolation): void {
  if (spec.rootfs.kind === 'overlay' && !isNamespaced(isolation)) {
    fail('RUN_ROOTFS', `an overlay rootfs needs namespace isolation (this step runs with ${isolation})`,
      'give the step a plain directory rootfs when mounts are not allowed');
  }
  if (spec.rootfs.kind === 'dir') {
    const path = posix.resolve(spec.rootfs.path);
    if (isolation === 'none' && path !== '/') {
      fail('RUN_ROOTFS', `isolation none runs on / of this container, not on ${spec.rootfs.path}`);
    }
    if (isolation !== 'none' && path === '/') {
      fail('RUN_ROOTFS', `isolation ${isolation} cannot use / of this machine as the step's rootfs`);
    }
  }
  if (spec.network === 'none' && !isNamespaced(isolation)) {
    fail('RUN_NETWORK', `RUN --network=none needs a network namespace: CAP_SYS_ADMIN, or user namespaces allowed (this step runs with ${isolation})`,
      'run Kiln with CAP_SYS_ADMIN or where seccomp allows unshare(2) (e.g. --security-opt seccomp=unconfined), or drop --network=none');
  }
}

/** Validate `spec` for `isolation` and turn it into launcher records; throws KilnError for what cannot run. */
export function buildPlan(spec: RunSpec, context: PlanContext, exists: (path: string) => boolean): PlanRecord[] {
  const { isolation } = context;
  checkRootfs(spec, isolation);
  checkMounts(spec, isolation);
  if (spec.argv.length === 0) fail('RUN_EXEC', 'RUN has no command');
  for (const entry of spec.env) {
    if (!entry.includes('=') || entry.includes('\0')) fail('RUN_ENV', `invalid environment entry ${JSON.stringify(entry)}`);
  }
  if ([...spec.argv, spec.cwd, spec.user].some((s) => s.includes('\0'))) fail('RUN_EXEC', 'RUN arguments contain NUL');

  const records: PlanRecord[] = [
    ['arch', [context.arch]],
    ['mode', [isolation]],
    ['parentpid', [String(context.parentPid)]],
    ['user', [spec.user]],
    ['cwd', [normalizeTarget(spec.cwd === '' ? '/' : spec.cwd)]],
    ['env', spec.env],
    ['argv', spec.argv],
  ];
  for (const mount of spec.mounts) {
    if (mount.env !== undefined) records.push(['secretenv', [mount.env, mount.source ?? '', inputIndex(spec, mount)]]);
  }
  if (isolation === 'none') return records;
  if (isolation === 'chroot') {
    if (spec.rootfs.kind !== 'dir') throw new Error('unreachable: checked by checkRootfs');
    return [...records, ['chroot', [posix.resolve(spec.rootfs.path)]], ...hostsFileRecords(spec.hostsFiles, exists)];
  }
  const root = spec.rootfs.kind === 'dir'
    ? ['dir', posix.resolve(spec.rootfs.path)]
    : overlayRecord(spec.rootfs, emptyLowerDir(context.stepDir));
  records.push(['scratch', [posix.join(context.stepDir, 'ns')]], ['root', root]);
  if (spec.network === 'none') records.push(['netnone', []]);
  const hostname = spec.hostsFiles?.hostname ?? defaultHostsFiles.hostname;
  if (exists(hostname)) records.push(['hostname', [hostname]]);
  records.push(...hostsFileRecords(spec.hostsFiles, exists));
  for (const mount of sortMounts(spec.mounts)) {
    if (mount.type === 'secret' && mount.target === '') continue;
    records.push(mountRecord(mount, inputIndex(spec, mount)));
  }
  return records;
}

export function encodePlan(records: readonly PlanRecord[]): Buffer {
  const tokens: string[] = [];
  for (const [name, args] of records) tokens.push(name, String(args.length), ...args);
  return Buffer.from(`${tokens.join('\0')}\0`, 'utf8');
}
