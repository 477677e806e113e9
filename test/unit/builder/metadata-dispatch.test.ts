/**
 * ENV and LABEL change the stage's own config and variables in place (linear in the number of instructions;
 * bench/metadata-dispatch.ts measures it): what they produce, and that a child stage never changes its parent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stateFromScratch, stateFromStage } from '../../../src/builder/base-image.ts';
import { dispatchEnv, dispatchLabel } from '../../../src/builder/instructions/metadata.ts';
import type { EnvInstruction, LabelInstruction, Stage } from '../../../src/dockerfile/index.ts';

const platform = { os: 'linux', architecture: 'amd64' };
const stage = {} as Stage;
const location = { file: 'Dockerfile', line: 1, endLine: 1 } as unknown as EnvInstruction['location'];
const pairs = (kv: Record<string, string>) => Object.entries(kv).map(([key, value]) => ({ key, value, noDelimiter: false }));
const env = (kv: Record<string, string>): EnvInstruction => ({ kind: 'ENV', pairs: pairs(kv), location, original: '' });
const label = (kv: Record<string, string>): LabelInstruction => ({ kind: 'LABEL', pairs: pairs(kv), location, original: '' });

test('ENV keeps the position of a key it changes; variables follow; each instruction adds an empty-layer history entry', () => {
  const state = stateFromScratch(stage, platform);
  dispatchEnv(state, env({ A: '1', B: '2' }));
  dispatchEnv(state, env({ PATH: '/bin', A: '3' }));
  assert.deepEqual(state.config.config.Env, ['PATH=/bin', 'A=3', 'B=2']);
  assert.equal(state.vars.env.get('A'), '3');
  dispatchLabel(state, label({ x: '1' }));
  dispatchLabel(state, label({ y: '2', x: '3' }));
  assert.deepEqual(state.config.config.Labels, { x: '3', y: '2' });
  assert.deepEqual(state.config.history?.map((h) => [h.created_by, h.empty_layer]), [
    ['ENV A=1 B=2', true], ['ENV PATH=/bin A=3', true], ['LABEL x=1', true], ['LABEL y=2 x=3', true],
  ]);
});

test('a stage built FROM another changes only its own config and variables', () => {
  const parent = stateFromScratch(stage, platform);
  dispatchEnv(parent, env({ A: '1' }));
  dispatchLabel(parent, label({ l: 'parent' }));
  const before = structuredClone({ config: parent.config, vars: [...parent.vars.env] });
  const child = stateFromStage(stage, parent);
  dispatchEnv(child, env({ A: '2', C: '3' }));
  dispatchLabel(child, label({ l: 'child' }));
  assert.deepEqual({ config: parent.config, vars: [...parent.vars.env] }, before);
  assert.deepEqual(child.config.config.Env?.slice(-2), ['A=2', 'C=3']);
  assert.equal(child.vars.env.get('A'), '2');
  assert.equal(child.config.history?.length, 4);
});

test('many ENV and LABEL instructions: every key and value arrives, in order', () => {
  const state = stateFromScratch(stage, platform);
  for (let i = 0; i < 20_000; i++) {
    if (i % 2) dispatchLabel(state, label({ [`l${i}`]: `v${i}` }));
    else dispatchEnv(state, env({ [`e${i}`]: `v${i}` }));
  }
  dispatchEnv(state, env({ e0: 'again' }));
  assert.equal(state.config.config.Env?.length, 10_001);
  assert.equal(state.config.config.Env?.[1], 'e0=again');
  assert.equal(Object.keys(state.config.config.Labels ?? {}).length, 10_000);
  assert.equal(state.config.history?.length, 20_001);
  assert.equal(state.vars.env.get('e19998'), 'v19998');
});
