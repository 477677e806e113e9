/**
 * `RUN --mount` → what the sandbox mounts: bind sources from the context or another stage/image, cache
 * dirs persisted under Kiln's cache root, tmpfs, secrets from `--secret`, the ssh agent from `--ssh`.
 * Defaults as BuildKit: bind is read-only unless `rw`; a secret's target is /run/secrets/<id>.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunMount, RunInstruction } from '../dockerfile/instructions/index.ts';
import { KilnError } from '../errors.ts';
import { resolveInRoot } from '../fs/extract/safe-path.ts';
import type { RunMountSpec } from '../sandbox/types.ts';
import type { SecretSpec, SshSpec } from './options.ts';

export interface RunMountSources {
  /** Root of the tree a bind/cache `from=` names (stage rootfs, image rootfs), or the build context. */
  rootOf(from: string | undefined): Promise<string>;
  /** Where cache mounts live across builds. */
  cacheRoot: string;
  secrets: readonly SecretSpec[];
  ssh: readonly SshSpec[];
  env: NodeJS.ProcessEnv;
}

function mountError(inst: RunInstruction, message: string, hint?: string): KilnError {
  return new KilnError('RUN_MOUNT', message, {
    location: { file: inst.location.file, line: inst.location.line, text: inst.location.text },
    ...(hint ? { hint } : {}),
  });
}

function cacheDir(mount: RunMount, sources: RunMountSources): string {
  const id = mount.id ?? mount.target ?? 'default';
  const dir = path.join(sources.cacheRoot, encodeURIComponent(id));
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.chmodSync(dir, mount.mode ?? 0o755);
    fs.chownSync(dir, mount.uid ?? 0, mount.gid ?? 0);
  }
  return dir;
}

/** Where a secret's value comes from: a host file, or (`--secret env=`) the value itself, kept in memory. */
type SecretValue = { source: string } | { content: Buffer };

function secretValue(mount: RunMount, inst: RunInstruction, sources: RunMountSources): SecretValue | undefined {
  const id = mount.id ?? path.posix.basename(mount.target ?? '');
  const spec = sources.secrets.find((s) => s.id === id);
  if (!spec) {
    if (mount.required) throw mountError(inst, `secret ${id} not found`, `pass it with --secret id=${id},src=FILE (or env=VAR)`);
    return undefined;
  }
  if (spec.source.kind === 'file') return { source: spec.source.path };
  const value = sources.env[spec.source.name];
  if (value === undefined) throw mountError(inst, `secret ${id}: environment variable ${spec.source.name} is not set`);
  return { content: Buffer.from(value) };
}

function sshSource(mount: RunMount, inst: RunInstruction, sources: RunMountSources): string | undefined {
  const id = mount.id ?? 'default';
  const spec = sources.ssh.find((s) => s.id === id);
  const socket = spec?.paths[0] ?? (spec ? sources.env.SSH_AUTH_SOCK : undefined);
  if (!socket) {
    if (mount.required) throw mountError(inst, `no ssh agent for id ${id}`, 'pass --ssh default (uses $SSH_AUTH_SOCK)');
    return undefined;
  }
  return socket;
}

export async function runMountSpecs(inst: RunInstruction, sources: RunMountSources): Promise<{ mounts: RunMountSpec[]; env: string[] }> {
  const mounts: RunMountSpec[] = [];
  const env: string[] = [];
  let sshCount = 0;
  for (const mount of inst.mounts ?? []) {
    switch (mount.type) {
      case 'bind': {
        const root = await sources.rootOf(mount.from);
        const source = resolveInRoot(root, mount.source ?? '/', { followFinal: true });
        if (!fs.existsSync(source)) throw mountError(inst, `failed to mount ${mount.target}: ${mount.source ?? '/'}: not found`);
        mounts.push({ type: 'bind', target: mount.target!, source, readOnly: mount.readOnly });
        break;
      }
      case 'cache':
        mounts.push({ type: 'cache', target: mount.target!, source: cacheDir(mount, sources), readOnly: mount.readOnly });
        break;
      case 'tmpfs':
        mounts.push({ type: 'tmpfs', target: mount.target!, readOnly: false, ...(mount.size ? { size: mount.size } : {}) });
        break;
      case 'secret': {
        const value = secretValue(mount, inst, sources);
        if (value === undefined) break;
        const id = mount.id ?? path.posix.basename(mount.target ?? '');
        const target = mount.env && !mount.target ? '' : (mount.target ?? `/run/secrets/${id}`);
        mounts.push({
          type: 'secret', target, ...value, readOnly: true,
          mode: mount.mode ?? 0o400, uid: mount.uid ?? 0, gid: mount.gid ?? 0, ...(mount.env ? { env: mount.env } : {}),
        });
        break;
      }
      case 'ssh': {
        const source = sshSource(mount, inst, sources);
        if (source === undefined) break;
        const target = mount.target ?? `/run/buildkit/ssh_agent.${sshCount++}`;
        mounts.push({ type: 'ssh', target, source, readOnly: true, mode: mount.mode ?? 0o600, uid: mount.uid ?? 0, gid: mount.gid ?? 0 });
        env.push(`SSH_AUTH_SOCK=${target}`);
        break;
      }
    }
  }
  return { mounts, env };
}
