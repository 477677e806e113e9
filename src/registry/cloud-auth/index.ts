/**
 * The built-in credential helpers (kaniko ships docker-credential-gcr, -ecr-login and -acr-env in its
 * image; Kiln has them inside). Each provider module, and the cloud SDK it uses, loads only when a build
 * needs it.
 */
import { KilnError } from '../../errors.ts';
import type { Credentials } from '../docker-config.ts';
import { helperFailed, oneLine } from './errors.ts';
import { HELPER_LABEL } from './hosts.ts';
import type { BuiltinHelper } from './hosts.ts';

export interface RegistryFormResponse {
  status: number;
  body: string;
}

export interface CloudAuthContext {
  /** The registry as Kiln names it ("host[:port]"). */
  registry: string;
  env: Record<string, string | undefined>;
  /** True when config.json named no helper and the host name chose this one: probes stay short. */
  automatic: boolean;
  /** POSTs a form to a path of the registry itself, over the session's transport (ACR's token exchange). */
  postToRegistry(path: string, form: URLSearchParams): Promise<RegistryFormResponse>;
}

export async function builtinCredentials(helper: BuiltinHelper, ctx: CloudAuthContext): Promise<Credentials> {
  try {
    return { ...(await provider(helper, ctx)), origin: `built-in credential helper ${HELPER_LABEL[helper]}` };
  } catch (err) {
    if (err instanceof KilnError) throw err;
    throw helperFailed(helper, ctx.registry, oneLine(err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err)));
  }
}

async function provider(helper: BuiltinHelper, ctx: CloudAuthContext): Promise<Credentials> {
  switch (helper) {
    case 'google': return (await import('./google.ts')).googleCredentials(ctx);
    case 'ecr': return (await import('./ecr.ts')).ecrCredentials(ctx);
    case 'acr': return (await import('./acr.ts')).acrCredentials(ctx);
  }
}
