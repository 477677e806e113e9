/**
 * The layer cache in a registry repository (`--cache-repo REPO`, or `<first destination>/cache`): entries
 * are images tagged with the key's hex digits, pushed with the build's registry settings (credentials,
 * certificates, insecure registries, mirrors). A hit's layer stays in the registry until something reads
 * it; a push to the same registry mounts it. The first failure to reach the registry turns the cache off
 * for the rest of the build, with one warning: the build goes on without it.
 */
import { KilnError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { RegistryOptions } from '../registry/options.ts';
import type { Reference } from '../registry/reference.ts';
import type { RegistrySession } from '../registry/session.ts';
import { cacheTag, entryImage, entryLayer, PendingWrites, type LayerCache, type LayerCacheEntry, type LookupOutcome } from './layer-cache.ts';

export interface RegistryCacheOptions {
  repository: Reference;
  ttlMs: number;
  /** False with --no-push-cache. */
  write: boolean;
  registry: RegistryOptions;
  logger: Logger;
}

type Client = typeof import('../registry/index.ts');

export class RegistryLayerCache implements LayerCache {
  readonly name: string;
  readonly #options: RegistryCacheOptions;
  readonly #writes = new PendingWrites();
  #client: Promise<{ client: Client; session: RegistrySession }> | undefined;
  #offline = false;

  constructor(options: RegistryCacheOptions) {
    this.#options = options;
    this.name = `${options.repository.registry}/${options.repository.repository}`;
  }

  #connect(): Promise<{ client: Client; session: RegistrySession }> {
    this.#client ??= import('../registry/index.ts').then((client) => ({ client, session: new client.RegistrySession(this.#options.registry) }));
    return this.#client;
  }

  #ref(client: Client, key: string): Reference {
    return client.withTag(this.#options.repository, cacheTag(key));
  }

  #goOffline(what: string, err: unknown): void {
    if (this.#offline) return;
    this.#offline = true;
    this.#options.logger.warn(`layer cache ${this.name}: ${what} failed, building without the layer cache: ${(err as Error).message}`);
  }

  async lookup(key: string): Promise<LookupOutcome> {
    if (this.#offline) return { kind: 'miss', reason: 'offline' };
    const { client, session } = await this.#connect();
    let image;
    try {
      image = await client.remoteImage(this.#ref(client, key), this.#options.registry, { session });
    } catch (err) {
      if (err instanceof KilnError && err.code === 'IMAGE_NOT_FOUND') return { kind: 'miss', reason: 'absent' };
      this.#goOffline('a lookup', err);
      return { kind: 'miss', reason: 'offline' };
    }
    try {
      const layer = await entryLayer(image, this.#options.ttlMs);
      return layer === 'expired' ? { kind: 'miss', reason: 'expired' } : { kind: 'hit', layer };
    } catch (err) {
      this.#options.logger.warn(`layer cache ${this.name}: entry ${cacheTag(key).slice(0, 12)} is unreadable, running the step: ${(err as Error).message}`);
      return { kind: 'miss', reason: 'unreadable' };
    }
  }

  store(key: string, entry: LayerCacheEntry): void {
    if (!this.#options.write || this.#offline) return;
    const push = this.#connect()
      .then(({ client, session }) => client.pushImage(entryImage(entry, new Date()), [this.#ref(client, key)], this.#options.registry, { session }));
    this.#writes.add(push, (why) => this.#options.logger.warn(`layer cache ${this.name}: could not push an entry: ${why}`));
  }

  flush(): Promise<void> {
    return this.#writes.settled();
  }

  async close(): Promise<void> {
    await this.flush();
    const client = this.#client;
    this.#client = undefined;
    if (client) await (await client).session.close();
  }
}
