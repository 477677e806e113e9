/**
 * An HTTPS front for a test registry: forwards every request unchanged (the Host header too, so the registry's
 * upload URLs point back at the front) unless `intercept` answers it. Stands in for what a cloud registry adds
 * to distribution's API (ACR's /oauth2/exchange) or does differently (refusing to overwrite an immutable tag).
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { testCertificates } from './certs.ts';
import type { TestRegistry } from './registry.ts';

export interface FrontAnswer {
  status: number;
  body: object;
}

/** Return an answer to reply instead of the registry; `body` is only read for requests the front answers. */
export type Intercept = (req: IncomingMessage, body: () => Promise<string>) => Promise<FrontAnswer | undefined> | FrontAnswer | undefined;

export interface RegistryFront {
  /** 127.0.0.1:PORT */
  host: string;
  caFile: string;
  stop(): Promise<void>;
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (c: Buffer) => { text += c.toString(); });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

export interface FrontOptions {
  /** Require TLS client certificates signed by this CA (PEM file): a registry that wants mTLS. */
  clientCaFile?: string;
}

export async function startRegistryFront(upstream: TestRegistry, intercept: Intercept, options: FrontOptions = {}): Promise<RegistryFront> {
  if (!upstream.tls || !upstream.caFile) throw new Error('the registry front forwards to TLS registries only');
  const certs = await testCertificates();
  const ca = readFileSync(upstream.caFile, 'utf8');
  const port = Number(upstream.host.split(':')[1]);
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const out = httpsRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, ca, agent: false }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  const mtls = options.clientCaFile ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(options.clientCaFile) } : {};
  const server = createServer({ cert: readFileSync(certs.serverCertFile), key: readFileSync(certs.serverKeyFile), ...mtls }, (req, res) => {
    Promise.resolve(intercept(req, () => readBody(req))).then((answer) => {
      if (!answer) {
        forward(req, res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    }, (err: Error) => res.writeHead(500).end(err.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    caFile: certs.caCertFile,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
