/**
 * The subset of Go's RE2 syntax that moby/patternmatcher generates from ignore patterns, matched in time
 * linear in the path (a Pike VM over a Thompson program), as Go's regexp package does. JavaScript's RegExp
 * backtracks: `*a*a*a*a*a*a*a*a*a*a*a*ab` against a long name would block the event loop for minutes.
 *
 * Supported: literals, `.` (not `\n`), classes `[...]` / `[^...]` with ranges, escapes, POSIX `[:name:]` and
 * Perl `\d \s \w` (and negations), groups `(...)`, the quantifiers `* + ?` (lazy forms too). The whole
 * string must match (the pattern matcher anchors with `^…$`). Anything else is a syntax error.
 */

export class RegexpSyntaxError extends Error {
  constructor(regexp: string, why: string) {
    super(`${why} in ${JSON.stringify(regexp)}`);
    this.name = 'RegexpSyntaxError';
  }
}

type Ranges = Array<[number, number]>;
type Node =
  | { kind: 'set'; ranges: Ranges }
  | { kind: 'concat'; items: Node[] }
  | { kind: 'repeat'; op: '*' | '+' | '?'; sub: Node };

type Inst = { op: 'set'; ranges: Ranges } | { op: 'split'; a: number; b: number } | { op: 'jmp'; to: number } | { op: 'match' };

const MAX_RUNE = 0x10ffff;
const NL = 0x0a;
const cp = (s: string): number => s.codePointAt(0) as number;
const ranges = (spec: string): Ranges => {
  const out: Ranges = [];
  const chars = Array.from(spec);
  for (let i = 0; i < chars.length; i++) {
    if (chars[i + 1] === '-' && i + 2 < chars.length) {
      out.push([cp(chars[i]), cp(chars[i + 2])]);
      i += 2;
    } else out.push([cp(chars[i]), cp(chars[i])]);
  }
  return out;
};

const POSIX: Record<string, Ranges> = {
  alnum: ranges('0-9A-Za-z'),
  alpha: ranges('A-Za-z'),
  ascii: [[0, 0x7f]],
  blank: ranges('\t '),
  cntrl: [[0, 0x1f], [0x7f, 0x7f]],
  digit: ranges('0-9'),
  graph: ranges('!-~'),
  lower: ranges('a-z'),
  print: ranges(' -~'),
  punct: ranges('!-/:-@[-`{-~'),
  space: ranges('\t\n\v\f\r '),
  upper: ranges('A-Z'),
  word: ranges('0-9A-Za-z_'),
  xdigit: ranges('0-9A-Fa-f'),
};
const PERL: Record<string, Ranges> = { d: POSIX.digit, s: ranges('\t\n\f\r '), w: POSIX.word };
const CONTROL: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };

