/**
 * A RegistrySession holds what is worth sharing between requests of one build: an HTTP agent per
 * registry, the resolved credentials and the bearer tokens per scope. Create one per build (or per
 * command), pass it explicitly, close it at the end.
 */
import type { Agent } from 'undici';
import { credentialSource, dockerConfigPath, readDockerConfig } from './docker-config.ts';
import type { Credentials, DockerConfigFile } from './docker-config.ts';
import { getFromCredentialHelper } from './credential-helper.ts';
import type { RegistryOptions } from './options.ts';
import { createAgent } from './transport.ts';
import type { Direction } from './transport.ts';
import { RegistryClient } from './client.ts';

export class RegistrySession {
  readonly opts: RegistryOptions;
  readonly #clients = new Map<string, RegistryClient>();
  readonly #agents = new Map<string, Agent>();
  readonly #credentials = new Map<string, Promise<Credentials>>();
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

  /** Credentials for a registry from the docker config (running credential helpers once per registry). */
  credentials(registry: string): Promise<Credentials> {
    let pending = this.#credentials.get(registry);
    if (!pending) {
      pending = this.#resolveCredentials(registry);
      this.#credentials.set(registry, pending);
    }
    return pending;
  }

  async #resolveCredentials(registry: string): Promise<Credentials> {
    this.#dockerConfig ??= readDockerConfig(dockerConfigPath(this.opts.env, this.opts.dockerConfigDir));
    const source = credentialSource(this.#dockerConfig, registry);
    if (source.kind === 'anonymous') return {};
    if (source.kind === 'static') return source.credentials;
    return getFromCredentialHelper(source.helper, source.serverUrl, this.opts.env);
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
