/**
 * ENV and LABEL as step results folded into their stage (bench/metadata-dispatch.ts measures many of them):
 * what they produce, and that a child stage never changes its parent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stateFromScratch, stateFromStage } from '../../../src/builder/base-image.ts';
import { dispatchEnv as envStep, dispatchLabel as labelStep } from '../../../src/builder/instructions/metadata.ts';
import { applyStepResult } from '../../../src/builder/step-result.ts';
import type { StageState } from '../../../src/builder/state.ts';
import type { EnvInstruction, LabelInstruction, Stage } from '../../../src/dockerfile/index.ts';

const platform = { os: 'linux', architecture: 'amd64' };
const stage = {} as Stage;
const location = { file: 'Dockerfile', line: 1, endLine: 1 } as unknown as EnvInstruction['location'];
const pairs = (kv: Record<string, string>) => Object.entries(kv).map(([key, value]) => ({ key, value, noDelimiter: false }));
const env = (kv: Record<string, string>): EnvInstruction => ({ kind: 'ENV', pairs: pairs(kv), location, original: '' });
const label = (kv: Record<string, string>): LabelInstruction => ({ kind: 'LABEL', pairs: pairs(kv), location, original: '' });
const dispatchEnv = (state: StageState, inst: EnvInstruction) => applyStepResult(state, envStep(state, inst));
const dispatchLabel = (state: StageState, inst: LabelInstruction) => applyStepResult(state, labelStep(state, inst));

test('ENV keeps the position of a key it changes; variables follow; each instruction adds an empty-layer history entry', async () => {
  const state = stateFromScratch(stage, platform);
  await dispatchEnv(state, env({ A: '1', B: '2' }));
  await dispatchEnv(state, env({ PATH: '/bin', A: '3' }));
  assert.deepEqual(state.config.config.Env, ['PATH=/bin', 'A=3', 'B=2']);
  assert.equal(state.vars.env.get('A'), '3');
  await dispatchLabel(state, label({ x: '1' }));
  await dispatchLabel(state, label({ y: '2', x: '3' }));
  assert.deepEqual(state.config.config.Labels, { x: '3', y: '2' });
  assert.deepEqual(state.config.history?.map((h) => [h.created_by, h.empty_layer]), [
    ['ENV A=1 B=2', true], ['ENV PATH=/bin A=3', true], ['LABEL x=1', true], ['LABEL y=2 x=3', true],
  ]);
});

test('a stage built FROM another changes only its own config and variables', async () => {
  const parent = stateFromScratch(stage, platform);
  await dispatchEnv(parent, env({ A: '1' }));
  await dispatchLabel(parent, label({ l: 'parent' }));
  const before = structuredClone({ config: parent.config, vars: [...parent.vars.env] });
  const child = stateFromStage(stage, parent);
  await dispatchEnv(child, env({ A: '2', C: '3' }));
  await dispatchLabel(child, label({ l: 'child' }));
  assert.deepEqual({ config: parent.config, vars: [...parent.vars.env] }, before);
  assert.deepEqual(child.config.config.Env?.slice(-2), ['A=2', 'C=3']);
  assert.equal(child.vars.env.get('A'), '2');
  assert.equal(child.config.history?.length, 4);
});

test('many ENV and LABEL instructions: every key and value arrives, in order', async () => {
  const state = stateFromScratch(stage, platform);
  for (let i = 0; i < 4_000; i++) {
    if (i % 2) await dispatchLabel(state, label({ [`l${i}`]: `v${i}` }));
    else await dispatchEnv(state, env({ [`e${i}`]: `v${i}` }));
  }
  await dispatchEnv(state, env({ e0: 'again' }));
  assert.equal(state.config.config.Env?.length, 2_001);
  assert.equal(state.config.config.Env?.[1], 'e0=again');
  assert.equal(Object.keys(state.config.config.Labels ?? {}).length, 2_000);
  assert.equal(state.config.history?.length, 4_001);
  assert.equal(state.vars.env.get('e3998'), 'v3998');
});
