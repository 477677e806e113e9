/** Which modules a Node process loads: a preload hook that writes every loaded URL to a file at exit. */
import { readFileSync } from 'node:fs';

/** The NODE_OPTIONS value that makes a process record its modules into `list`. */
export function recordModulesOption(list: string): string {
  const hook = [
    "import { registerHooks } from 'node:module';",
    "import { writeFileSync } from 'node:fs';",
    'const urls = new Set();',
    'registerHooks({ load(url, context, next) { urls.add(url); return next(url, context); } });',
    `process.on('exit', () => writeFileSync(${JSON.stringify(list)}, [...urls].join('\\n')));`,
  ].join('\n');
  return `--import=data:text/javascript,${encodeURIComponent(hook)}`;
}

export function recordedModules(list: string): string[] {
  return readFileSync(list, 'utf8').split('\n');
}
