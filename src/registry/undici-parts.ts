/**
 * The three parts of undici the registry client uses (Agent, buildConnector, request), loaded from their own
 * files. undici's index loads all of undici (fetch, WebSocket, EventSource, cookies, caches, mocks: 111
 * modules) and cost ~105 ms of every build's start-up on this machine; these three cost ~40 ms
 * (bench/startup.md). undici has no "exports" map, so its files are reachable by path; the types still come
 * from its index. Pinned by package-lock.json; test/unit/registry/undici-parts.test.ts checks they resolve.
 */
import { createRequire, registerHooks } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher, buildConnector as undiciBuildConnector } from 'undici';

const requireUndici = createRequire(import.meta.url);

/**
 * undici's client-h2.js requires Node's http2 when it loads, for HTTP/2 that Kiln never speaks: while these
 * parts load, that one require gets undici's own stand-in for a Node without http2 (undici-without-http2.cjs).
 */
function withoutHttp2<T>(load: () => T): T {
  const standIn = new URL('./undici-without-http2.cjs', import.meta.url).href;
  const hooks = registerHooks({
    resolve(specifier, context, next) {
      if (specifier === 'node:http2' && context.parentURL?.endsWith('/undici/lib/dispatcher/client-h2.js')) {
        return { url: standIn, format: 'commonjs', shortCircuit: true };
      }
      return next(specifier, context);
    },
  });
  try {
    return load();
  } finally {
    hooks.deregister();
  }
}

export const Agent = withoutHttp2(() => requireUndici('undici/lib/dispatcher/agent.js')) as typeof UndiciAgent;
export const buildConnector = requireUndici('undici/lib/core/connect.js') as typeof undiciBuildConnector;
export type Agent = UndiciAgent;
export type ConnectorOptions = undiciBuildConnector.BuildOptions;
export type Connector = undiciBuildConnector.connector;

type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'>;
const apiRequest = requireUndici('undici/lib/api/api-request.js') as (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

/** undici's `request(url, { dispatcher, … })`: the request goes to `dispatcher`, never to a global one. */
export function request(url: URL, dispatcher: Dispatcher, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  return apiRequest.call(dispatcher, { ...options, origin: url.origin, path: `${url.pathname}${url.search}` });
}
