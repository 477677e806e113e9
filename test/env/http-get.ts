/** A minimal HTTP(S) GET for probing test servers that trust the test CA (no dependency on the code under test). */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface GetResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface GetOptions {
  headers?: Record<string, string>;
  /** PEM text of a CA to trust (for https URLs). */
  ca?: string;
  timeoutMs?: number;
}

export function httpGet(url: string, options: GetOptions = {}): Promise<GetResult> {
  return new Promise((resolvePromise, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, {
      method: 'GET',
      headers: options.headers,
      ...(target.protocol === 'https:' && options.ca !== undefined ? { ca: options.ca } : {}),
      agent: false,
      timeout: options.timeoutMs ?? 10_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolvePromise({
        status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'),
      }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
