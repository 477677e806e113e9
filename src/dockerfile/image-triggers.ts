/**
 * ONBUILD triggers stored in a base image's config (`config.OnBuild`), parsed as BuildKit does when the image
 * is used as a base: the texts joined into one Dockerfile, each instruction run before the stage's own,
 * reported at the stage's FROM line.
 */
import { KilnError } from '../errors.ts';
import { instructionError, parseInstruction } from './instructions/index.ts';
import type { StageInstruction } from './instructions/index.ts';
import { parseDockerfile } from './parser.ts';
import type { Stage } from './stages.ts';

export function imageTriggers(onBuild: readonly string[] | null | undefined, stage: Stage): StageInstruction[] {
  if (!onBuild || onBuild.length === 0) return [];
  const fail = (why: string): never => {
    throw instructionError(stage.location, `ONBUILD trigger of base image ${stage.baseName}: ${why}`);
  };
  let nodes;
  try {
    nodes = parseDockerfile(onBuild.join('\n'), { file: stage.location.file }).instructions;
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  return nodes.map((node) => {
    let inst;
    try {
      inst = parseInstruction(node, stage.location.file);
    } catch (err) {
      return fail(err instanceof KilnError ? err.message : String(err));
    }
    if (inst.kind === 'FROM' || inst.kind === 'ONBUILD' || inst.kind === 'MAINTAINER') fail(`${inst.kind} isn't allowed as an ONBUILD trigger`);
    return { ...(inst as StageInstruction), location: stage.location };
  });
}
