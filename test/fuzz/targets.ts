/**
 * What the fuzzer feeds, and what counts as a clean answer: the Dockerfile front end (parser, instructions,
 * stages, expansion) and the .dockerignore matcher must either work or throw a KilnError; the shell lexer
 * alone throws ShellExpansionError (the builder turns it into a KilnError with the location); the layer
 * reader must apply a layer inside its root or reject it with a KilnError. Anything else is a finding.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { IgnoreMatcher, parseIgnoreFile } from '../../src/context/dockerignore.ts';
import { loadDockerfile } from '../../src/dockerfile/index.ts';
import { processWord, processWords, ShellExpansionError } from '../../src/dockerfile/shell/index.ts';
import { isKilnError } from '../../src/errors.ts';
import { applyLayer } from '../../src/fs/extract/apply-layer.ts';
import { checkDispatch } from '../unit/dockerfile/dispatch-check.ts';
import { conformanceDir, repoRoot } from '../env/paths.ts';

export interface Target {
  name: string;
  dictionary: Buffer[];
  seeds(): Promise<Buffer[]>;
  maxBytes: number;
  /** Resolves when the input was handled cleanly; rejects/throws with the finding otherwise. */
  run(input: Buffer): Promise<void> | void;
}

const amd64 = { os: 'linux', architecture: 'amd64' };
const tokens = (list: string[]): Buffer[] => list.map((t) => Buffer.from(t));

function filesNamed(dir: string | undefined, test: (name: string) => boolean, limit = 400): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (out.length >= limit) return;
      const p = path.join(d, e.name);
      if (e.isDirectory() && e.name !== 'node_modules' && e.name !== '.git') walk(p);
      else if (e.isFile() && test(e.name) && fs.statSync(p).size < 64 * 1024) out.push(p);
    }
  };
  if (dir !== undefined && fs.existsSync(dir)) walk(dir);
  return out;
}

const read = (files: string[]): Buffer[] => files.map((f) => fs.readFileSync(f));

function clean(err: unknown, allowed: (err: unknown) => boolean): void {
  if (!allowed(err)) throw err;
}

const DOCKERFILE_SEEDS = [
  'FROM busybox AS a\nARG X=1\nENV Y=${X:-z} \\\n    Z="q w"\nRUN echo $Y > /f\nFROM a\nCOPY --from=a --chmod=755 /f /g\nCMD ["sh"]\n',
  '# syntax=docker/dockerfile:1\n# escape=`\nFROM scratch\nLABEL a=b `\n  c=d\nONBUILD RUN true\nEXPOSE 80/tcp 53/udp\n',
  'FROM busybox\nRUN <<EOF\necho hi\nEOF\nCOPY <<-"END" /x\n\tbody\nEND\nHEALTHCHECK --interval=5s CMD true\nSHELL ["/bin/sh","-c"]\n',
  'ARG BASE=busybox\nFROM ${BASE}\nWORKDIR /a/${BASE}\nUSER 1:1\nVOLUME ["/v"]\nSTOPSIGNAL SIGKILL\nADD --chown=1:2 a* /d/\nRUN --mount=type=cache,target=/c true\n',
];

export const dockerfileTarget: Target = {
  name: 'dockerfile',
  maxBytes: 64 * 1024,
  dictionary: tokens(['\n', '\\\n', 'FROM ', 'RUN ', 'COPY ', 'ADD ', 'ARG ', 'ENV ', 'LABEL ', 'ONBUILD ', 'CMD ', 'ENTRYPOINT ',
    'HEALTHCHECK ', 'SHELL ', 'EXPOSE ', 'WORKDIR ', 'USER ', 'VOLUME ', 'STOPSIGNAL ', 'MAINTAINER ', ' AS ', '--from=', '--mount=',
    '--chmod=', '--chown=', '--platform=', '--link', '--parents', '--exclude=', '<<EOF', '<<-EOF', "<<'EOF'", 'EOF\n', '${', '}', ':-',
    ':+', ':?', '#', '%', '//', '$', '"', "'", '[', ']', '["a","b"]', '=', '# escape=`\n', '# syntax=x\n', '`', '\uFEFF', '\r\n']),
  async seeds() {
    const corpus = conformanceDir();
    return [
      ...DOCKERFILE_SEEDS.map((s) => Buffer.from(s)),
      ...read(filesNamed(path.join(repoRoot, 'examples'), (n) => n.includes('Dockerfile'))),
      ...read(filesNamed(corpus && path.join(corpus, 'cases'), (n) => n.startsWith('Dockerfile') && !n.endsWith('.dockerignore'))),
      ...read(filesNamed(corpus && path.join(corpus, 'parser-cases'), (n) => n === 'Dockerfile')),
    ];
  },
  run(input) {
    try {
      const loaded = loadDockerfile(input.toString('utf8'), { targetPlatform: amd64, buildPlatform: amd64, buildArgs: new Map([['X', 'y']]) });
      checkDispatch(loaded, { buildArgs: loaded.buildArgs, escapeToken: loaded.escapeToken });
    } catch (err) {
      clean(err, isKilnError);
    }
  },
};

const env = new Map([['A', 'a'], ['B', 'b c'], ['EMPTY', ''], ['KOREAN', '한국어']]);

