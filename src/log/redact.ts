/**
 * Keeps secrets out of logs: credentials in URLs, signed-URL query parameters, and any exact secret value
 * registered with a Redactor (passwords, tokens, secret file contents).
 */

const MASK = '***';
const SENSITIVE_QUERY = /^(access_token|token|sig|signature|password|passwd|secret|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|client_secret|code)$/i;

/** "https://user:pass@host/p?sig=abc" → "https://***@host/p?sig=***". Text that is not a URL is returned as is. */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  let out = text;
  if (url.username || url.password) {
    out = out.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, `$1${MASK}@`);
  }
  return out.replace(/([?&])([^=&#]+)=([^&#]*)/g, (whole, sep: string, key: string) =>
    SENSITIVE_QUERY.test(decodeURIComponentSafe(key)) ? `${sep}${key}=${MASK}` : whole,
  );
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** Redacts every URL found in free text. */
export function redactUrlsInText(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (u) => redactUrl(u));
}

/** Exact secret values to mask wherever they appear. One per logger tree, passed explicitly. */
export class Redactor {
  readonly #secrets = new Set<string>();

  /** Values shorter than 4 characters are not masked: masking "a" would garble every message. */
  add(secret: string): void {
    if (secret.length >= 4) this.#secrets.add(secret);
  }

  redact(text: string): string {
    let out = redactUrlsInText(text);
    for (const s of this.#secrets) if (out.includes(s)) out = out.split(s).join(MASK);
    return out;
  }
}
