/**
 * The parser's output: one node per instruction, as BuildKit's parser.Node, but with the argument
 * chain (Node.Next) flattened into `args`. Nothing here is interpreted yet: that is instructions/'s job.
 */

export interface Heredoc {
  /** The delimiter word as written, quotes removed (e.g. "EOF"). */
  name: string;
  /** The body, including the trailing newline of its last line; tabs stripped for `<<-`. */
  content: string;
  /** False when the delimiter was quoted (`<<'EOF'`, `<<"EOF"`): the body is not expanded. */
  expand: boolean;
  /** True for `<<-`. */
  chomp: boolean;
  /** The `n` of `n<<EOF` (0 when absent), as BuildKit's Heredoc.FileDescriptor. */
  fileDescriptor?: number;
}

export interface InstructionNode {
  /** Lower-case instruction name: "from", "run", "copy", ... */
  name: string;
  /**
   * The arguments, exactly as BuildKit's node chain holds them (what `Node.Dump()` prints, in order):
   * the one shell-form string for RUN/CMD/…, the JSON array elements for exec form,
   * key/value/separator triples for ENV and LABEL, the words for FROM/COPY/…
   */
  args: string[];
  /** True when args came from a JSON array (exec form). */
  json: boolean;
  /** Flags as written, in order: ["--from=build", "--chown=1:1"]. */
  flags: string[];
  /** The instruction's original text: its lines joined, continuations removed, heredoc bodies excluded. */
  original: string;
  heredocs: Heredoc[];
  /** ONBUILD only: the instruction it carries. */
  sub?: InstructionNode;
  /** 1-based line numbers of the first and last line of the instruction (heredoc bodies included). */
  startLine: number;
  endLine: number;
  /** Comment lines immediately above the instruction, without the leading '#'. */
  prevComment: string[];
}

export interface Directive {
  name: string;
  value: string;
  line: number;
}

export interface ParseWarning {
  message: string;
  line: number;
}

export interface ParsedDockerfile {
  /** The file name used in error messages (e.g. "Dockerfile"). */
  file: string;
  directives: Directive[];
  /** "\\" or "`". */
  escapeToken: string;
  instructions: InstructionNode[];
  warnings: ParseWarning[];
}
