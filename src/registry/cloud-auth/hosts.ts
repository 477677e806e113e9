/**
 * Which built-in credential helper serves a registry: by the name config.json gives (the docker helper
 * names kaniko's image ships as programs) or, when config.json says nothing, by the registry's host name.
 * Pure and dependency-free: the session imports it on every credential lookup, the cloud SDKs load only
 * once a helper is chosen.
 */

/** The built-in helpers, by kaniko's `--credential-helpers` names. */
export type BuiltinHelper = 'google' | 'ecr' | 'acr';

export const BUILTIN_HELPERS: readonly BuiltinHelper[] = ['google', 'ecr', 'acr'];

/** config.json's `credHelpers`/`credsStore` values (docker-credential-NAME) that a built-in serves. */
const CONFIG_NAMES: Readonly<Record<string, BuiltinHelper>> = {
  gcr: 'google',
  gcloud: 'google',
  'ecr-login': 'ecr',
  'acr-env': 'acr',
};

/** The docker helper name used in messages for each built-in. */
export const HELPER_LABEL: Readonly<Record<BuiltinHelper, string>> = {
  google: 'gcr',
  ecr: 'ecr-login',
  acr: 'acr-env',
};

export function builtinForConfigName(name: string): BuiltinHelper | undefined {
  return Object.hasOwn(CONFIG_NAMES, name) ? CONFIG_NAMES[name] : undefined;
}

/** amazon-ecr-credential-helper's pattern: account, FIPS, region; commercial, China and isolated partitions. */
const ECR_HOST = /^(\d{12})\.dkr[.-]ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\.(amazonaws\.com(?:\.cn)?|on\.(?:aws|amazonwebservices\.com\.cn)|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;

export interface EcrHost {
  account: string;
  region: string;
  fips: boolean;
}

function hostOnly(registry: string): string {
  return registry.replace(/:\d+$/, '').toLowerCase();
}

export function parseEcrHost(registry: string): EcrHost | undefined {
  const m = ECR_HOST.exec(hostOnly(registry));
  return m ? { account: m[1], region: m[3], fips: m[2] !== undefined } : undefined;
}

export function isGoogleHost(registry: string): boolean {
  const host = hostOnly(registry);
  return host === 'gcr.io' || host.endsWith('.gcr.io') || host.endsWith('-docker.pkg.dev');
}

export function isAcrHost(registry: string): boolean {
  return /\.azurecr\.(io|cn|us|de)$/.test(hostOnly(registry));
}

/** The built-in helper whose cloud this registry belongs to, if any. */
export function builtinForHost(registry: string): BuiltinHelper | undefined {
  if (isGoogleHost(registry)) return 'google';
  if (parseEcrHost(registry)) return 'ecr';
  if (isAcrHost(registry)) return 'acr';
  return undefined;
}
