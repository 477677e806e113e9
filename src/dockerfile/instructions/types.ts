/**
 * Typed Dockerfile instructions: BuildKit's frontend/dockerfile/instructions commands as one
 * discriminated union on `kind`. Values are as written (quotes and `$VAR` still in place) until
 * expandInstruction() has run; the builder dispatches on the expanded form.
 */

/** Where an instruction came from; `text` is its original text (quoted in error messages). */
export interface InstructionLocation {
  file: string;
  /** 1-based first line. */
  line: number;
  endLine: number;
  text: string;
}

interface InstructionBase {
  location: InstructionLocation;
  /** The instruction as written, trimmed, continuations joined (BuildKit's command String()). */
  original: string;
}

/** A heredoc body attached to RUN/CMD/ENTRYPOINT (BuildKit's ShellInlineFile). */
export interface InlineFile {
  name: string;
  /** The body as parsed (tabs already stripped for `<<-`). */
  data: string;
  chomp: boolean;
  /** False when the delimiter was quoted. BuildKit ignores it for RUN (the shell expands). */
  expand: boolean;
}

export interface FromInstruction extends InstructionBase {
  kind: 'FROM';
  /** The image or stage name, unexpanded (meta ARGs apply). */
  baseName: string;
  /** Lower-cased stage name from `AS name`. */
  stageName?: string;
  /** `--platform` value, unexpanded. */
  platform?: string;
}

export type NetworkMode = 'default' | 'none' | 'host';
export type SecurityMode = 'sandbox' | 'insecure';

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type CacheSharing = 'shared' | 'private' | 'locked';

/** One `RUN --mount=...`, validated as BuildKit's parseMount. Absent options are undefined. */
export interface RunMount {
  type: MountType;
  /** Stage name, stage index or image reference (bind, cache). */
  from?: string;
  source?: string;
  target?: string;
  readOnly: boolean;
  /** `id=`: cache id, secret id or ssh id. */
  id?: string;
  sharing?: CacheSharing;
  /** secret/ssh: fail when the secret or agent is missing. */
  required: boolean;
  /** File mode (secret, ssh, cache), parsed as octal. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** tmpfs `size=` in bytes. */
  size?: number;
  /** secret `env=`: expose the secret as this environment variable. */
  env?: string;
}

export interface RunInstruction extends InstructionBase {
  kind: 'RUN';
  /** Exec form: the argv. Shell form: one string (heredoc markers included). */
  command: string[];
  prependShell: boolean;
  heredocs: InlineFile[];
  /** The `--mount` values as written. */
  mountSpecs: string[];
  /**
   * The `from=` of each mount as known before expansion (for the stage graph); BuildKit
   * refuses variables there.
   */
  mountFroms: (string | undefined)[];
  /** The mounts, fully parsed and validated: null until expandInstruction() has run. */
  mounts: RunMount[] | null;
  network: NetworkMode;
  security: SecurityMode;
  /** Names of the flags given (BuildKit's FlagsUsed). */
  flagsUsed: string[];
}

export interface CmdInstruction extends InstructionBase {
  kind: 'CMD';
  command: string[];
  prependShell: boolean;
  heredocs: InlineFile[];
}

export interface EntrypointInstruction extends InstructionBase {
  kind: 'ENTRYPOINT';
  /** Empty for `ENTRYPOINT []` (BuildKit's nil). */
  command: string[];
  prependShell: boolean;
  heredocs: InlineFile[];
}

export interface ShellInstruction extends InstructionBase {
  kind: 'SHELL';
  shell: string[];
}

export interface KeyValue {
  key: string;
  value: string;
  /** True for the legacy `ENV key value` form (no `=`). */
  noDelimiter: boolean;
}

export interface EnvInstruction extends InstructionBase {
  kind: 'ENV';
  pairs: KeyValue[];
}

export interface LabelInstruction extends InstructionBase {
  kind: 'LABEL';
  pairs: KeyValue[];
}

export interface MaintainerInstruction extends InstructionBase {
  kind: 'MAINTAINER';
  maintainer: string;
}

export interface ExposeInstruction extends InstructionBase {
  kind: 'EXPOSE';
  /** As written, sorted like BuildKit; expanded and split into ports at dispatch. */
  ports: string[];
}

/** A heredoc used as an ADD/COPY source (BuildKit's SourceContent). */
export interface SourceContent {
  /** The file name created (the heredoc delimiter). */
  path: string;
  data: string;
  expand: boolean;
}

interface CopyLikeFields {
  sources: string[];
  sourceContents: SourceContent[];
  dest: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  exclude: string[];
}

export interface AddInstruction extends InstructionBase, CopyLikeFields {
  kind: 'ADD';
  keepGitDir: boolean;
  checksum?: string;
  /** `--unpack`: undefined when not given (then archives from the context are unpacked). */
  unpack?: boolean;
}

export interface CopyInstruction extends InstructionBase, CopyLikeFields {
  kind: 'COPY';
  /** Stage name, stage index or image reference; never expanded (as BuildKit). */
  from?: string;
  parents: boolean;
}

export interface VolumeInstruction extends InstructionBase {
  kind: 'VOLUME';
  volumes: string[];
}

export interface UserInstruction extends InstructionBase {
  kind: 'USER';
  user: string;
}

export interface WorkdirInstruction extends InstructionBase {
  kind: 'WORKDIR';
  path: string;
}

export interface ArgDeclaration {
  key: string;
  /** The default as written (quotes kept); undefined for `ARG name`. */
  defaultValue?: string;
}

export interface ArgInstruction extends InstructionBase {
  kind: 'ARG';
  args: ArgDeclaration[];
}

export interface OnbuildInstruction extends InstructionBase {
  kind: 'ONBUILD';
  /** The trigger's text as stored in the image config (`ONBUILD ` removed, heredocs appended). */
  expression: string;
  /** The trigger parsed, when it parses (BuildKit parses it only when the trigger fires). */
  trigger?: Instruction;
  /** Why the trigger does not parse (reported when it fires). */
  triggerError?: string;
}

export interface StopsignalInstruction extends InstructionBase {
  kind: 'STOPSIGNAL';
  signal: string;
}

/** A healthcheck as the image config stores it; durations in nanoseconds, 0 = unset. */
export interface HealthConfig {
  /** ["NONE"], ["CMD", ...argv] or ["CMD-SHELL", "command"]. */
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

export interface HealthcheckInstruction extends InstructionBase {
  kind: 'HEALTHCHECK';
  health: HealthConfig;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | EnvInstruction
  | AddInstruction
  | CopyInstruction
  | EntrypointInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | ArgInstruction
  | OnbuildInstruction
  | StopsignalInstruction
  | HealthcheckInstruction
  | ShellInstruction;

export type InstructionKind = Instruction['kind'];

/** Instructions that may follow FROM inside a stage. */
export type StageInstruction = Exclude<Instruction, FromInstruction>;
