/** The typed-instruction layer of the Dockerfile front end. */
export type * from './types.ts';
export { parseInstruction } from './parse.ts';
export { expandInstruction, located } from './expand.ts';
export type { ExpandOptions } from './expand.ts';
export { parseFlags } from './flags.ts';
export type { FlagSpecs, FlagType, ParsedFlags } from './flags.ts';
export { mountFromBeforeExpansion, parseMount, parseRamBytes } from './mount.ts';
export { parseGoDuration } from './duration.ts';
export { exposedPortKeys } from './expose.ts';
export { checkStopSignal } from './signal.ts';
export { heredocWord } from './copy-add.ts';
export { STAGE_NAME_PATTERN } from './from.ts';
export { EXPANSION_ERROR, INSTRUCTION_ERROR, InstructionSyntaxError, instructionError, sourceLocation } from './errors.ts';
