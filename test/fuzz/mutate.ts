/**
 * A small mutation engine: a seeded PRNG and byte-level mutations (flip, insert a dictionary token, delete,
 * duplicate, repeat a chunk many times, splice with another seed). Reproducible from the seed.
 */

/** xorshift32: fast, seedable, good enough to pick mutations. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0 || 0x9e3779b9;
  }

  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }

  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

export interface MutationContext {
  random: Random;
  /** Tokens worth inserting for this target (keywords, delimiters). */
  dictionary: readonly Buffer[];
  /** Other seeds, for splicing. */
  seeds: readonly Buffer[];
  /** Upper bound for a mutated input's size. */
  maxBytes: number;
}

const INTERESTING_BYTES = [0, 0x0a, 0x0d, 0x09, 0x20, 0x22, 0x27, 0x24, 0x5c, 0x7b, 0x7d, 0x2f, 0x2e, 0x2a, 0x5b, 0x5d, 0x3c, 0x21, 0x23, 0x60, 0x7f, 0x80, 0xff, 0xef, 0xbb, 0xbf];

function mutateOnce(input: Buffer, ctx: MutationContext): Buffer {
  const { random } = ctx;
  const at = random.below(input.length + 1);
  switch (random.below(8)) {
    case 0: { // flip bits of one byte
      if (input.length === 0) return Buffer.from([random.below(256)]);
      const out = Buffer.from(input);
      out[random.below(out.length)] ^= 1 << random.below(8);
      return out;
    }
    case 1: { // set an interesting byte
      if (input.length === 0) return Buffer.from([random.pick(INTERESTING_BYTES)]);
      const out = Buffer.from(input);
      out[random.below(out.length)] = random.pick(INTERESTING_BYTES);
      return out;
    }
    case 2: // insert a token
    case 3:
      return Buffer.concat([input.subarray(0, at), random.pick(ctx.dictionary), input.subarray(at)]);
    case 4: { // delete a range
      const len = 1 + random.below(Math.min(64, input.length + 1));
      return Buffer.concat([input.subarray(0, at), input.subarray(at + len)]);
    }
    case 5: { // duplicate a range
      const len = 1 + random.below(Math.min(256, input.length + 1));
      return Buffer.concat([input.subarray(0, at + len), input.subarray(at, at + len), input.subarray(at + len)]);
    }
    case 6: { // repeat a token or a short range many times (deep nesting, long names)
      const chunk = random.below(2) === 0 ? random.pick(ctx.dictionary) : input.subarray(at, at + 1 + random.below(8));
      const times = 1 + random.below(random.below(4) === 0 ? 3000 : 50);
      return Buffer.concat([input.subarray(0, at), Buffer.alloc(chunk.length * times, chunk.length === 0 ? Buffer.from(' ') : chunk), input.subarray(at)]);
    }
    default: { // splice with another seed
      const other = random.pick(ctx.seeds);
      const from = random.below(other.length + 1);
      return Buffer.concat([input.subarray(0, at), other.subarray(from, from + random.below(512))]);
    }
  }
}

/** One to eight stacked mutations of `input`, capped at maxBytes. */
export function mutate(input: Buffer, ctx: MutationContext): Buffer {
  let out = input;
  const rounds = 1 + ctx.random.below(8);
  for (let i = 0; i < rounds; i++) out = mutateOnce(out, ctx);
  return out.length > ctx.maxBytes ? out.subarray(0, ctx.maxBytes) : out;
}
