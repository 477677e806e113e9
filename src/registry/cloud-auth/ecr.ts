/**
 * Amazon ECR, as docker-credential-ecr-login: the AWS SDK's standard credential chain (environment, shared
 * config and credentials files, profiles, SSO, web identity for EKS service accounts, ECS and instance roles)
 * signs GetAuthorizationToken in the registry's region; the token decodes to "AWS:<password>". The SDK honours
 * its endpoint overrides (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL), which is how tests and private clouds point
 * it elsewhere. The session keeps the token per registry until shortly before it expires (12 hours).
 */
import type { Credentials } from '../docker-config.ts';
import { helperFailed, oneLine, refreshAt } from './errors.ts';
import { parseEcrHost } from './hosts.ts';
import type { CloudAuthContext } from './index.ts';

const NO_CREDENTIALS_HINT = 'give the build AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials (AWS_PROFILE), an EKS service account (IRSA), or an instance/task role';

export async function ecrCredentials(ctx: CloudAuthContext): Promise<Credentials> {
  const host = parseEcrHost(ctx.registry);
  // A registry named in credHelpers under another host name (a proxy, a test) uses the SDK's own region.
  const region = host?.region ?? (ctx.env.AWS_REGION || ctx.env.AWS_DEFAULT_REGION);
  if (!region) {
    throw helperFailed('ecr', ctx.registry, 'no AWS region: the registry is not named <account>.dkr.ecr.<region>.amazonaws.com and AWS_REGION is not set');
  }
  const { ECRClient, GetAuthorizationTokenCommand } = await import('@aws-sdk/client-ecr');
  // An endpoint override replaces endpoint selection, FIPS included (the SDK refuses both at once).
  const endpointOverride = Boolean(ctx.env.AWS_ENDPOINT_URL_ECR || ctx.env.AWS_ENDPOINT_URL);
  const client = new ECRClient({ region, ...(host?.fips && !endpointOverride && { useFipsEndpoint: true }) });
  try {
    let output;
    try {
      output = await client.send(new GetAuthorizationTokenCommand(host ? { registryIds: [host.account] } : {}));
    } catch (err) {
      const e = err as Error;
      const noCredentials = e.name === 'CredentialsProviderError' || /could not load credentials/i.test(e.message);
      throw helperFailed('ecr', ctx.registry,
        noCredentials ? `no AWS credentials found (${oneLine(e.message)})` : `GetAuthorizationToken in ${region} failed: ${e.name}: ${oneLine(e.message)}`,
        noCredentials ? NO_CREDENTIALS_HINT : undefined, noCredentials);
    }
    const data = output.authorizationData?.[0];
    const token = data?.authorizationToken;
    if (!token) throw helperFailed('ecr', ctx.registry, `GetAuthorizationToken in ${region} returned no authorization token`);
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw helperFailed('ecr', ctx.registry, 'the ECR authorization token is not base64 of "user:password"');
    const expiresAt = refreshAt(data?.expiresAt?.getTime());
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), ...(expiresAt !== undefined && { expiresAt }) };
  } finally {
    client.destroy();
  }
}
