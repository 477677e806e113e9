/**
 * Registry failures as KilnErrors that name the registry and repository and say what to do. Messages
 * carry registry error codes and text, never request headers (which hold credentials).
 */
import { KilnError } from '../errors.ts';
import type { Response } from './transport.ts';
import { describeNetworkError, isRetryableStatus, isTlsError, markRetryable, withRetryAfter } from './transport.ts';

export interface ErrorContext {
  registry: string;
  repository?: string;
  /** What was being done: "pulling manifest latest", "uploading blob sha256:…". */
  action: string;
  /** Set by the client once it used credentials that did not come from the docker config itself. */
  credentialOrigin?: string;
}

interface DistributionError {
  code?: string;
  message?: string;
}

/** Reads (at most 16 KiB of) an error body and summarises the distribution `errors` array. */
export async function readErrorBody(res: Response): Promise<string> {
  let text = '';
  try {
    for await (const chunk of res.body) {
      text += chunk.toString();
      if (text.length > 16384) break;
    }
  } catch {
    return '';
  } finally {
    res.body.destroy();
  }
  try {
    const parsed = JSON.parse(text) as { errors?: DistributionError[] };
    if (Array.isArray(parsed.errors)) {
      return parsed.errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ').slice(0, 300);
    }
  } catch {
    // not JSON: fall through
  }
  return text.trim().split('\n')[0]?.slice(0, 200) ?? '';
}

function where(ctx: ErrorContext): string {
  return ctx.repository ? `${ctx.registry}/${ctx.repository}` : ctx.registry;
}

export function unauthorizedError(ctx: ErrorContext, status: number, detail: string): KilnError {
  const denied = status === 403 ? 'access denied' : 'authentication required';
  const may = ctx.action.startsWith('push') || ctx.action.includes('upload') ? 'push to' : 'pull from';
  return new KilnError('REGISTRY_UNAUTHORIZED', `${denied} while ${ctx.action} on ${where(ctx)} (HTTP ${status}${detail ? `: ${detail}` : ''})`, {
    hint: ctx.credentialOrigin
      ? `the credentials for ${ctx.registry} came from the ${ctx.credentialOrigin}: check that its cloud identity may ${may} this repository`
      : `check the credentials for ${ctx.registry} in the docker config ($DOCKER_CONFIG/config.json, /kaniko/.docker/config.json or ~/.docker/config.json) and that they may ${may} this repository`,
  });
}

/** Turns an unexpected HTTP response into a KilnError (consumes the body). */
export async function httpError(ctx: ErrorContext, res: Response, kind: 'manifest' | 'blob' | 'other' = 'other'): Promise<KilnError> {
  const detail = await readErrorBody(res);
  const status = res.statusCode;
  if (status === 401 || status === 403) return unauthorizedError(ctx, status, detail);
  if (status === 404 && kind === 'manifest') {
    return new KilnError('IMAGE_NOT_FOUND', `image not found: ${where(ctx)} (${ctx.action})${detail ? `: ${detail}` : ''}`, {
      hint: 'check the image name and tag; for a private registry check that the repository exists',
    });
  }
  if (status === 404 && kind === 'blob') {
    return new KilnError('BLOB_NOT_FOUND', `blob missing on ${where(ctx)} while ${ctx.action}${detail ? `: ${detail}` : ''}`);
  }
  const err = new KilnError('REGISTRY_ERROR', `registry ${where(ctx)} answered HTTP ${status} while ${ctx.action}${detail ? `: ${detail}` : ''}`);
  return isRetryableStatus(status) ? markRetryable(withRetryAfter(err, res.headers['retry-after'])) : err;
}

/** Turns a connection/TLS failure into a KilnError; retryable ones stay retryable. */
export function networkError(ctx: ErrorContext, err: unknown, retryable: boolean): KilnError {
  const reason = describeNetworkError(err);
  if (isTlsError(err)) {
    return new KilnError('REGISTRY_TLS', `TLS failure talking to ${ctx.registry} while ${ctx.action}: ${reason}`, {
      cause: err,
      hint: `pass the registry's CA with --registry-certificate ${ctx.registry}=/path/ca.crt, or --skip-tls-verify / --skip-tls-verify-pull (or --insecure-registry ${ctx.registry} if it speaks plain HTTP)`,
    });
  }
  const wrapped = new KilnError('REGISTRY_UNREACHABLE', `cannot reach ${ctx.registry} while ${ctx.action}: ${reason}`, { cause: err });
  return retryable ? markRetryable(wrapped) : wrapped;
}
