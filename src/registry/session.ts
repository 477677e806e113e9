/**
 * A RegistrySession holds what is worth sharing between requests of one build: an HTTP agent per
 * registry, the resolved credentials and the bearer tokens per scope. Create one per build (or per
 * command), pass it explicitly, close it at the end.
 */
import type { Agent } from 'undici';
import { credentialSource, dockerConfigPath, readDockerConfig } from './docker-config.ts';
import type { Credentials, DockerConfigFile } from './docker-config.ts';
import { getFromCredentialHelper, isHelperOnPath } from './credential-helper.ts';
import { builtinForConfigName, builtinForHost, HELPER_LABEL } from './cloud-auth/hosts.ts';
import type { BuiltinHelper } from './cloud-auth/hosts.ts';
import { CREDENTIALS_NOT_FOUND } from './cloud-auth/errors.ts';
import type { KilnError } from '../errors.ts';
import type { RegistryOptions } from './options.ts';
import { createAgent, send } from './transport.ts';
import type { Direction } from './transport.ts';
import { RegistryClient } from './client.ts';

export class RegistrySession {
  readonly opts: RegistryOptions;
  readonly #clients = new Map<string, RegistryClient>();
  readonly #agents = new Map<string, Agent>();
  readonly #credentials = new Map<string, { pending: Promise<Credentials>; expiresAt?: number }>();
  #dockerConfig: DockerConfigFile | undefined;

  constructor(opts: RegistryOptions) {
    this.opts = opts;
  }

  /** The client for `registry` in one direction (TLS and plain-HTTP settings differ for pull and push). */
  client(registry: string, direction: Direction): RegistryClient {
    const key = `${direction} ${registry}`;
    let client = this.#clients.get(key);
    if (!client) {
      let agent = this.#agents.get(key);
      if (!agent) {
        agent = createAgent(registry, this.opts, direction);
        this.#agents.set(key, agent);
      }
      client = new RegistryClient(registry, direction, agent, this);
      this.#clients.set(key, client);
    }
    return client;
  }

  /**
   * Credentials for a registry: the docker config (running credential helpers once per registry), else the
   * built-in cloud helper for the registry's host. Short-lived ones are fetched again when they expire.
   */
  credentials(registry: string): Promise<Credentials> {
    const cached = this.#credentials.get(registry);
    if (cached && (cached.expiresAt === undefined || Date.now() < cached.expiresAt)) return cached.pending;
    const entry: { pending: Promise<Credentials>; expiresAt?: number } = { pending: this.#resolveCredentials(registry) };
    entry.pending.then((c) => {
      if (c.expiresAt !== undefined) entry.expiresAt = c.expiresAt;
    }, () => {
      if (this.#credentials.get(registry) === entry) this.#credentials.delete(registry);
    });
    this.#credentials.set(registry, entry);
    return entry.pending;
  }

  async #resolveCredentials(registry: string): Promise<Credentials> {
    this.#dockerConfig ??= readDockerConfig(dockerConfigPath(this.opts.env, this.opts.dockerConfigDir));
    const source = credentialSource(this.#dockerConfig, registry);
    if (source.kind === 'static') return source.credentials;
    if (source.kind === 'helper') {
      // kaniko's image ships these helpers as programs; one installed on PATH still wins, as there.
      const builtin = builtinForConfigName(source.helper);
      if (!builtin || isHelperOnPath(source.helper, this.opts.env)) return getFromCredentialHelper(source.helper, source.serverUrl, this.opts.env);
      // credHelpers names the registry: serve it whatever its host. credsStore covers every registry: only its cloud's.
      if (source.via === 'credHelpers' || builtinForHost(registry) === builtin) return this.#builtin(builtin, registry, false);
    }
    // Nothing configured: kaniko's keychain goes on to the cloud helpers its --credential-helpers allows.
    const byHost = builtinForHost(registry);
    if (!byHost || !(this.opts.credentialHelpers?.includes(byHost) ?? true)) return {};
    try {
      return await this.#builtin(byHost, registry, true);
    } catch (err) {
      // As go-containerregistry's helper keychains: a cloud helper with nothing to offer means anonymous (a
      // public image still pulls). An identity that is there and refused is worth an error, though.
      if ((err as KilnError).code !== CREDENTIALS_NOT_FOUND) throw err;
      this.opts.log(`no credentials from built-in helper ${HELPER_LABEL[byHost]} for ${registry}, continuing anonymously: ${(err as Error).message}`);
      return {};
    }
  }

  async #builtin(helper: BuiltinHelper, registry: string, automatic: boolean): Promise<Credentials> {
    const { builtinCredentials } = await import('./cloud-auth/index.ts');
    return builtinCredentials(helper, {
      registry,
      env: this.opts.env,
      automatic,
      postToRegistry: (path, form) => this.#postToRegistry(registry, path, form),
    });
  }

  async #postToRegistry(registry: string, path: string, form: URLSearchParams): Promise<{ status: number; body: string }> {
    const client = this.client(registry, 'pull');
    const ping = await client.ping({ registry, action: `POST ${path}` });
    const res = await send(client.agent, `${ping.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    return { status: res.statusCode, body: await res.body.text() };
  }

  async close(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    this.#clients.clear();
    await Promise.all(agents.map((a) => a.close()));
  }
}

/** Runs `fn` with a session made from `opts` unless one is given; closes only a session it made. */
export async function withSession<T>(opts: RegistryOptions, session: RegistrySession | undefined, fn: (s: RegistrySession) => Promise<T>): Promise<T> {
  if (session) return fn(session);
  const own = new RegistrySession(opts);
  try {
    return await fn(own);
  } finally {
    await own.close();
  }
}
