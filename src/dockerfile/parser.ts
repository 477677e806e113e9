/**
 * Dockerfile text → instruction nodes, as BuildKit's dockerfile parser (frontend/dockerfile/parser): parser
 * directives, line continuations (with comment and blank lines inside them), heredoc bodies, and each
 * instruction's arguments read by its own rule. Nothing is expanded or validated beyond what that parser
 * rejects, plus unknown instruction names.
 */
import type { Heredoc, InstructionNode, ParsedDockerfile, ParseWarning, Directive } from './ast.ts';
import { KilnError } from '../errors.ts';
import { DirectiveState } from './directives.ts';
import { chompHeredocContent, heredocInstructions, heredocMarkersInLine } from './heredoc.ts';
import { goTrimLeftSpace, goTrimSpace } from './parser/go-text.ts';
import { knownInstructions, newNodeFromLine } from './parser/node-from-line.ts';
import { unknownInstructionHint } from './parser/suggest.ts';

export interface ParseOptions {
  /** The file name used in error locations. Default "Dockerfile". */
  file?: string;
}

export const PARSE_ERROR = 'DOCKERFILE_PARSE';

/** bufio.Scanner's limit in BuildKit: a longer line stops the scan with an error. */
const maxLineBytes = 64 * 1024 - 1;

export function parseDockerfile(text: string, options: ParseOptions = {}): ParsedDockerfile {
  const file = options.file ?? 'Dockerfile';
  const scanner = new LineScanner(text.startsWith('\ufeff') ? text.slice(1) : text);
  const fail = (message: string, line: number, lineText?: string, hint?: string): never => {
    throw new KilnError(PARSE_ERROR, message, {
      location: { file, line: Math.max(line, 1), ...(lineText === undefined ? {} : { text: lineText }) },
      ...(hint === undefined ? {} : { hint }),
    });
  };
  const d = new DirectiveState();
  const directives: Directive[] = [];
  const instructions: InstructionNode[] = [];
  const warnings: ParseWarning[] = [];
  let comments: string[] = [];
  let currentLine = 0;

  for (let raw = scanner.next(); raw !== undefined; raw = scanner.next()) {
    if (isComment(raw)) {
      // BuildKit drops the first byte of the raw line, so an indented comment keeps its '#'.
      const comment = goTrimSpace(raw.slice(1));
      if (comment === '') comments = [];
      else comments.push(comment);
    }
    const first = processLine(d, raw, true, (err) => fail(err.message, currentLine + 1, trimNewline(raw)));
    if (first.directive) {
      comments.pop();
      directives.push({ ...first.directive, line: currentLine + 1 });
    }
    currentLine++;
    const startLine = currentLine;
    let [line, isEndOfLine] = trimContinuation(first.text, d);
    if (isEndOfLine && line === '') continue;

    let hasEmptyContinuationLine = false;
    while (!isEndOfLine) {
      const next = scanner.next();
      if (next === undefined) break;
      const processed = processLine(d, next, false, (err) => fail(err.message, currentLine + 1, trimNewline(next)));
      currentLine++;
      if (isComment(next)) continue;
      if (goTrimLeftSpace(processed.text) === '') {
        hasEmptyContinuationLine = true;
        continue;
      }
      let part: string;
      [part, isEndOfLine] = trimContinuation(processed.text, d);
      line += part;
    }
    if (hasEmptyContinuationLine) {
      warnings.push({ message: `Empty continuation line found in: ${line}`, line: currentLine });
    }

    let node: InstructionNode;
    try {
      node = newNodeFromLine(line, d.escapeToken, comments);
    } catch (err) {
      return fail((err as Error).message, startLine, goTrimSpace(line));
    }
    if (!knownInstructions.has(node.name)) {
      const written = goTrimSpace(line).split(/[\t\v\f\r ]/, 1)[0];
      fail(`unknown instruction: ${written}`, startLine, goTrimSpace(line), unknownInstructionHint(node.name));
    }

    if (canContainHeredoc(node) && line.includes('<<')) {
      let markers;
      try {
        markers = heredocMarkersInLine(line);
      } catch (err) {
        return fail((err as Error).message, startLine, goTrimSpace(line));
      }
      for (const marker of markers) {
        const body = readHeredocBody(scanner, marker.name, marker.chomp);
        currentLine += body.linesRead;
        if (!body.terminated) fail('unterminated heredoc', startLine, goTrimSpace(line));
        const heredoc: Heredoc = {
          name: marker.name,
          content: marker.chomp ? chompHeredocContent(body.content) : body.content,
          expand: marker.expand,
          chomp: marker.chomp,
          fileDescriptor: marker.fileDescriptor,
        };
        node.heredocs.push(heredoc);
      }
    }

    setLines(node, startLine, currentLine);
    instructions.push(node);
    comments = [];
  }

  if (instructions.length === 0) fail('file with no instructions', currentLine);
  if (scanner.tooLongLine !== undefined) {
    fail(`dockerfile line greater than max allowed size of ${maxLineBytes}`, scanner.tooLongLine);
  }
  return { file, directives, escapeToken: d.escapeToken, instructions, warnings };
}

