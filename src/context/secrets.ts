/**
 * The credentials remote contexts read from the environment. They are masked in every log line (registered
 * with the logger's redactor) and scrubbed from error messages, which are printed without a logger.
 */
import type { Logger } from '../log/logger.ts';

const SECRET_VARIABLES = ['GIT_TOKEN', 'GIT_PASSWORD', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AZURE_STORAGE_ACCESS_KEY', 'AZURE_STORAGE_KEY', 'AZURE_STORAGE_SAS_TOKEN'];

/** Secret values in `env`, including the AccountKey and SAS parts of an Azure connection string. */
export function secretValues(env: NodeJS.ProcessEnv): string[] {
  const values = SECRET_VARIABLES.map((name) => env[name] ?? '');
  const connection = env.AZURE_STORAGE_CONNECTION_STRING ?? '';
  for (const part of connection.split(';')) {
    const m = /^(AccountKey|SharedAccessSignature)=(.+)$/i.exec(part.trim());
    if (m) values.push(m[2]!);
  }
  return values.filter((v) => v.length >= 4);
}

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

export function registerSecrets(logger: Logger | undefined, env: NodeJS.ProcessEnv): void {
  if (logger) for (const s of secretValues(env)) logger.redactor.add(s);
}
