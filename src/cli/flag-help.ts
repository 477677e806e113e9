/**
 * `kiln build --help` and docs/flags.md, both rendered from the flag table so they cannot drift from it.
 */
import { FLAGS } from './kaniko-flags.ts';
import type { FlagGroup, FlagSpec } from './kaniko-flags.ts';

const GROUP_TITLES: Record<FlagGroup, string> = {
  context: 'Build context and Dockerfile',
  output: 'Outputs',
  build: 'Build',
  cache: 'Cache',
  registry: 'Registries',
  logging: 'Logging',
  kiln: 'Kiln additions',
};

function flagUsage(f: FlagSpec): string {
  const short = f.short ? `-${f.short}, ` : '    ';
  const value = f.type === 'bool' ? '[=BOOL]' : ` ${f.valueName ?? 'VALUE'}`;
  return `${short}--${f.name}${value}`;
}

function defaultText(f: FlagSpec): string | undefined {
  if (f.type === 'repeatable' || f.default === undefined || f.default === '') return undefined;
  return String(f.default);
}

function statusText(f: FlagSpec): string | undefined {
  if (f.status === 'later') return 'not supported yet';
  if (f.status === 'no-effect') return 'accepted, no effect in Kiln';
  return undefined;
}

function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : indent + l));
}

export function renderHelp(commandName: string): string {
  const out: string[] = [
    `Usage: kiln ${commandName} [flags]`,
    '',
    'Build an image from a Dockerfile, as the kaniko executor does (same flags, same environment variables).',
    'Boolean flags take an optional value: --no-push, --no-push=true, --cache=false.',
  ];
  const col = 44;
  for (const group of Object.keys(GROUP_TITLES) as FlagGroup[]) {
    const flags = FLAGS.filter((f) => f.group === group && !f.hidden);
    if (flags.length === 0) continue;
    out.push('', `${GROUP_TITLES[group]}:`);
    for (const f of flags) {
      const extras: string[] = [];
      const def = defaultText(f);
      if (def !== undefined) extras.push(`default ${def}`);
      if (f.env) extras.push(`env ${f.env}`);
      for (const a of f.aliases ?? []) extras.push(`${a.deprecated ? 'deprecated alias' : 'alias'} --${a.name}`);
      const status = statusText(f);
      if (status) extras.push(status);
      const text = f.help + (extras.length ? ` (${extras.join('; ')})` : '');
      const usage = `  ${flagUsage(f)}`;
      const pad = usage.length < col ? usage.padEnd(col) : `${usage}\n${' '.repeat(col)}`;
      out.push(pad + wrap(text, 110 - col, ' '.repeat(col)).join('\n'));
    }
  }
  out.push('', '  -h, --help'.padEnd(col) + 'Show this help.', '');
  out.push('Environment: DOCKER_CONFIG (registry credentials), SOURCE_DATE_EPOCH (time for --reproducible),');
  out.push('KANIKO_DIR, KANIKO_NO_PUSH, KANIKO_REGISTRY_MIRROR, KANIKO_REGISTRY_MAP, BENCHMARK_FILE.');
  return out.join('\n') + '\n';
}

function mdEscape(s: string): string {
  return s.replaceAll('|', '\\|');
}

/** The whole of docs/flags.md. */
export function renderFlagsMarkdown(): string {
  const out: string[] = [
    '# `kiln build` / `kiln executor` flags',
    '',
    '<!-- Generated from src/cli/kaniko-flags.ts by test/unit/cli/flags-doc.test.ts (KILN_UPDATE_DOCS=1). Do not edit. -->',
    '',
    "Every flag of the kaniko executor is accepted with kaniko's name, shorthand, default and deprecated spellings.",
    'Status: **supported**; **not yet** (accepted; using it fails with "not supported yet", exit code 2, never',
    'silently ignored); **no effect** (accepted for compatibility; Kiln\'s design makes it unnecessary, and using',
    'it prints a notice).',
    '',
    'Boolean flags follow Go\'s rules: `--no-push`, `--no-push=true`, `--cache=false` (not `--cache false`).',
    'Repeatable flags keep every occurrence in order. A flag given on the command line wins over its environment',
    'variable, except for repeatable flags, where the variable is appended (as kaniko does).',
  ];
  for (const group of Object.keys(GROUP_TITLES) as FlagGroup[]) {
    out.push('', `## ${GROUP_TITLES[group]}`, '', '| flag | default | env | status | description |', '|---|---|---|---|---|');
    for (const f of FLAGS.filter((x) => x.group === group)) {
      const names = [`\`--${f.name}\``];
      if (f.short) names.push(`\`-${f.short}\``);
      for (const a of f.aliases ?? []) names.push(`\`--${a.name}\`${a.deprecated ? ' (deprecated)' : ''}`);
      const def = f.type === 'repeatable' ? '(repeatable)' : defaultText(f) === undefined ? '' : `\`${defaultText(f)}\``;
      const status = f.status === 'supported' ? 'supported' : f.status === 'later' ? 'not yet' : 'no effect';
      const desc = [f.help, f.note, f.kilnOnly ? '(Kiln only)' : '', f.hidden ? '(hidden in --help, as in kaniko)' : '']
        .filter((s) => s)
        .join(' ');
      out.push(`| ${names.join(', ')} | ${def} | ${f.env ? `\`${f.env}\`` : ''} | ${status} | ${mdEscape(desc)} |`);
    }
  }
  out.push(
    '',
    '## Environment variables',
    '',
    '| variable | meaning |',
    '|---|---|',
    '| `DOCKER_CONFIG` | directory holding `config.json` with registry credentials |',
    '| `SOURCE_DATE_EPOCH` | seconds since the epoch: the time written into layers and the config with `--reproducible` |',
    '| `KANIKO_DIR` | default of `--kaniko-dir` |',
    '| `KANIKO_NO_PUSH` | default of `--no-push` (`true`/`false`) |',
    '| `KANIKO_REGISTRY_MIRROR` | appended to `--registry-mirror` |',
    '| `KANIKO_REGISTRY_MAP` | appended to `--registry-map` |',
    '| `BENCHMARK_FILE` | where to write step timings as JSON (`false`: none) |',
    '',
    '## Differences from kaniko',
    '',
    '- `--context-sub-path` applies to local directory contexts too (kaniko applies it only to remote ones).',
    '- The default `--dockerfile` is looked up in the context only; an explicit relative `--dockerfile` is looked',
    '  up in the working directory first, then in the context (kaniko looks in the working directory first always).',
    '- `KANIKO_NO_PUSH` and `KANIKO_DIR` give defaults: the flag, when given, wins (kaniko lets `KANIKO_NO_PUSH` win).',
    '- Stray arguments are an error: `--cache false` fails instead of silently meaning `--cache`.',
    '',
  );
  return out.join('\n');
}
