/**
 * The deployment recipes of docs/recipes, read as data: the docker tests run the command lines they hold, with
 * the placeholders (registry.example.com, the kiln image names) swapped for the test registry and images.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../../env/paths.ts';
import { imageName, imageTargets, type ImageTarget } from './kiln-images.ts';

export const recipesDir = path.join(repoRoot, 'docs', 'recipes');
export const placeholderRegistry = 'registry.example.com';

export interface RecipeContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  securityContext?: { capabilities?: { drop?: string[]; add?: string[] }; allowPrivilegeEscalation?: boolean };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

/** Every YAML document of a recipe file (throws on a syntax error, with the line). */
export function readYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(fs.readFileSync(path.join(recipesDir, file), 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS();
  });
}

export function readYaml(file: string): any {
  const [doc] = readYamlDocuments(file);
  return doc;
}

/** The pod YAML the Jenkinsfile gives podTemplate (between ''' quotes). */
export function jenkinsPodYaml(): any {
  const text = fs.readFileSync(path.join(recipesDir, 'jenkins', 'Jenkinsfile'), 'utf8');
  const match = /podTemplate\(yaml: '''([\s\S]*?)'''\)/.exec(text);
  if (!match) throw new Error('Jenkinsfile: no podTemplate(yaml: \'\'\'…\'\'\')');
  return parse(match[1] as string);
}

/** The shell command of the Jenkinsfile's `sh '…'` step. */
export function jenkinsShellStep(): string {
  const text = fs.readFileSync(path.join(recipesDir, 'jenkins', 'Jenkinsfile'), 'utf8');
  const match = /\bsh '([^']*)'/.exec(text);
  if (!match) throw new Error('Jenkinsfile: no sh step');
  return match[1] as string;
}

/** A pod spec's containers (init containers first) of a Pod or a Job recipe. */
export function podContainers(doc: any): RecipeContainer[] {
  const spec = doc.kind === 'Job' ? doc.spec.template.spec : doc.spec;
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

export function container(doc: any, name: string): RecipeContainer {
  const found = podContainers(doc).find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

/** Which of Kiln's images a recipe's image name is (registry.example.com/kiln/TARGET:TAG), if any. */
export function kilnTarget(image: string): ImageTarget | undefined {
  const match = new RegExp(`^${placeholderRegistry}/kiln/(\\w+):[\\w.-]+$`).exec(image);
  return imageTargets.find((t) => t === match?.[1]);
}

/** The test's name for a recipe's Kiln image. */
export function localImage(image: string): string {
  const target = kilnTarget(image);
  if (!target) throw new Error(`${image} is not one of Kiln's images`);
  return imageName(target);
}

/** A recipe's words with the placeholder registry replaced by the test registry. */
export function localise(words: readonly string[], registryHost: string): string[] {
  return words.map((w) => w.replaceAll(placeholderRegistry, registryHost));
}

/** Splits a one-line shell command into words: blanks separate, double quotes group (no expansions). */
export function shellWords(line: string): string[] {
  return (line.match(/(?:"[^"]*"|[^\s"])+/g) ?? []).map((word) => word.replaceAll('"', ''));
}
