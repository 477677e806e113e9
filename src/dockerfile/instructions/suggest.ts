/** "did you mean ...?" hints, as BuildKit's util/suggest: the closest option within edit distance 2. */

export function closestMatch(value: string, options: Iterable<string>, caseSensitive: boolean): string | undefined {
  if (value === '') return undefined;
  const needle = caseSensitive ? value : value.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const option of options) {
    const candidate = caseSensitive ? option : option.toLowerCase();
    if (candidate === needle) return option;
    const distance = levenshtein(needle, candidate);
    if (distance < bestDistance) {
      best = option;
      bestDistance = distance;
    }
  }
  return best;
}

/** `message (did you mean x?)` when a close option exists, else `message`. */
export function withSuggestion(message: string, value: string, options: Iterable<string>, caseSensitive: boolean): string {
  const match = closestMatch(value, options, caseSensitive);
  if (match === undefined || match === value) return message;
  return `${message} (did you mean ${match}?)`;
}

function levenshtein(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  let previous = Array.from({ length: right.length + 1 }, (_, i) => i);
  for (let i = 1; i <= left.length; i++) {
    const current = [i];
    for (let j = 1; j <= right.length; j++) {
      const cost = left[i - 1] === right[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[right.length];
}
