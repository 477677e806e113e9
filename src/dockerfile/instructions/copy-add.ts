/** ADD and COPY: flags, sources (paths and heredoc documents) and the destination. */
import { processWords } from '../shell/index.ts';
import { InstructionSyntaxError } from './errors.ts';
import { parseFlags, type ParsedFlags } from './flags.ts';
import { noDestinationArgument } from './request.ts';
import type { ParseRequest } from './request.ts';
import type { AddInstruction, CopyInstruction, SourceContent } from './types.ts';

export function parseAdd(req: ParseRequest): AddInstruction {
  if (req.args.length < 2) throw noDestinationArgument('ADD');
  const flags = parseFlags(req.flags, {
    exclude: 'strings',
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    checksum: 'string',
    unpack: 'bool',
  });
  return {
    kind: 'ADD',
    ...copyLikeFields(req, flags, 'ADD'),
    keepGitDir: flags.bool('keep-git-dir'),
    ...optional('checksum', flags.string('checksum')),
    ...(flags.isUsed('unpack') ? { unpack: flags.bool('unpack') } : {}),
  };
}

export function parseCopy(req: ParseRequest): CopyInstruction {
  if (req.args.length < 2) throw noDestinationArgument('COPY');
  const flags = parseFlags(req.flags, {
    exclude: 'strings',
    parents: 'bool',
    chown: 'string',
    from: 'string',
    chmod: 'string',
    link: 'bool',
  });
  return {
    kind: 'COPY',
    ...copyLikeFields(req, flags, 'COPY'),
    ...optional('from', flags.string('from')),
    parents: flags.bool('parents'),
  };
}

/** BuildKit treats an empty flag value (`--chown=`) as unset. */
/** The fields ADD and COPY share: sources, heredoc sources, destination and the common flags. */
function copyLikeFields(req: ParseRequest, flags: ParsedFlags, command: 'ADD' | 'COPY') {
  return {
    location: req.location,
    original: req.original,
    ...sourcesAndDest(req, command),
    ...optional('chown', flags.string('chown')),
    ...optional('chmod', flags.string('chmod')),
    link: flags.bool('link'),
    exclude: flags.strings('exclude'),
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return value === undefined || value === '' ? {} : ({ [key]: value } as { [P in K]?: string });
}

function sourcesAndDest(req: ParseRequest, command: string): { sources: string[]; sourceContents: SourceContent[]; dest: string } {
  const dest = req.args[req.args.length - 1];
  if (heredocWord(dest) !== undefined) throw new InstructionSyntaxError(`${command} cannot accept a heredoc as a destination`);
  const sources: string[] = [];
  const sourceContents: SourceContent[] = [];
  for (const source of req.args.slice(0, -1)) {
    const heredoc = heredocWord(source);
    if (heredoc === undefined) {
      sources.push(source);
      continue;
    }
    const body = req.heredocs.find((doc) => doc.name === heredoc.name);
    sourceContents.push({ path: heredoc.name, data: body?.content ?? '', expand: heredoc.expand });
  }
  return { sources, sourceContents, dest };
}

export interface HeredocWord {
  name: string;
  expand: boolean;
  chomp: boolean;
}

/** Recognises `<<EOF`, `<<-EOF`, `<<"EOF"` words as BuildKit's ParseHeredoc (undefined if not one). */
export function heredocWord(word: string): HeredocWord | undefined {
  const match = /^(\d*)<<(-?)([^<]*)$/s.exec(word);
  if (!match) return undefined;
  try {
    const raw = processWords(match[3], new Map(), { rawQuotes: true });
    const plain = processWords(match[3], new Map());
    if (raw.length !== 1 || plain.length !== 1) return undefined;
    return { name: plain[0], expand: raw[0] === plain[0], chomp: match[2] === '-' };
  } catch {
    return undefined;
  }
}
