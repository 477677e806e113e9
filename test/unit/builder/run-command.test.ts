import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDockerfile } from '../../../src/dockerfile/index.ts';
import type { RunInstruction } from '../../../src/dockerfile/index.ts';
import { declareArgs, initialStageVars } from '../../../src/dockerfile/stage-vars.ts';
import { emptyConfig } from '../../../src/builder/base-image.ts';
import { prepareRun, runCreatedBy, runEnvironment } from '../../../src/builder/run-command.ts';

const platform = { os: 'linux', architecture: 'amd64' };

function runs(text: string): RunInstruction[] {
  const d = loadDockerfile(text);
  return d.stages[0].instructions.filter((i): i is RunInstruction => i.kind === 'RUN');
}

test('shell and exec forms, with the image SHELL', () => {
  const [shell, exec] = runs('FROM scratch\nRUN echo hi\nRUN ["/bin/true", "x"]\n');
  assert.deepEqual(prepareRun(shell, emptyConfig(platform)).argv, ['/bin/sh', '-c', 'echo hi']);
  const bash = { ...emptyConfig(platform), config: { Shell: ['/bin/bash', '-eo', 'pipefail', '-c'] } };
  assert.deepEqual(prepareRun(shell, bash).argv, ['/bin/bash', '-eo', 'pipefail', '-c', 'echo hi']);
  assert.deepEqual(prepareRun(exec, bash).argv, ['/bin/true', 'x']);
});

test('heredocs: a #! script is run from /dev/pipes, a plain one is the command, others go to the shell whole', () => {
  const [script, plain, complex] = runs('FROM scratch\nRUN <<EOF\n#!/bin/sh\necho hi\nEOF\nRUN <<-EOF\n\techo a\n\techo b\nEOF\nRUN cat <<A > /x && cat <<B\nfoo\nA\nbar\nB\n');
  const s = prepareRun(script, emptyConfig(platform));
  assert.deepEqual(s.script, { name: 'EOF', data: '#!/bin/sh\necho hi\n' });
  assert.deepEqual(s.argv, ['/bin/sh', '-c', '/dev/pipes/EOF']);
  assert.deepEqual(prepareRun(plain, emptyConfig(platform)).argv, ['/bin/sh', '-c', 'echo a\necho b\n']);
  assert.deepEqual(prepareRun(complex, emptyConfig(platform)).argv, ['/bin/sh', '-c', 'cat <<A > /x && cat <<B\nfoo\nA\nbar\nB']);
});

test('history lists declared ARGs with their current values; the environment adds proxies', () => {
  const d = loadDockerfile('FROM scratch\nARG foo=bar\nARG bar=123\n');
  let vars = initialStageVars(['PATH=/bin']);
  for (const inst of d.stages[0].instructions) {
    if (inst.kind === 'ARG') vars = declareArgs(vars, inst, { buildArgs: new Map([['foo', 'bar2']]), globalArgs: new Map() });
  }
  assert.equal(runCreatedBy(['/bin/sh', '-c', 'ls /etc/'], vars), 'RUN |2 foo=bar2 bar=123 /bin/sh -c ls /etc/');
  assert.equal(runCreatedBy(['/bin/sh', '-c', 'ls'], initialStageVars([])), 'RUN /bin/sh -c ls');
  assert.deepEqual(runEnvironment(vars, new Map([['HTTP_PROXY', 'http://p'], ['foo', 'ignored']])),
    ['PATH=/bin', 'foo=bar2', 'bar=123', 'HTTP_PROXY=http://p']);
});
