/** `kiln parse [--dump] FILE`: parse a Dockerfile (FILE `-` reads stdin) and print its nodes. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { KilnError } from '../../errors.ts';

interface ParseCommandOptions {
  dump?: boolean;
}

export function register(program: Command): void {
  program
    .command('parse')
    .description('parse a Dockerfile and print it (JSON, or BuildKit\'s dump format with --dump)')
    .argument('<file>', 'the Dockerfile, or - for standard input')
    .option('--dump', "print BuildKit's parser dump format")
    .action(async (file: string, options: ParseCommandOptions) => {
      const [{ parseDockerfile }, { dumpDockerfile }] = await Promise.all([
        import('../../dockerfile/parser.ts'),
        import('../../dockerfile/dump.ts'),
      ]);
      const text = file === '-' ? await readStdin() : readDockerfile(file);
      const parsed = parseDockerfile(text, { file: file === '-' ? '<stdin>' : file });
      for (const warning of parsed.warnings) {
        process.stderr.write(`warning: ${parsed.file}:${warning.line}: ${warning.message}\n`);
      }
      process.stdout.write(options.dump ? dumpDockerfile(parsed) : JSON.stringify(parsed, null, 2) + '\n');
    });
}

function readDockerfile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new KilnError('DOCKERFILE_READ', `cannot read Dockerfile ${file}: ${code}`, {
      cause: err,
      hint: code === 'ENOENT' ? 'check the path (use - to read the Dockerfile from standard input)' : undefined,
    });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
