/** Failures of the built-in credential helpers: they name the helper and the registry, never a token. */
import { KilnError } from '../../errors.ts';
import { HELPER_LABEL } from './hosts.ts';
import type { BuiltinHelper } from './hosts.ts';

/** The environment holds no identity for this cloud at all (as opposed to one that was refused). */
export const CREDENTIALS_NOT_FOUND = 'CREDENTIALS_NOT_FOUND';

export function helperFailed(helper: BuiltinHelper, registry: string, why: string, hint?: string, notFound = false): KilnError {
  return new KilnError(notFound ? CREDENTIALS_NOT_FOUND : 'CREDENTIAL_HELPER_FAILED', `built-in credential helper ${HELPER_LABEL[helper]} failed for ${registry}: ${why}`,
    hint === undefined ? {} : { hint });
}

/** First line of an SDK or endpoint message, bounded: such text may run on, it never needs to. */
export function oneLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** `error` and `error_description` of an OAuth2 error body (RFC 6749 §5.2); never the rest of it. */
export function oauthErrorSummary(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    const parts = [parsed.error, parsed.error_description].filter((p): p is string => typeof p === 'string');
    if (parts.length > 0) return oneLine(parts.join(': '));
  } catch {
    // not JSON
  }
  return '';
}

/** Refresh this long before a cloud token expires. */
const EARLY_REFRESH_MS = 5 * 60_000;

/**
 * When to fetch a token again, from its expiry (ms since the epoch): a little early, and never for an expiry
 * already past by this machine's clock (a skewed clock or a stand-in's fixed date), which would mean every request.
 */
export function refreshAt(expiresAtMs: number | undefined, now = Date.now()): number | undefined {
  if (expiresAtMs === undefined || !Number.isFinite(expiresAtMs) || expiresAtMs <= now) return undefined;
  return expiresAtMs - Math.min(EARLY_REFRESH_MS, (expiresAtMs - now) / 2);
}
