/**
 * kaniko's --destination check before a build: obtain a push token and start (then cancel) a blob upload,
 * so a missing permission fails in seconds instead of after the build.
 */
import { startUpload } from './blob-upload.ts';
import { pushScopes } from './challenge.ts';
import type { RegistryOptions } from './options.ts';
import type { Reference } from './reference.ts';
import type { RegistrySession } from './session.ts';
import { withSession } from './session.ts';

/** Throws REGISTRY_UNAUTHORIZED (or a transport KilnError) when `ref` cannot be pushed to. */
export async function checkPushPermission(ref: Reference, opts: RegistryOptions, session?: RegistrySession): Promise<void> {
  await withSession(opts, session, async (s) => {
    const client = s.client(ref.registry, 'push');
    const target = { client, repository: ref.repository, scopes: pushScopes(ref.repository) };
    const ctx = { registry: ref.registry, repository: ref.repository, action: 'checking push permission (starting an upload)' };
    const location = await startUpload(target, ctx);
    // Cancel the upload; a registry that refuses DELETE just lets it expire.
    try {
      const res = await client.request({ method: 'DELETE', path: location, scopes: target.scopes }, ctx);
      await res.body.dump();
    } catch {
      // the check itself succeeded
    }
  });
}
