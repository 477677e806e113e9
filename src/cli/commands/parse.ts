import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('parse')
    .description('parse a Dockerfile and print it (JSON, or BuildKit\'s dump format with --dump)')
    .argument('<file>', 'the Dockerfile')
    .option('--dump', "print BuildKit's parser dump format")
    .action(async () => {
      throw new Error('not implemented yet');
    });
}