export const shellTarget: Target = {
  name: 'shell',
  maxBytes: 16 * 1024,
  dictionary: tokens(['$', '${', '}', 'A', 'B', 'EMPTY', 'UNSET', ':-', ':+', ':?', '-', '+', '?', '#', '##', '%', '%%', '/', '//', '*', '?',
    '\\', '\\\\', '"', "'", ' ', '\t', '\n', '<<', '`', '[', ']', '{', '한', '\uFEFF']),
  async seeds() {
    const corpus = conformanceDir();
    const lines = corpus === undefined ? [] : ['envVarTest', 'wordsTest'].flatMap((f) => {
      const file = path.join(corpus, 'lexer-cases', f);
      return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')) : [];
    });
    const inputs = lines.map((l) => (l.includes('|') ? l.split('|')[l.split('|').length === 3 ? 1 : 0].trim() : l));
    return [...['${A:-x}', '"$B"\'$A\'', '${A/a/b}', '${B#b}', '\\$A${EMPTY:+y}', 'a <<EOF b'], ...inputs].map((s) => Buffer.from(s));
  },
  run(input) {
    const word = input.toString('utf8');
    const options = input.length % 2 === 0 ? {} : { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true };
    try {
      processWord(word, env, options);
      processWords(word, env, { ...options, escapeToken: input.length % 3 === 0 ? '`' : '\\' });
    } catch (err) {
      clean(err, (e) => e instanceof ShellExpansionError);
    }
  },
};

const SAMPLE_PATHS = ['a', 'a/b', 'a/b/c.txt', 'node_modules/x/index.js', '.git/config', 'Dockerfile', 'logs/keep.log',
  'docs/x/y/z.md', 'a'.repeat(300), `d/${'a'.repeat(2000)}b`, 'ü/ñ', '[x]', 'a\\b', 'a*b'];

export const dockerignoreTarget: Target = {
  name: 'dockerignore',
  // Matching is linear in pattern × path length; a few KB of patterns keep the inputs per second up.
  maxBytes: 2 * 1024,
  dictionary: tokens(['*', '**', '**/', '?', '[', ']', '[a-z]', '[^a]', '!', '\\', '/', '../', './', '#', '\n', ' ', 'a', '.', '{', '}',
    '(', ')', '|', '+', '$', '^', '[:alpha:]', '\\d']),
  async seeds() {
    const corpus = conformanceDir();
    return [
      Buffer.from('# comment\n**/*.log\n!keep.log\n/build\n./dist/\ndocs/**/*.md\ntmp\n!tmp/keep\n*/secret?.txt\n'),
      Buffer.from('*a*a*a*a*a*a*a*a*a*a*a*ab\nfile[0-9].txt\n'),
      ...read(filesNamed(corpus && path.join(corpus, 'cases'), (n) => n.endsWith('.dockerignore'))),
    ];
  },
  run(input) {
    const patterns = parseIgnoreFile(input.toString('utf8'));
    let matcher: IgnoreMatcher;
    try {
      matcher = new IgnoreMatcher(patterns, { file: '.dockerignore' });
    } catch (err) {
      clean(err, isKilnError);
      return;
    }
    for (const p of [...SAMPLE_PATHS, ...patterns.slice(0, 8).map((x) => x.replace(/^!/, ''))]) matcher.isIncluded(p);
  },
};

async function tarOf(entries: Array<Parameters<ReturnType<typeof tar.pack>['entry']>[0] & { body?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header, body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Layers apply into a throwaway root under the OS temp dir. */
export function layerTarget(scratch: string): Target {
  return {
    name: 'layer',
    maxBytes: 256 * 1024,
    dictionary: tokens(['.wh.', '.wh..wh..opq', '../', '/', '..', 'ustar\x0000', 'ustar  \0', '\0', 'path=', 'linkpath=', 'SCHILY.xattr.',
      '0000644\0', '0000755\0', '0000000\0', '00000000000\0', '5', '2', '1', '3', '4', '6', '7', 'x', 'L', 'K', 'g']),
    async seeds() {
      const corpus = conformanceDir();
      const seeds = [
        await tarOf([
          { name: 'dir', type: 'directory', mode: 0o755 },
          { name: 'dir/file', type: 'file', mode: 0o644, body: 'hello' },
          { name: 'dir/link', type: 'symlink', linkname: '../etc/passwd' },
          { name: 'dir/hard', type: 'link', linkname: 'dir/file' },
          { name: 'dir/.wh.gone', type: 'file' },
          { name: 'other/.wh..wh..opq', type: 'file' },
          { name: 'abs', type: 'symlink', linkname: '/' },
          { name: 'abs/escape', type: 'file', body: 'x' },
          { name: `long/${'n'.repeat(200)}`, type: 'file', body: 'pax' },
          { name: 'fifo', type: 'fifo', mode: 0o644 },
          { name: 'xattr', type: 'file', body: 'x', pax: { 'SCHILY.xattr.user.k': 'v' } },
        ]),
        ...read(filesNamed(corpus && path.join(corpus, 'cases'), (n) => n.endsWith('.tar'), 10)),
      ];
      return seeds;
    },
    async run(input) {
      const root = fs.mkdtempSync(path.join(scratch, 'root-'));
      try {
        const gzip = input.length % 4 === 0;
        const stream = gzip ? Readable.from([zlib.gzipSync(input)]).pipe(zlib.createGunzip()) : Readable.from([input]);
        await applyLayer(root, stream, { onWarning: () => {} });
      } catch (err) {
        clean(err, isKilnError);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

export function allTargets(scratch: string = os.tmpdir()): Target[] {
  return [dockerfileTarget, shellTarget, dockerignoreTarget, layerTarget(scratch)];
}
