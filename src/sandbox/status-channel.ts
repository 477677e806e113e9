/** Reads the launcher's status records (fd 3): NUL-separated name, argument count, arguments. */

export interface MountStub {
  kind: 'dir' | 'file' | 'device';
  /** Absolute path inside the rootfs, symlinks already resolved. */
  path: string;
}

export interface LaunchError {
  code: string;
  message: string;
}

export interface LaunchStatus {
  stubs: MountStub[];
  error: LaunchError | undefined;
}

const stubKinds = new Set(['dir', 'file', 'device']);

/** Parse the whole channel; a record cut short (launcher killed mid-write) is ignored. */
export function parseStatus(data: Buffer): LaunchStatus {
  const tokens = data.toString('utf8').split('\0');
  tokens.pop();
  const status: LaunchStatus = { stubs: [], error: undefined };
  let i = 0;
  while (i + 1 < tokens.length) {
    const name = tokens[i] as string;
    const count = Number(tokens[i + 1]);
    const args = tokens.slice(i + 2, i + 2 + count);
    i += 2 + count;
    if (!Number.isInteger(count) || args.length < count) break;
    if (name === 'stub' && stubKinds.has(args[0] as string)) {
      status.stubs.push({ kind: args[0] as MountStub['kind'], path: args[1] as string });
    } else if (name === 'error' && status.error === undefined) {
      status.error = { code: args[0] as string, message: args[1] as string };
    }
  }
  return status;
}
