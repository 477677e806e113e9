/** STOPSIGNAL values as moby/sys/signal.ParseSignal accepts them on Linux (checked at dispatch). */
import { InstructionSyntaxError } from './errors.ts';

const NAMES = [
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF',
  'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2',
  'VTALRM', 'WINCH', 'XCPU', 'XFSZ', 'RTMIN', 'RTMAX',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
];

/** Throws `Invalid signal: X` for what BuildKit refuses; any non-zero number is accepted. */
export function checkStopSignal(signal: string): void {
  if (/^[+-]?\d+$/.test(signal)) {
    if (Number(signal) === 0) throw new InstructionSyntaxError(`Invalid signal: ${signal}`);
    return;
  }
  const name = signal.toUpperCase().replace(/^SIG/, '');
  if (!NAMES.includes(name)) throw new InstructionSyntaxError(`Invalid signal: ${signal}`);
}
