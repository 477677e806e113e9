/**
 * The long-lived xattr reader (xattr-server.pl): one perl process per Kiln process, started on first use, so a
 * snapshot reads xattrs with a round trip over two FIFOs instead of a getfattr spawn (7–10 ms each from Kiln's
 * ~100 MB Node process, 2–3 per RUN step). The callers (the snapshotters, COPY) are synchronous, so the
 * channel is too: FIFOs opened with openSync block like files, where a child's stdio pipes are non-blocking
 * in Node. The server ends when its request FIFO reaches EOF (Kiln closed it at exit, or died) and holds no
 * event-loop handle, so it never keeps Kiln alive. Where it cannot run (no syscall numbers for this
 * architecture, no perl), callers fall back to getfattr (getfattr.ts).
 */
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST_TOOL_PATH, perlCommand } from '../../bundled-tools.ts';
import { isAlive, setProcessRef, spawnDirect, spawnWithRunningSpawner, type ProcessHandle } from '../../spawner.ts';

/** Attribute name → raw value. */
export type RawXattrs = Record<string, Buffer>;

export const xattrServerPath = fileURLToPath(new URL('./xattr-server.pl', import.meta.url));

/** Which syscall table of xattr-server.pl serves this architecture (the asm-generic one for the newer ones). */
export function syscallTable(arch: string): string | undefined {
  if (arch === 'x64') return 'x64';
  if (arch === 'arm64' || arch === 'riscv64' || arch === 'loong64') return 'generic';
  return undefined;
}

interface Spawned {
  child: ProcessHandle;
  /** Where the server makes its FIFOs; removed once both ends are open. */
  dir: string;
}

interface Connection {
  child: ProcessHandle;
  req: number;
  resp: number;
}

const START_TIMEOUT_MS = 10_000;
let connection: Connection | undefined;
/** A server spawned ahead of its first use (startXattrServerEarly), not yet handshaken. */
let spawned: Spawned | undefined;
/** Set once the server failed to start: the rest of this process uses getfattr. */
let unavailable = false;
let exitHookInstalled = false;

/** pid of the running server (or of one started early, not yet connected), if any: tests check that it goes away with Kiln. */
export function xattrServerPid(): number | undefined {
  return (connection ?? spawned)?.child.pid;
}

/** Raw xattrs of each path, index-aligned (undefined: none, or not readable); undefined when the server is unavailable. */
export function serverPathXattrs(absPaths: readonly string[]): (RawXattrs | undefined)[] | undefined {
  const body = call('P', absPaths);
  if (body === undefined) return undefined;
  const out: (RawXattrs | undefined)[] = new Array(absPaths.length).fill(undefined);
  for (const [key, attrs] of parseRecords(body)) out[Number(key)] = attrs;
  return out;
}

/** Raw xattrs of every entry under `absRoot` keyed by relative path ("" = the root), like `getfattr -R -P -h`. */
export function serverTreeXattrs(absRoot: string): Map<string, RawXattrs> | undefined {
  return serverTreeXattrsLater(absRoot)();
}

/**
 * serverTreeXattrs in two halves: the request goes now and the server walks the tree on its own core while
 * the caller works; the returned function reads the answer (blocking until it is there). Nothing else may ask
 * the server in between: the callers are synchronous code that calls the second half before yielding.
 */
export function serverTreeXattrsLater(absRoot: string): () => Map<string, RawXattrs> | undefined {
  const sent = send('T', [absRoot]);
  return () => {
    // A request that could not go out, or whose answer broke, is asked again (a dead server is restarted).
    const body = (sent && receive(sent)) ?? call('T', [absRoot]);
    return body === undefined ? undefined : new Map(parseRecords(body));
  };
}

/** Sends one request and reads its answer; a server that died is restarted once. */
function call(op: 'P' | 'T', paths: readonly string[]): Buffer | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    const conn = send(op, paths);
    const body = conn && receive(conn);
    if (body !== undefined) return body;
  }
  return undefined;
}

/** Writes a request; the connection to read the answer from, undefined (and the connection dropped) when it broke. */
function send(op: 'P' | 'T', paths: readonly string[]): Connection | undefined {
  const conn = connect();
  if (conn === undefined) return undefined;
  try {
    writeAll(conn.req, encodeRequest(op, paths));
    return conn;
  } catch {
    disconnect(conn);
    return undefined;
  }
}

/** The answer to the request just sent on `conn`; undefined (and the connection dropped) when it broke. */
function receive(conn: Connection): Buffer | undefined {
  try {
    const header = readExact(conn.resp, 8);
    return readExact(conn.resp, header.readUInt32LE(0) + header.readUInt32LE(4) * 2 ** 32);
  } catch {
    disconnect(conn);
    return undefined;
  }
}

function encodeRequest(op: 'P' | 'T', paths: readonly string[]): Buffer {
  const encoded = paths.map((p) => Buffer.from(p, 'utf8'));
  const out = Buffer.allocUnsafe(5 + encoded.reduce((n, b) => n + 4 + b.length, 0));
  out.write(op, 0, 'latin1');
  out.writeUInt32LE(encoded.length, 1);
  let offset = 5;
  for (const b of encoded) {
    out.writeUInt32LE(b.length, offset);
    b.copy(out, offset + 4);
    offset += 4 + b.length;
  }
  return out;
}

/** Records of a response body: key, then the attributes. */
export function* parseRecords(body: Buffer): Generator<[string, RawXattrs]> {
  let offset = 0;
  const str = (): Buffer => {
    const len = body.readUInt32LE(offset);
    const s = body.subarray(offset + 4, offset + 4 + len);
    offset += 4 + len;
    return s;
  };
  while (offset < body.length) {
    const key = str().toString('utf8');
    const count = body.readUInt32LE(offset);
    offset += 4;
    const attrs: RawXattrs = {};
    for (let i = 0; i < count; i++) {
      const name = str().toString('utf8');
      attrs[name] = Buffer.from(str());
    }
    yield [key, attrs];
  }
}

