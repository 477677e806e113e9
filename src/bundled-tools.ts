/**
 * Programs Kiln's image carries for the sandbox. In the image, perl lives under /kaniko with its own loader and
 * libraries (an in-place build replaces /usr and /lib with the base image's), and starts only through that
 * loader: `bundled-tools.json` beside Kiln's code (written by the repository's Dockerfile) gives the argv prefix
 * for each such program. Elsewhere the host's programs are used. A leaf module: the sandbox starts these
 * programs, and the builder checks before an in-place build that they will survive it (without loading the sandbox).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const bundledToolsFile = fileURLToPath(new URL('../bundled-tools.json', import.meta.url));

/** PATH for the host tools Kiln starts (setpriv, unshare, mount, perl, rm): the standard places, whatever PATH Kiln has. */
export const HOST_TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Tool name → argv prefix, from the JSON text of `bundled-tools.json`; anything malformed is left out. */
export function parseBundledTools(text: string): Map<string, string[]> {
  const tools = new Map<string, string[]>();
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null) return tools;
  for (const [name, argv] of Object.entries(parsed)) {
    if (Array.isArray(argv) && argv.length > 0 && argv.every((a) => typeof a === 'string')) tools.set(name, argv);
  }
  return tools;
}

// Kiln's install does not change while it runs: read once per process.
let bundled: Map<string, string[]> | undefined;

function bundledTools(): Map<string, string[]> {
  if (bundled === undefined) {
    try {
      bundled = parseBundledTools(readFileSync(bundledToolsFile, 'utf8'));
    } catch {
      bundled = new Map();
    }
  }
  return bundled;
}

/** argv prefix of a program Kiln's image carries (getfattr, setfattr, …), started through its loader; else undefined. */
export function bundledTool(name: string): string[] | undefined {
  return bundledTools().get(name);
}

/** argv prefix that starts `name`: the image's bundled copy, else the program of that name on the PATH. */
export function toolCommand(name: string): string[] {
  return bundledTool(name) ?? [name];
}

/** argv prefix that starts perl: $KILN_PERL, else the perl of Kiln's image, else `perl` from the host. */
export function perlCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.KILN_PERL) return [env.KILN_PERL];
  return bundledTools().get('perl') ?? ['perl'];
}
