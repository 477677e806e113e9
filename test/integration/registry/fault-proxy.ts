/** A loopback TCP proxy in front of a registry that breaks chosen requests, to test retries and resumes. */
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export interface FaultProxyOptions {
  upstreamPort: number;
  /** Cut the connection after this many response bytes of the first GET whose path includes `path`. */
  cut?: { path: string; afterBytes: number };
  /** Answer the first request whose path includes this with 503 (and close). */
  fail503?: string;
}

export interface FaultProxy {
  host: string;
  /** "METHOD path [range]" of every request seen. */
  requests: string[];
  cutDone: boolean;
  stop(): Promise<void>;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const state: FaultProxy = { host: '', requests: [], cutDone: false, stop: async () => {} };
  let failed503 = false;
  const server = createServer((client) => {
    const upstream = connect(options.upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('close', () => { sockets.delete(client); upstream.destroy(); });
    upstream.on('close', () => { sockets.delete(upstream); client.destroy(); });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    let counting = -1;
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      const line = /^(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP\/1\.1\r\n/.exec(text);
      if (line) {
        const range = /\r\nrange: *([^\r]+)/i.exec(text);
        state.requests.push(`${line[1]} ${line[2]}${range ? ` ${range[1]}` : ''}`);
        if (options.fail503 && !failed503 && line[2].includes(options.fail503)) {
          failed503 = true;
          client.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
          upstream.destroy();
          return;
        }
        if (options.cut && !state.cutDone && line[1] === 'GET' && line[2].includes(options.cut.path)) counting = 0;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (counting >= 0 && options.cut) {
        const room = options.cut.afterBytes - counting;
        if (chunk.length >= room) {
          state.cutDone = true;
          client.write(chunk.subarray(0, Math.max(room, 0)), () => {
            client.destroy();
            upstream.destroy();
          });
          counting = -1;
          return;
        }
        counting += chunk.length;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.stop = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  return state;
}
