/**
 * Which words of an instruction are expanded, against what (BuildKit's Expand/ExpandRaw methods and
 * dispatchExpose). The builder calls expandInstruction at dispatch time with the stage's current
 * variables (image ENV + ENV + ARG values). Not expanded here: RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK
 * (the shell does it), ONBUILD and MAINTAINER (never), ARG (see stages.ts: a default is expanded only
 * when no build arg overrides it), FROM (meta ARGs only, see stages.ts), COPY --from (never).
 */
import { KilnError } from '../../errors.ts';
import { ShellExpansionError, processWord, processWords } from '../shell/index.ts';
import type { LexOptions, ShellEnv } from '../shell/index.ts';
import { EXPANSION_ERROR, InstructionSyntaxError, instructionError, sourceLocation } from './errors.ts';
import { parseMount } from './mount.ts';
import type {
  AddInstruction,
  CopyInstruction,
  Instruction,
  InstructionLocation,
  KeyValue,
  SourceContent,
} from './types.ts';

export interface ExpandOptions {
  /** The Dockerfile's escape directive. */
  escapeToken?: '\\' | '`';
}

/** A pure copy of `inst` with its expandable words expanded; throws located KilnErrors. */
export function expandInstruction<T extends Instruction>(inst: T, env: ShellEnv, options: ExpandOptions = {}): T {
  const lex: LexOptions = { escapeToken: options.escapeToken ?? '\\' };
  const word = (text: string): string => located(inst.location, () => processWord(text, env, lex));
  const optionalWord = (text: string | undefined): string | undefined => (text === undefined ? undefined : word(text));
  return expandByKind(inst, word, optionalWord, env, lex) as T;
}

type Expander = (text: string) => string;

function expandByKind(
  inst: Instruction,
  word: Expander,
  optionalWord: (text: string | undefined) => string | undefined,
  env: ShellEnv,
  lex: LexOptions,
): Instruction {
  switch (inst.kind) {
    case 'ENV':
    case 'LABEL':
      return { ...inst, pairs: inst.pairs.map((pair): KeyValue => ({ ...pair, key: word(pair.key), value: word(pair.value) })) };
    case 'ADD':
      return withDefined<AddInstruction>({
        ...expandCopyLike(inst, word, env),
        chown: optionalWord(inst.chown),
        chmod: optionalWord(inst.chmod),
        checksum: optionalWord(inst.checksum),
      });
    case 'COPY':
      return withDefined<CopyInstruction>({
        ...expandCopyLike(inst, word, env),
        chown: optionalWord(inst.chown),
        chmod: optionalWord(inst.chmod),
      });
    case 'WORKDIR':
      return { ...inst, path: word(inst.path) };
    case 'USER':
      return { ...inst, user: word(inst.user) };
    case 'VOLUME':
      return { ...inst, volumes: inst.volumes.map(word) };
    case 'STOPSIGNAL':
      return { ...inst, signal: word(inst.signal) };
    case 'EXPOSE':
      return { ...inst, ports: inst.ports.flatMap((port) => located(inst.location, () => processWords(port, env, lex))) };
    case 'RUN':
      return {
        ...inst,
        mounts: inst.mountSpecs.map((spec) => located(inst.location, () => parseMount(spec, word))),
      };
    default:
      return inst;
  }
}

function expandCopyLike<T extends AddInstruction | CopyInstruction>(inst: T, word: Expander, env: ShellEnv): T {
  return {
    ...inst,
    sources: inst.sources.map(word),
    dest: word(inst.dest),
    sourceContents: inst.sourceContents.map((content) => expandHeredocContent(content, env, inst.location)),
  };
}

/** Heredoc bodies expand only when the delimiter was unquoted, quotes kept, `\` escapes (BuildKit's ExpandRaw). */
function expandHeredocContent(content: SourceContent, env: ShellEnv, location: InstructionLocation): SourceContent {
  if (!content.expand) return content;
  const data = located(location, () => processWord(content.data, env, { escapeToken: '\\', skipProcessQuotes: true }));
  return { ...content, data };
}

/** Drops keys whose value became undefined, so optional fields stay absent rather than undefined. */
function withDefined<T extends object>(value: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) if (field !== undefined) out[key] = field;
  return out as T;
}

/** Runs `fn`, turning expansion and mount errors into KilnErrors at `location`. */
export function located<R>(location: InstructionLocation, fn: () => R): R {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ShellExpansionError) {
      throw new KilnError(EXPANSION_ERROR, err.message, { location: sourceLocation(location), cause: err });
    }
    if (err instanceof InstructionSyntaxError) throw instructionError(location, err.message);
    throw err;
  }
}
