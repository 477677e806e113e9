/**
 * The `busybox` and `busybox-compat` base images, made exactly as the conformance corpus describes
 * (conformance/bases/README.md): Debian's static busybox + absolute applet symlinks + a 2-line user database;
 * busybox-compat adds three layers that reproduce what BuildKit made from bases/busybox-compat/Dockerfile.
 */
import { chmodSync, copyFileSync, cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from './run.ts';
import { configure, newLayout, normalizeTimes, repack, unpack } from './umoci.ts';

const busyboxBinary = '/bin/busybox';
export const defaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const directories: ReadonlyArray<readonly [string, number]> = [
  ['bin', 0o755], ['sbin', 0o755], ['usr', 0o755], ['usr/bin', 0o755], ['usr/sbin', 0o755], ['etc', 0o755],
  ['root', 0o700], ['tmp', 0o1777], ['var', 0o755], ['var/tmp', 0o1777], ['proc', 0o755], ['sys', 0o755],
  ['dev', 0o755], ['home', 0o755],
];

const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const group = 'root:x:0:\nnogroup:x:65534:\n';

export async function busyboxPackageVersion(): Promise<string> {
  return (await run('dpkg-query', ['-W', '-f=${Version}', 'busybox-static'])).stdout.trim();
}

function fillBusyboxRootfs(rootfs: string, applets: string[], binary: string): void {
  for (const [path, mode] of directories) {
    mkdirSync(join(rootfs, path), { recursive: true });
    chmodSync(join(rootfs, path), mode);
  }
  copyFileSync(binary, join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of applets) {
    if (applet === 'bin/busybox') continue;
    mkdirSync(dirname(join(rootfs, applet)), { recursive: true });
    symlinkSync('/bin/busybox', join(rootfs, applet));
  }
  writeFileSync(join(rootfs, 'etc/passwd'), passwd, { mode: 0o644 });
  writeFileSync(join(rootfs, 'etc/group'), group, { mode: 0o644 });
  chmodSync(join(rootfs, 'etc/passwd'), 0o644);
  chmodSync(join(rootfs, 'etc/group'), 0o644);
}

/**
 * Build the busybox image into the empty OCI layout dir `layoutDir` (ref `refName`), using `workDir` as scratch.
 * `foreign` builds it for another architecture from that architecture's static busybox (same package version,
 * so the host's applet list holds).
 */
export async function buildBusybox(layoutDir: string, refName: string, workDir: string, foreign?: { binary: string; architecture: string }): Promise<void> {
  const version = await busyboxPackageVersion();
  const applets = (await run(busyboxBinary, ['--list-full'])).stdout.split('\n').filter((l) => l !== '');
  const bundle = join(workDir, 'bundle');
  await newLayout(layoutDir, refName);
  await unpack(layoutDir, refName, bundle);
  fillBusyboxRootfs(join(bundle, 'rootfs'), applets, foreign?.binary ?? busyboxBinary);
  normalizeTimes(join(bundle, 'rootfs'));
  await repack(layoutDir, refName, bundle, `make-busybox-image.sh: busybox-static ${version}`);
  await configure(layoutDir, refName, { env: [defaultPath], cmd: ['/bin/sh'], workingDir: '/', ...(foreign && { architecture: foreign.architecture }) });
}

/**
 * Build busybox-compat on top of the busybox layout `busyboxLayout` (ref `refName`) from the files of the
 * corpus' `bases/busybox-compat/` context dir, one layer per Dockerfile step, with BuildKit's history strings.
 */
export async function buildBusyboxCompat(
  layoutDir: string, refName: string, busyboxLayout: string, contextDir: string, workDir: string,
): Promise<void> {
  cpSync(busyboxLayout, layoutDir, { recursive: true });
  const bundle = join(workDir, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  await unpack(layoutDir, refName, bundle);

  for (const name of ['passwd', 'group']) {
    copyFileSync(join(contextDir, name), join(rootfs, 'etc', name));
    chmodSync(join(rootfs, 'etc', name), 0o644);
  }
  normalizeTimes(rootfs);
  await repack(layoutDir, refName, bundle, 'COPY passwd group /etc/ # buildkit');

  for (const name of ['adduser', 'addgroup']) {
    copyFileSync(join(contextDir, name), join(rootfs, 'bin', name));
    chmodSync(join(rootfs, 'bin', name), 0o755);
  }
  normalizeTimes(rootfs);
  await repack(layoutDir, refName, bundle, 'COPY --chmod=0755 adduser addgroup /bin/ # buildkit');

  symlinkSync('/usr/bin/awk', join(rootfs, 'bin/awk'));
  mkdirSync(join(rootfs, 'home'), { recursive: true });
  normalizeTimes(rootfs);
  await repack(layoutDir, refName, bundle, 'RUN /bin/sh -c ln -s /usr/bin/awk /bin/awk && mkdir -p /home # buildkit');
}
