/**
 * kaniko's --destination check before a build: obtain a push token and start (then cancel) a blob upload,
 * so a missing permission fails in seconds instead of after the build.
 */
import { startUpload } from './blob-upload.ts';
import { pushScopes } from './challenge.ts';
import { retryPolicyOf, type RegistryOptions } from './options.ts';
import type { Reference } from './reference.ts';
import type { RegistrySession } from './session.ts';
import { withSession } from './session.ts';
import { withRetry } from './transport.ts';

/** Throws REGISTRY_UNAUTHORIZED (or a transport KilnError) when `ref` cannot be pushed to. */
export async function checkPushPermission(ref: Reference, opts: RegistryOptions, session?: RegistrySession): Promise<void> {
  await withSession(opts, session, async (s) => {
    const client = s.client(ref.registry, 'push');
    const target = { client, repository: ref.repository, scopes: pushScopes(ref.repository) };
    const ctx = { registry: ref.registry, repository: ref.repository, action: 'checking push permission (starting an upload)' };
    // A registry that hiccups (5xx, reset) gets --push-retry attempts here as for the push itself.
    const location = await withRetry(`checking push permission on ${ref.registry}/${ref.repository}`, retryPolicyOf(opts, 'push'), () => startUpload(target, ctx));
    // Cancel the upload; a registry that refuses DELETE just lets it expire.
    try {
      const res = await client.request({ method: 'DELETE', path: location, scopes: target.scopes }, ctx);
      await res.body.dump();
    } catch {
      // the check itself succeeded
    }
  });
}
