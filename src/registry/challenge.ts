/** `WWW-Authenticate` challenges (RFC 7235) and the token scopes of the distribution spec. */

export interface Challenge {
  /** Lower-cased: "basic", "bearer". */
  scheme: string;
  /** Parameter names lower-cased; values unquoted. */
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header value, which may hold several challenges:
 * `Bearer realm="https://auth/token",service="reg",scope="repository:a:pull", Basic realm="x"`.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpaceAndCommas = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t' || header[i] === ',')) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && !' \t,="'.includes(header[i])) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipSpaceAndCommas();
    if (i >= n) break;
    const token = readToken();
    let j = i;
    while (j < n && (header[j] === ' ' || header[j] === '\t')) j++;
    if (header[j] === '=' && current && token !== '') {
      i = j + 1;
      while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
      current.params[token.toLowerCase()] = readValue();
    } else if (token !== '') {
      current = { scheme: token.toLowerCase(), params: {} };
      challenges.push(current);
    } else {
      i++; // stray character: skip it rather than loop forever
    }
  }
  return challenges;

  function readValue(): string {
    if (header[i] !== '"') return readToken();
    i++;
    let value = '';
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++;
      value += header[i++];
    }
    i++; // closing quote
    return value;
  }
}

/** The challenge Kiln answers: Bearer if offered, else Basic. */
export function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

export type Access = 'pull' | 'push';

/** `repository:NAME:pull` or `repository:NAME:pull,push`. */
export function repositoryScope(repository: string, access: Access): string {
  return `repository:${repository}:${access === 'push' ? 'pull,push' : 'pull'}`;
}

/** Scopes for a push to `repository`, with pull on every repository blobs are mounted from. */
export function pushScopes(repository: string, mountFrom: string[] = []): string[] {
  const scopes = [repositoryScope(repository, 'push')];
  for (const source of mountFrom) {
    if (source !== repository) scopes.push(repositoryScope(source, 'pull'));
  }
  return [...new Set(scopes)];
}
