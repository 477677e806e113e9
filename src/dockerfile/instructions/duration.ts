/** Go's time.ParseDuration ("1m30s", "1.5h", "300ms"), returning nanoseconds. */
import { InstructionSyntaxError } from './errors.ts';

const UNIT_NANOS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX_DURATION = (1n << 63n) - 1n;

/**
 * Nanoseconds as a number: exact up to 2^53 ns (about 104 days), which covers any sensible
 * healthcheck; Go's own limit (about 292 years) is enforced.
 */
export function parseGoDuration(text: string): number {
  const invalid = () => new InstructionSyntaxError(`time: invalid duration ${quote(text)}`);
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest[0] === '-';
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0n;
  while (rest !== '') {
    const match = /^(\d*)(?:\.(\d*))?/.exec(rest);
    const whole = match?.[1] ?? '';
    const fraction = match?.[2];
    if (whole === '' && (fraction === undefined || fraction === '')) throw invalid();
    rest = rest.slice(match?.[0].length ?? 0);
    const unitMatch = /^[^0-9.]+/.exec(rest);
    if (!unitMatch) throw new InstructionSyntaxError(`time: missing unit in duration ${quote(text)}`);
    const unit = unitMatch[0];
    const scale = UNIT_NANOS[unit];
    if (scale === undefined) throw new InstructionSyntaxError(`time: unknown unit ${quote(unit)} in duration ${quote(text)}`);
    rest = rest.slice(unit.length);
    total += BigInt(whole === '' ? '0' : whole) * scale + fractionNanos(fraction ?? '', scale);
    if (total > MAX_DURATION + (negative ? 1n : 0n)) throw invalid();
  }
  return Number(negative ? -total : total);
}

function fractionNanos(fraction: string, scale: bigint): bigint {
  if (fraction === '') return 0n;
  // Go truncates the fraction towards zero once scaled to nanoseconds.
  return (BigInt(fraction) * scale) / 10n ** BigInt(fraction.length);
}

function quote(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** Go's time.Duration.String() for the few values messages print ("1ms"). */
export function formatGoDuration(nanos: number): string {
  if (nanos % 1_000_000_000 === 0) return `${nanos / 1_000_000_000}s`;
  if (nanos % 1_000_000 === 0) return `${nanos / 1_000_000}ms`;
  if (nanos % 1_000 === 0) return `${nanos / 1_000}µs`;
  return `${nanos}ns`;
}
