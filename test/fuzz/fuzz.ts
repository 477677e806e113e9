/**
 * `npm run fuzz`: mutation fuzzing of the Dockerfile front end, the shell lexer, the .dockerignore matcher and
 * the layer reader (test/fuzz/targets.ts), seeded from examples/, the conformance corpus and built-in inputs.
 * Each target runs in its own child process (as `nobody` when started as root, so a layer that escaped its
 * root could not write anywhere that matters); a child that stops reporting for --hang-seconds is killed and
 * its current input is a hang. A crash (an exception other than the clean error) is a finding too. Findings are
 * written to --out and the run exits 1.
 *
 *   npm run fuzz -- [--seconds 30] [--seed N] [--target dockerfile|shell|dockerignore|layer ...] [--out DIR]
 *                   [--hang-seconds 10]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { mutate, Random } from './mutate.ts';
import { allTargets, type Target } from './targets.ts';

const NOBODY = 65534;

interface Report {
  target: string;
  seeds?: number;
  inputs: number;
  findings: string[];
}

async function child(targetName: string, seconds: number, seed: number, out: string): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(out, `${targetName}-scratch-`));
  const target = allTargets(scratch).find((t) => t.name === targetName) as Target;
  const seeds = await target.seeds();
  const random = new Random(seed);
  const ctx = { random, dictionary: target.dictionary, seeds, maxBytes: target.maxBytes };
  const current = path.join(out, `${targetName}-current.bin`);
  const deadline = Date.now() + seconds * 1000;
  let inputs = 0;
  const findings = new Map<string, string>();
  // Findings travel with every progress line, so a child killed for a hang still reports what it found before.
  const report = (done: boolean): void => {
    process.stdout.write(`${JSON.stringify({ inputs, seeds: seeds.length, findings: [...findings.values()], done })}\n`);
  };
  const progress = setInterval(() => report(false), 250);
  try {
    for (let i = 0; Date.now() < deadline; i++) {
      // Seeds first, as they are; then mutations of seeds.
      const input = i < seeds.length ? seeds[i] : mutate(random.pick(seeds), ctx);
      fs.writeFileSync(current, input);
      try {
        await target.run(input);
      } catch (err) {
        const error = err as Error;
        const key = `${error?.name}: ${String(error?.message).slice(0, 120)}`;
        if (!findings.has(key)) {
          const file = path.join(out, `${targetName}-finding-${findings.size + 1}.bin`);
          fs.writeFileSync(file, input);
          findings.set(key, `${key} (input: ${file})\n${String(error?.stack ?? '').split('\n').slice(1, 4).join('\n')}`);
        }
      }
      inputs++;
      // Let the progress timer run now and then, also when a target never waits on I/O.
      if (inputs % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    clearInterval(progress);
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  report(true);
}

function runChild(target: string, seconds: number, seed: number, out: string, hangSeconds: number): Promise<Report> {
  const asRoot = process.getuid?.() === 0;
  const args = ['--no-warnings', fileURLToPath(import.meta.url), '--child', target, '--seconds', String(seconds), '--seed', String(seed), '--out', out];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    env: { ...process.env, HOME: out, TMPDIR: out },
  });
  return new Promise((resolve) => {
    let last = Date.now();
    let report: Report = { target, inputs: 0, findings: [] };
    let buffered = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      last = Date.now();
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const msg = JSON.parse(line) as { inputs: number; seeds?: number; findings?: string[] };
        report = { target, seeds: msg.seeds, inputs: msg.inputs, findings: msg.findings ?? report.findings };
      }
    });
    const watchdog = setInterval(() => {
      if (Date.now() - last < hangSeconds * 1000) return;
      const current = path.join(out, `${target}-current.bin`);
      const file = path.join(out, `${target}-hang.bin`);
      if (fs.existsSync(current)) fs.copyFileSync(current, file);
      report.findings.push(`hang: no progress for ${hangSeconds} s (input: ${file})`);
      proc.kill('SIGKILL');
    }, 500);
    proc.on('close', (code, signal) => {
      clearInterval(watchdog);
      if (code !== 0 && signal !== 'SIGKILL') report.findings.push(`the fuzzing process itself failed (exit ${code}, signal ${signal})`);
      resolve(report);
    });
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      seconds: { type: 'string', default: '30' },
      seed: { type: 'string' },
      target: { type: 'string', multiple: true },
      out: { type: 'string' },
      'hang-seconds': { type: 'string', default: '10' },
    },
  });
  const seconds = Number(values.seconds);
  const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
  if (values.child !== undefined) {
    await child(values.child, seconds, seed, values.out as string);
    return 0;
  }
  const names = values.target ?? allTargets().map((t) => t.name);
  const out = values.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-fuzz-'));
  fs.mkdirSync(out, { recursive: true });
  fs.chmodSync(out, 0o777);
  console.log(`fuzz: ${names.join(', ')} for ${seconds} s in all, seed ${seed} (repeat with --seed ${seed}), output in ${out}`);
  const reports: Report[] = [];
  for (const [i, name] of names.entries()) {
    reports.push(await runChild(name, seconds / names.length, seed + i, out, Number(values['hang-seconds'])));
  }
  let findings = 0;
  for (const r of reports) {
    console.log(`fuzz: ${r.target}: ${r.inputs} inputs tried (from ${r.seeds ?? '?'} seeds), ${r.findings.length} finding(s)`);
    for (const f of r.findings) console.log(`  ${f.replaceAll('\n', '\n    ')}`);
    findings += r.findings.length;
  }
  if (findings === 0 && values.out === undefined) fs.rmSync(out, { recursive: true, force: true });
  console.log(findings === 0 ? 'fuzz: no crash, no hang, only clean errors' : `fuzz: ${findings} finding(s); inputs kept in ${out}`);
  return findings === 0 ? 0 : 1;
}

process.exitCode = await main();