/** Lines with their endings kept (heredoc bodies are taken verbatim), stopping before an over-long line. */
class LineScanner {
  private readonly text: string;
  private offset = 0;
  private lineNumber = 0;
  tooLongLine: number | undefined;

  constructor(text: string) {
    this.text = text;
  }

  next(): string | undefined {
    if (this.offset >= this.text.length || this.tooLongLine !== undefined) return undefined;
    const nl = this.text.indexOf('\n', this.offset);
    const end = nl < 0 ? this.text.length : nl + 1;
    const line = this.text.slice(this.offset, end);
    if (Buffer.byteLength(trimNewline(line)) > maxLineBytes) {
      this.tooLongLine = this.lineNumber + 1;
      return undefined;
    }
    this.offset = end;
    this.lineNumber++;
    return line;
  }
}

interface ProcessedLine {
  /** The line without its ending, left-trimmed for a first line, and empty if it was a comment. */
  text: string;
  directive: { name: string; value: string } | undefined;
}

function processLine(d: DirectiveState, raw: string, stripLeft: boolean, onError: (err: Error) => never): ProcessedLine {
  let text = trimNewline(raw);
  if (stripLeft) text = goTrimLeftSpace(text);
  let directive;
  try {
    directive = d.possibleDirective(text);
  } catch (err) {
    return onError(err as Error);
  }
  return { text: isComment(text) ? '' : text, directive };
}

/** Removes a trailing continuation token; the flag says whether the logical line ends here. */
function trimContinuation(line: string, d: DirectiveState): [string, boolean] {
  if (!d.continuation.test(line)) return [line, true];
  return [line.replace(d.continuation, '$1'), false];
}

function readHeredocBody(
  scanner: LineScanner,
  terminator: string,
  chomp: boolean,
): { content: string; terminated: boolean; linesRead: number } {
  let content = '';
  let linesRead = 0;
  for (let raw = scanner.next(); raw !== undefined; raw = scanner.next()) {
    linesRead++;
    let candidate = trimNewline(raw);
    if (chomp) candidate = candidate.replace(/^\t+/, '');
    if (candidate === terminator) return { content, terminated: true, linesRead };
    content += raw;
  }
  return { content, terminated: false, linesRead };
}

function canContainHeredoc(node: InstructionNode): boolean {
  const target = node.name === 'onbuild' && node.sub ? node.sub : node;
  return heredocInstructions.has(target.name) && !target.json;
}

function setLines(node: InstructionNode, startLine: number, endLine: number): void {
  node.startLine = startLine;
  node.endLine = endLine;
  if (node.sub) setLines(node.sub, startLine, endLine);
}

function isComment(line: string): boolean {
  return goTrimLeftSpace(line).startsWith('#');
}

function trimNewline(line: string): string {
  return line.replace(/[\r\n]+$/, '');
}
