/** Errors of the instruction layer, as KilnErrors pointing at the instruction's line. */
import { KilnError } from '../../errors.ts';
import type { InstructionLocation } from './types.ts';

/** A malformed instruction: bad flag, wrong argument count, invalid mount, ... */
export const INSTRUCTION_ERROR = 'DOCKERFILE_INSTRUCTION';
/** A word that could not be expanded (`${X:?msg}`, bad substitution). */
export const EXPANSION_ERROR = 'DOCKERFILE_EXPANSION';

/**
 * Thrown by the small parsers (flags, mounts, durations) that know nothing of locations;
 * the instruction parser turns it into a located KilnError.
 */
export class InstructionSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstructionSyntaxError';
  }
}

export function instructionError(location: InstructionLocation, message: string, hint?: string): KilnError {
  return new KilnError(INSTRUCTION_ERROR, message, { location: sourceLocation(location), hint });
}

export function sourceLocation(location: InstructionLocation): { file: string; line: number; text: string } {
  return { file: location.file, line: location.line, text: location.text };
}