function connect(): Connection | undefined {
  if (connection === undefined && !unavailable) {
    connection = start();
    if (connection === undefined) unavailable = true;
  }
  return connection;
}

function disconnect(conn: Connection): void {
  if (connection === conn) connection = undefined;
  for (const fd of [conn.req, conn.resp]) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
  if (conn.child.exitCode === null && conn.child.signalCode === null) conn.child.kill('SIGKILL');
}

/**
 * Spawns the server now, so that its start-up (perl, ~30–40 ms) runs beside other work (the base image pull)
 * instead of in front of the first snapshot; the first request then only opens the FIFOs. Never fails: a server
 * that cannot start is found out, and replaced by getfattr, at first use.
 */
export function startXattrServerEarly(): void {
  if (connection !== undefined || spawned !== undefined || unavailable) return;
  // Through the spawner when it runs (Node's spawn() blocked the main thread 6-14 ms at start-up).
  spawned = spawnServer(true);
  installExitHook();
}

function start(): Connection | undefined {
  let early = spawned;
  spawned = undefined;
  // A start the spawner has not confirmed yet (its answer waits for the event loop, which a synchronous
  // handshake blocks) could not tell a server that failed from a slow one: a fresh one instead.
  if (early !== undefined && early.child.pid === undefined) {
    early.child.kill('SIGKILL');
    rmSync(early.dir, { recursive: true, force: true });
    early = undefined;
  }
  // A server spawned ahead gives up when nobody connects within its alarm (20 s): then a fresh one.
  return (early && connectTo(early)) ?? connectTo(spawnServer(false));
}

function connectTo(server: Spawned | undefined): Connection | undefined {
  if (server === undefined) return undefined;
  installExitHook();
  try {
    return handshake(server.child, server.dir);
  } catch {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    return undefined;
  } finally {
    rmSync(server.dir, { recursive: true, force: true });
  }
}

/**
 * A server: Kiln's own child, or with `viaSpawner` the spawner's when it runs (its pid is known once the
 * spawner answers).
 */
function spawnServer(viaSpawner: boolean): Spawned | undefined {
  const table = syscallTable(process.arch);
  if (table === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-xattrd-'));
  const [perl, ...prefix] = perlCommand();
  const args = [...prefix, xattrServerPath, table, dir];
  try {
    const child = (viaSpawner ? spawnWithRunningSpawner : spawnDirect)(perl!, args, { env: { PATH: HOST_TOOL_PATH }, pipes: [] });
    // A missing perl is reported asynchronously; Node's pid tells synchronously, the spawner's later.
    child.on('error', () => {});
    setProcessRef(child, false);
    if (isAlive(child)) return { child, dir };
  } catch {
    // no server: getfattr
  }
  rmSync(dir, { recursive: true, force: true });
  return undefined;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Closing req ends the server now rather than when the kernel closes Kiln's files; a server spawned ahead
  // and never used is killed, and its FIFO dir removed.
  process.on('exit', () => {
    if (connection !== undefined) disconnect(connection);
    if (spawned !== undefined) {
      if (spawned.child.exitCode === null) spawned.child.kill('SIGKILL');
      rmSync(spawned.dir, { recursive: true, force: true });
      spawned = undefined;
    }
  });
}

/**
 * Opens both FIFOs without ever blocking on a server that died: each is first opened non-blocking (a probe that
 * fails or reads nothing until the server has its end open), then blocking, which no longer waits.
 */
function handshake(child: ProcessHandle, dir: string): Connection {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const pid = child.pid!;
  const one = Buffer.alloc(1);
  // resp: the server writes "R" once its end is open.
  const respProbe = retry(pid, deadline, () => openSync(join(dir, 'resp'), constants.O_RDONLY | constants.O_NONBLOCK));
  try {
    retry(pid, deadline, () => {
      // 0: the server has not opened its end yet.
      if (readSync(respProbe, one, 0, 1, null) !== 1) throw Object.assign(new Error('not yet'), { code: 'EAGAIN' });
    });
    const resp = openSync(join(dir, 'resp'), constants.O_RDONLY);
    // req: a non-blocking open for writing fails (ENXIO) until the server has its end open.
    const reqProbe = retry(pid, deadline, () => openSync(join(dir, 'req'), constants.O_WRONLY | constants.O_NONBLOCK));
    try {
      return { child, req: openSync(join(dir, 'req'), constants.O_WRONLY), resp };
    } finally {
      closeSync(reqProbe);
    }
  } finally {
    closeSync(respProbe);
  }
}

/** Runs `attempt` until it stops failing with "not yet" (ENOENT, EAGAIN, ENXIO); gives up when the server is gone or late. */
function retry<T>(pid: number, deadline: number, attempt: () => T): T {
  for (;;) {
    try {
      return attempt();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EAGAIN' && code !== 'ENXIO') throw err;
    }
    if (Date.now() > deadline || hasExited(pid)) throw new Error('xattr server did not start');
    sleep(1);
  }
}

/** Whether `pid` is gone or a zombie (the event loop, which reaps children, does not run while this waits). */
function hasExited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function writeAll(fd: number, data: Buffer): void {
  for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset, data.length - offset);
}

function readExact(fd: number, length: number): Buffer {
  const out = Buffer.allocUnsafeSlow(length);
  for (let offset = 0; offset < length; ) {
    const got = readSync(fd, out, offset, length - offset, null);
    if (got === 0) throw new Error('xattr server closed its channel');
    offset += got;
  }
  return out;
}
