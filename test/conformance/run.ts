/**
 * Conformance runner: builds every case of ../shared/conformance with bin/kiln, summarises the result and
 * compares it with BuildKit's reference. Prints PASS/FAIL/ERROR per case and `conformance: P/N passed`.
 *
 *   node test/conformance/run.ts [--case NAME]... [--require LIST] [--write LIST] [--jobs N] [--keep]
 *
 * --require LIST: every case named in LIST must pass, or the exit code is 1 (CI's regression gate).
 * --write LIST:   write the names of the passing cases to LIST.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { conformanceDir, listCases, loadMeta, loadReference, needsRegistry, prepareContext, type CaseMeta } from './cases.ts';
import { compareWithReference } from './compare.ts';
import { summarizeLayout, type Summary } from './summarize.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const kiln = path.join(repoRoot, 'bin', 'kiln');
const BUILD_TIMEOUT_MS = 10 * 60_000;

interface Outcome { name: string; status: 'PASS' | 'FAIL' | 'ERROR'; detail?: string; warnings: string[] }

function runKiln(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(kiln, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-8000); });
    const timer = setTimeout(() => child.kill('SIGTERM'), BUILD_TIMEOUT_MS);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

function buildArgs(meta: CaseMeta, ctx: string, out: string, mirror: string | undefined): string[] {
  const args = ['build', '--context', ctx, '--dockerfile', path.join(ctx, meta.build.file), '--no-push', '--oci-layout-path', out];
  for (const [k, v] of Object.entries(meta.build.args ?? {})) args.push('--build-arg', `${k}=${v}`);
  if (meta.build.target) args.push('--target', meta.build.target);
  if (mirror) args.push('--registry-mirror', mirror, '--insecure-pull');
  return args;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim() !== '');
  return lines.filter((l) => l.startsWith('error')).pop() ?? lines.pop() ?? '(no output)';
}

async function runCase(dir: string, name: string, mirror: string | undefined, keep: boolean): Promise<Outcome> {
  const meta = loadMeta(dir, name);
  const ref = loadReference(dir, name);
  if (needsRegistry(meta) && !mirror) return { name, status: 'ERROR', detail: 'no registry mirror for base images', warnings: [] };
  const ctx = prepareContext(dir, meta);
  const work = path.dirname(ctx);
  const out = path.join(work, 'oci');
  try {
    const { code, stderr } = await runKiln(buildArgs(meta, ctx, out, needsRegistry(meta) ? mirror : undefined));
    let summary: Summary | undefined;
    if (code === 0) {
      try { summary = await summarizeLayout(out); }
      catch (err) { return { name, status: 'ERROR', detail: `unreadable OCI layout: ${(err as Error).message}`, warnings: [] }; }
    } else if (ref.build === 'ok') {
      return { name, status: code === null ? 'ERROR' : 'FAIL', detail: `build failed (exit ${code}): ${lastLine(stderr)}`, warnings: [] };
    }
    const verdict = compareWithReference(summary, ref, path.join(dir, 'reference', '_bases'));
    return { name, status: verdict.pass ? 'PASS' : 'FAIL', detail: verdict.difference, warnings: verdict.warnings };
  } finally {
    if (!keep) fs.rmSync(work, { recursive: true, force: true });
  }
}

async function startMirror(): Promise<{ host: string; stop(): Promise<void> }> {
  const { startConformanceMirror } = await import('../env/conformance-mirror.ts');
  return startConformanceMirror();
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      case: { type: 'string', multiple: true },
      require: { type: 'string' },
      write: { type: 'string' },
      jobs: { type: 'string', default: '2' },
      keep: { type: 'boolean', default: false },
    },
  });
  const dir = conformanceDir();
  if (!dir) {
    // In CI the ratchet must run: a missing corpus is a failure, not a quiet success.
    const ci = process.env.CI === 'true';
    console.log(`conformance: ${ci ? 'FAILED' : 'SKIPPED'}: ../shared/conformance not found (set KILN_CONFORMANCE_DIR); no case was built or compared`);
    return ci ? 1 : 0;
  }
  const required = values.require ? fs.readFileSync(values.require, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : [];
  const names = values.case?.length ? values.case : listCases(dir);
  const mirror = names.some((n) => needsRegistry(loadMeta(dir, n))) ? await startMirror().catch((err) => {
    console.log(`conformance: could not start the base-image mirror: ${(err as Error).message}`);
    return undefined;
  }) : undefined;
  const outcomes: Outcome[] = [];
  try {
    const queue = [...names];
    const worker = async () => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        const o = await runCase(dir, name, mirror?.host, values.keep!);
        outcomes.push(o);
        console.log(`${o.status} ${name}${o.detail ? `: ${o.detail}` : ''}${o.warnings.length ? `  [warn: ${o.warnings[0]}]` : ''}`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Number(values.jobs)) }, worker));
  } finally {
    await mirror?.stop();
  }
  const passed = outcomes.filter((o) => o.status === 'PASS').map((o) => o.name).sort();
  console.log(`conformance: ${passed.length}/${outcomes.length} passed`);
  if (values.write) fs.writeFileSync(values.write, passed.join('\n') + '\n');
  const regressions = required.filter((n) => !passed.includes(n) && names.includes(n));
  if (regressions.length) {
    console.log(`conformance: ${regressions.length} required case(s) no longer pass: ${regressions.join(', ')}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
