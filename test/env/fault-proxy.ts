/**
 * A fault-injecting HTTP proxy on 127.0.0.1 in front of a real (plain HTTP) test registry. Each request is
 * shown to a `fault` function that may break it: reset the connection, answer a status (429 with
 * Retry-After, 5xx), never answer, or forward it and then cut or stall the response body after N bytes.
 * Requests that are not broken are forwarded untouched (Host kept, so upload Locations point back here).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { kind: 'reset' }
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'stall' }
  | { kind: 'cut'; afterBytes: number }
  | { kind: 'stall-body'; afterBytes: number }
  /** Forward the response with the byte at `offset` of the body flipped (same length, wrong digest). */
  | { kind: 'corrupt'; offset: number };

export interface SeenRequest {
  method: string;
  path: string;
  range?: string;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
}

/** Decides the fault for a request; `index` counts the requests seen so far (0-based). */
export type FaultRule = (request: SeenRequest, index: number) => Fault | undefined;

export interface FaultProxy {
  /** host:port to use as the registry name. */
  host: string;
  requests: SeenRequest[];
  /** Replaces the rule for the requests that follow. */
  setRule(rule: FaultRule): void;
  /** Resolves when a request matching `predicate` arrives (or has arrived). */
  waitFor(predicate: (r: SeenRequest) => boolean): Promise<SeenRequest>;
  stop(): Promise<void>;
}

const noFault: FaultRule = () => undefined;

export async function startFaultProxy(upstreamHost: string, rule: FaultRule = noFault): Promise<FaultProxy> {
  const [upstreamName, upstreamPort] = upstreamHost.split(':');
  const sockets = new Set<Socket>();
  const waiters: { predicate: (r: SeenRequest) => boolean; resolve: (r: SeenRequest) => void }[] = [];
  let current = rule;
  const requests: SeenRequest[] = [];

  function notify(seen: SeenRequest): void {
    for (const w of [...waiters]) {
      if (w.predicate(seen)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(seen);
      }
    }
  }

  const server = http.createServer((req, res) => {
    const seen: SeenRequest = { method: req.method ?? 'GET', path: req.url ?? '/', ...(typeof req.headers.range === 'string' && { range: req.headers.range }) };
    const fault = current(seen, requests.length);
    if (fault) seen.fault = fault.kind;
    requests.push(seen);
    notify(seen);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'stall') return; // the socket stays open until the client gives up or stop()
    if (fault?.kind === 'status') {
      req.resume();
      res.writeHead(fault.status, { 'content-length': '0', connection: 'close', ...(fault.retryAfter && { 'retry-after': fault.retryAfter }) });
      res.end();
      return;
    }
    const upstream = http.request(
      { host: upstreamName, port: Number(upstreamPort), method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (fault?.kind === 'corrupt') {
          let seen = 0;
          up.on('data', (chunk: Buffer) => {
            if (fault.offset >= seen && fault.offset < seen + chunk.length) chunk[fault.offset - seen] ^= 0xff;
            seen += chunk.length;
            res.write(chunk);
          });
          up.on('end', () => res.end());
          return;
        }
        if (fault?.kind !== 'cut' && fault?.kind !== 'stall-body') {
          up.pipe(res);
          return;
        }
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent >= fault.afterBytes) return;
          const room = fault.afterBytes - sent;
          res.write(chunk.subarray(0, room));
          sent += Math.min(room, chunk.length);
          if (sent >= fault.afterBytes) {
            up.destroy();
            if (fault.kind === 'cut') res.socket?.destroy();
          }
        });
        up.on('end', () => res.end());
      },
    );
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    setRule(next) {
      current = next;
    },
    waitFor(predicate) {
      const done = requests.find(predicate);
      if (done) return Promise.resolve(done);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    stop: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** The first `count` requests matching `match` get `fault`; the rest go through. */
export function firstN(count: number, match: (r: SeenRequest) => boolean, fault: Fault): FaultRule {
  let left = count;
  return (r) => {
    if (left > 0 && match(r)) {
      left--;
      return fault;
    }
    return undefined;
  };
}

/** A seeded pseudo-random rule: each request is broken with probability `rate`, by one of `faults`. */
export function randomFaults(seed: number, rate: number, faults: readonly Fault[]): FaultRule {
  let state = seed >>> 0 || 1;
  const next = () => {
    // xorshift32: repeatable across runs for the same seed
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
  return () => (next() < rate ? faults[Math.floor(next() * faults.length)] : undefined);
}