function normalize(input: Ranges): Ranges {
  const sorted = [...input].sort((x, y) => x[0] - y[0]);
  const out: Ranges = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function complement(input: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of normalize(input)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

const isPunct = (c: string): boolean => c.length === 1 && c < '\x80' && !/[0-9A-Za-z]/.test(c);

class Parser {
  readonly #source: string;
  readonly #runes: string[];
  #at = 0;

  constructor(source: string) {
    this.#source = source;
    this.#runes = Array.from(source);
  }

  fail(why: string): never {
    throw new RegexpSyntaxError(this.#source, why);
  }

  parse(): Node {
    const node = this.#sequence(0);
    if (this.#at < this.#runes.length) this.fail('unexpected )');
    return node;
  }

  #sequence(depth: number): Node {
    const items: Node[] = [];
    while (this.#at < this.#runes.length) {
      const ch = this.#runes[this.#at];
      if (ch === ')') {
        if (depth === 0) this.fail('unexpected )');
        break;
      }
      this.#at++;
      if (ch === '*' || ch === '+' || ch === '?') {
        const last = items.pop();
        if (last === undefined) this.fail('missing argument to repetition operator');
        if (last.kind === 'repeat') this.fail('invalid nested repetition operator');
        if (this.#runes[this.#at] === '?') this.#at++; // lazy: the same language for a whole-string match
        items.push({ kind: 'repeat', op: ch, sub: last });
      } else if (ch === '(') {
        if (this.#runes[this.#at] === '?') this.fail('unsupported group flags');
        const inner = this.#sequence(depth + 1);
        if (this.#runes[this.#at] !== ')') this.fail('missing closing )');
        this.#at++;
        // A group is one atom for a following quantifier.
        items.push(inner.kind === 'repeat' ? { kind: 'concat', items: [inner] } : inner);
      } else if (ch === '[') items.push({ kind: 'set', ranges: this.#class() });
      else if (ch === '.') items.push({ kind: 'set', ranges: complement([[NL, NL]]) });
      else if (ch === '\\') items.push({ kind: 'set', ranges: this.#escape(false) });
      else if (ch === '^' || ch === '$' || ch === '|' || ch === '{' || ch === '}') this.fail(`unsupported operator ${ch}`);
      else items.push({ kind: 'set', ranges: [[cp(ch), cp(ch)]] });
    }
    return { kind: 'concat', items };
  }

  /** After a backslash: a literal, a control character or a Perl class. */
  #escape(inClass: boolean): Ranges {
    const ch = this.#runes[this.#at++];
    if (ch === undefined) this.fail('trailing backslash at end of expression');
    if (isPunct(ch)) return [[cp(ch), cp(ch)]];
    if (CONTROL[ch] !== undefined) return [[CONTROL[ch], CONTROL[ch]]];
    const perl = PERL[ch.toLowerCase()];
    if (perl !== undefined && /[dswDSW]/.test(ch)) return ch === ch.toLowerCase() ? perl : complement(perl);
    return this.fail(`invalid escape sequence \\${ch}${inClass ? ' in class' : ''}`);
  }

  /** One class item's single character (for ranges): a literal or an escaped character. */
  #classChar(): number {
    if (this.#runes[this.#at] === '\\') {
      this.#at++;
      const set = this.#escape(true);
      if (set.length !== 1 || set[0][0] !== set[0][1]) this.fail('invalid character class range');
      return set[0][0];
    }
    return cp(this.#runes[this.#at++]);
  }

  #class(): Ranges {
    let negated = false;
    if (this.#runes[this.#at] === '^') {
      negated = true;
      this.#at++;
    }
    const items: Ranges = [];
    let first = true;
    for (;;) {
      const ch = this.#runes[this.#at];
      if (ch === undefined) this.fail('missing closing ]');
      if (ch === ']' && !first) {
        this.#at++;
        break;
      }
      first = false;
      if (ch === '[' && this.#runes[this.#at + 1] === ':') {
        const rest = this.#runes.slice(this.#at + 2).join('');
        const end = rest.indexOf(':]');
        if (end >= 0) {
          const name = rest.slice(0, end);
          const set = POSIX[name.replace(/^\^/, '')];
          if (set === undefined) this.fail(`invalid character class range [:${name}:]`);
          items.push(...(name.startsWith('^') ? complement(set) : set));
          this.#at += 2 + Array.from(name).length + 2;
          continue;
        }
      }
      if (ch === '\\' && /[dswDSW]/.test(this.#runes[this.#at + 1] ?? '')) {
        this.#at++;
        items.push(...this.#escape(true));
        continue;
      }
      const lo = this.#classChar();
      let hi = lo;
      if (this.#runes[this.#at] === '-' && this.#runes[this.#at + 1] !== ']' && this.#runes[this.#at + 1] !== undefined) {
        this.#at++;
        hi = this.#classChar();
        if (hi < lo) this.fail('invalid character class range');
      }
      items.push([lo, hi]);
    }
    return normalize(negated ? complement(items) : items);
  }
}

function emit(node: Node, prog: Inst[]): void {
  if (node.kind === 'set') {
    prog.push({ op: 'set', ranges: node.ranges });
  } else if (node.kind === 'concat') {
    for (const item of node.items) emit(item, prog);
  } else if (node.op === '*') {
    const split = prog.length;
    prog.push({ op: 'split', a: split + 1, b: -1 });
    emit(node.sub, prog);
    prog.push({ op: 'jmp', to: split });
    (prog[split] as { b: number }).b = prog.length;
  } else if (node.op === '?') {
    const split = prog.length;
    prog.push({ op: 'split', a: split + 1, b: -1 });
    emit(node.sub, prog);
    (prog[split] as { b: number }).b = prog.length;
  } else {
    const start = prog.length;
    emit(node.sub, prog);
    prog.push({ op: 'split', a: start, b: prog.length + 1 });
  }
}

function inRanges(set: Ranges, c: number): boolean {
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < set[mid][0]) hi = mid - 1;
    else if (c > set[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Compiles `source` (unanchored syntax, matched against the whole string); throws RegexpSyntaxError. */
export function compileLinearRegexp(source: string): (text: string) => boolean {
  const prog: Inst[] = [];
  emit(new Parser(source).parse(), prog);
  prog.push({ op: 'match' });
  const dfa = new LazyDfa(prog);
  return (text) => dfa.matches(text);
}

/** A set of NFA threads (program counters of 'set' and 'match' instructions), as one DFA state. */
interface DfaState {
  pcs: number[];
  accepting: boolean;
  /** Code point → next state, filled as characters are seen. */
  next: Map<number, DfaState>;
}

/**
 * The Pike VM's thread sets, cached as DFA states the first time they occur (as RE2 does): each character
 * then costs one map lookup, and a new state costs O(program). At most MAX_STATES are kept; past that the
 * cache starts over, so memory stays bounded and time stays O(text × program) in the worst case.
 */
const MAX_STATES = 2000;

class LazyDfa {
  readonly #prog: readonly Inst[];
  readonly #seen: Int32Array;
  #gen = 0;
  #states = new Map<string, DfaState>();
  #start: DfaState;

  constructor(prog: readonly Inst[]) {
    this.#prog = prog;
    this.#seen = new Int32Array(prog.length).fill(-1);
    this.#start = this.#state(this.#closure([0]));
  }

  matches(text: string): boolean {
    let state = this.#start;
    for (const ch of text) {
      if (state.pcs.length === 0) return false;
      const c = cp(ch);
      let next = state.next.get(c);
      if (next === undefined) {
        next = this.#step(state, c);
        state.next.set(c, next);
      }
      state = next;
    }
    return state.accepting;
  }

  #step(state: DfaState, c: number): DfaState {
    const targets: number[] = [];
    for (const pc of state.pcs) {
      const inst = this.#prog[pc];
      if (inst.op === 'set' && inRanges(inst.ranges, c)) targets.push(pc + 1);
    }
    if (this.#states.size >= MAX_STATES) this.#states = new Map();
    return this.#state(this.#closure(targets));
  }

  /** The 'set'/'match' instructions reachable from `pcs` through jumps and splits, in priority order. */
  #closure(pcs: readonly number[]): number[] {
    const gen = ++this.#gen;
    const out: number[] = [];
    const stack = [...pcs].reverse();
    while (stack.length > 0) {
      const at = stack.pop() as number;
      if (this.#seen[at] === gen) continue;
      this.#seen[at] = gen;
      const inst = this.#prog[at];
      if (inst.op === 'jmp') stack.push(inst.to);
      else if (inst.op === 'split') stack.push(inst.b, inst.a);
      else out.push(at);
    }
    return out;
  }

  #state(pcs: number[]): DfaState {
    const key = pcs.join(',');
    let state = this.#states.get(key);
    if (state === undefined) {
      state = { pcs, accepting: pcs.some((pc) => this.#prog[pc].op === 'match'), next: new Map() };
      this.#states.set(key, state);
    }
    return state;
  }
}
