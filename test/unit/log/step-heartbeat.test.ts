import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../src/log/logger.ts';
import { startStep } from '../../../src/log/steps.ts';
import { Timings } from '../../../src/log/timings.ts';

const info = { stage: 1, stages: 1, step: 2, steps: 3 };

test('a long COPY says it is still running until it ends; other steps and ended ones stay quiet', async () => {
  const out: string[] = [];
  const logger = createLogger({ format: 'text', write: (l) => out.push(l) });
  const copy = startStep(logger, { ...info, text: 'COPY big/ /big/' }, new Timings(), 10);
  const env = startStep(logger, { ...info, text: 'ENV A=1' }, new Timings(), 10);
  await new Promise((r) => setTimeout(r, 45));
  copy.done();
  env.done();
  const still = out.filter((l) => l.includes('still running'));
  assert.ok(still.length >= 1, out.join(""));
  assert.ok(still.every((l) => /STEP 2\/3: COPY still running \(\d\.\d\ds\)/.test(l)), still.join(''));
  const count = out.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(out.length, count, 'no heartbeat after the step ended');
});
