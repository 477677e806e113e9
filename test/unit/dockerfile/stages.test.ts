import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KilnError } from '../../../src/errors.ts';
import {
  applyEnv,
  declareArgs,
  expandInstruction,
  initialStageVars,
  loadDockerfile,
  proxyEnvFromBuildArgs,
  resolveStageSource,
  runArgsPrefix,
  withDefaultPath,
} from '../../../src/dockerfile/index.ts';
import type { LoadedDockerfile, LoadOptions } from '../../../src/dockerfile/index.ts';
import { checkDispatch } from './dispatch-check.ts';

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };

function load(text: string, options: LoadOptions = {}): LoadedDockerfile {
  return loadDockerfile(text, { targetPlatform: amd64, buildPlatform: amd64, ...options });
}

function loadFails(text: string, code: string, message: string | RegExp, line?: number, options: LoadOptions = {}): KilnError {
  let caught: unknown;
  try {
    load(text, options);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KilnError, `expected a KilnError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  assert.equal(caught.location?.line, line);
  return caught;
}

describe('meta ARGs', () => {
  it('expand FROM image and platform, with build-arg overrides', () => {
    const df = load('ARG IMAGE=busybox\nARG TAG=1.36\nARG P=linux/arm64\nFROM --platform=$P ${IMAGE}:${TAG} AS a\n', {
      buildArgs: new Map([['TAG', 'latest']]),
    });
    assert.equal(df.stages[0].baseName, 'busybox:latest');
    assert.deepEqual(df.stages[0].platform, arm64);
    assert.deepEqual(df.metaArgs.map((a) => [a.key, a.value]), [['IMAGE', 'busybox'], ['TAG', 'latest'], ['P', 'linux/arm64']]);
  });
  it('see earlier meta args and the predefined platform args', () => {
    const df = load('ARG A=x\nARG B=${A}-$TARGETARCH-$BUILDOS\nFROM $B\n', { targetPlatform: arm64 });
    assert.equal(df.stages[0].baseName, 'x-arm64-linux');
    assert.equal(df.globalArgs.get('TARGETPLATFORM'), 'linux/arm64');
    assert.equal(df.globalArgs.get('BUILDPLATFORM'), 'linux/amd64');
    assert.equal(df.globalArgs.get('TARGETSTAGE'), '');
  });
  it('a meta arg without value stays unset unless given as build arg', () => {
    assert.deepEqual(load('ARG V\nFROM busybox\n').metaArgs.map((a) => a.value), [undefined]);
    assert.equal(load('ARG V\nFROM busybox:$V\n', { buildArgs: new Map([['V', '1']]) }).stages[0].baseName, 'busybox:1');
  });
  it('are visible inside a stage only when redeclared', () => {
    const df = load('ARG V=meta\nFROM busybox\nRUN echo $V\nARG V\nRUN echo $V\n');
    let vars = initialStageVars(withDefaultPath([]));
    assert.equal(vars.env.get('V'), undefined);
    vars = declareArgs(vars, df.stages[0].instructions[1] as never, { buildArgs: df.buildArgs, globalArgs: df.globalArgs });
    assert.equal(vars.env.get('V'), 'meta');
  });
  it('quoted defaults lose their quotes', () => {
    assert.equal(load('ARG IMG="busybox:latest"\nFROM ${IMG}\n').stages[0].baseName, 'busybox:latest');
  });
  it('errors', () => {
    loadFails('ARG X=${Y:?needed}\nFROM a\n', 'DOCKERFILE_EXPANSION', 'failed to process "${Y:?needed}": Y: needed', 1);
    loadFails('ARG E\nFROM $E\n', 'DOCKERFILE_INSTRUCTION', 'base name ($E) should not be blank', 2);
    loadFails('ARG P\nFROM --platform=$P a\n', 'DOCKERFILE_INSTRUCTION', 'empty platform value from expression $P', 2);
    loadFails('FROM --platform=linux/amd64/v2/x a\n', 'DOCKERFILE_INSTRUCTION', /^failed to parse platform linux\/amd64\/v2\/x/, 1);
    loadFails('RUN true\nFROM a\n', 'DOCKERFILE_INSTRUCTION', 'no build stage in current context', 1);
    loadFails('ARG A=1\n', 'DOCKERFILE_STAGE', 'dockerfile contains no stages to build', 1);
  });
});

describe('stages', () => {
  const multi = [
    'FROM busybox AS base', // 0
    'RUN echo base',
    'FROM base AS build', // 1
    'COPY --from=tools /t /t',
    'FROM busybox AS tools', // 2
    'FROM scratch AS unused', // 3
    'COPY --from=debian:bookworm /etc/os-release /',
    'FROM alpine AS final', // 4
    'COPY --from=BUILD /out /out',
    'RUN --mount=type=bind,from=1,target=/b true',
    '',
  ].join('\n');

  it('index, name, base stage and dependencies', () => {
    const df = load('FROM busybox AS base\nFROM base AS b2\nCOPY --from=0 /a /a\nFROM debian:bookworm\n');
    assert.deepEqual(df.stages.map((s) => [s.index, s.name, s.displayName, s.baseName, s.baseStage]), [
      [0, 'base', 'base', 'busybox', undefined],
      [1, 'b2', 'b2', 'base', 0],
      [2, undefined, 'stage-2', 'debian:bookworm', undefined],
    ]);
    assert.deepEqual(df.stages[1].dependencies.map((d) => d.source), [{ kind: 'stage', index: 0 }]);
    assert.equal(df.target.index, 2);
    assert.deepEqual(df.neededStages.map((s) => s.index), [2]);
  });
  it('the needed stages follow FROM, COPY --from (any case) and mount from', () => {
    const df = load(multi.replace('COPY --from=tools /t /t', 'RUN true'));
    assert.deepEqual(df.neededStages.map((s) => s.index), [0, 1, 4]);
    assert.deepEqual(df.stages[3].dependencies.map((d) => d.source), [{ kind: 'image', name: 'debian:bookworm' }]);
  });
  it('--target picks a stage, case-insensitively, and sets TARGETSTAGE', () => {
    const df = load(multi.replace('COPY --from=tools /t /t', 'RUN true'), { target: 'Unused' });
    assert.equal(df.target.index, 3);
    assert.deepEqual(df.neededStages.map((s) => s.index), [3]);
    assert.equal(df.globalArgs.get('TARGETSTAGE'), 'Unused');
    loadFails(multi, 'DOCKERFILE_STAGE', 'target stage "nope" could not be found', undefined, { target: 'nope' });
  });
  it('a FROM names a stage case-sensitively (the AS name is lower-cased)', () => {
    const df = load('FROM busybox AS Base\nFROM base\n');
    assert.equal(df.stages[1].baseStage, 0);
    loadFails('FROM busybox AS Base\nFROM Base\n', 'DOCKERFILE_STAGE', /^failed to parse stage name "Base": .*must be lowercase/, 2);
  });
  it('a needed stage may not use a later stage', () => {
    loadFails(multi, 'DOCKERFILE_INSTRUCTION', 'cannot copy from stage "tools", it needs to be defined before current stage "build"', 4);
    loadFails('FROM a\nRUN --mount=from=later,target=/x true\nFROM b AS later\nFROM c\nCOPY --from=0 / /\n', 'DOCKERFILE_INSTRUCTION', /^cannot mount from stage "later"/, 2);
  });
  it('an unused stage may use a later one', () => {
    const df = load('FROM a AS early\nCOPY --from=late / /\nFROM b AS late\nFROM c\n');
    assert.deepEqual(df.neededStages.map((s) => s.index), [2]);
  });
  it('detects cycles and bad indexes', () => {
    loadFails('FROM a AS x\nCOPY --from=y / /\nFROM b AS y\nCOPY --from=x / /\n', 'DOCKERFILE_STAGE', 'circular dependency detected on stage: x', 4);
    loadFails('FROM a\nCOPY --from=0 / /\n', 'DOCKERFILE_STAGE', 'circular dependency detected on stage: ', 2);
    loadFails('FROM a\nCOPY --from=3 / /\n', 'DOCKERFILE_INSTRUCTION', 'invalid stage index 3', 2);
    loadFails('FROM a\nCOPY --from=-1 / /\n', 'DOCKERFILE_INSTRUCTION', 'invalid stage index -1', 2);
  });
  it('checks image names of every stage and COPY --from image', () => {
    loadFails('FROM Busybox AS a\nFROM b\n', 'DOCKERFILE_STAGE', /^failed to parse stage name "Busybox"/, 1);
    loadFails('FROM a\nCOPY --from=Some/Image / /\n', 'DOCKERFILE_STAGE', /^failed to parse stage name "Some\/Image"/, 2);
    assert.equal(load('FROM scratch\nCOPY --from=scratch / /\n').stages[0].dependencies[0].source.kind, 'scratch');
  });
  it('reports duplicate and reserved stage names as warnings; later duplicates win lookups', () => {
    const df = load('FROM a AS x\nFROM b AS x\nFROM c AS context\nCOPY --from=x / /\n');
    assert.deepEqual(df.warnings.map((w) => w.line), [2, 3]);
    assert.match(df.warnings[0].message, /Duplicate stage name 'x'/);
    assert.deepEqual(df.stages[2].dependencies[0].source, { kind: 'stage', index: 1 });
  });
  it('base-stage ONBUILD triggers run first and add their dependencies', () => {
    const df = load('FROM busybox AS src\nFROM busybox AS ob\nONBUILD COPY --from=src /a /a\nFROM ob\nRUN true\n');
    const child = df.stages[2];
    assert.equal(child.onbuildTriggers.length, 1);
    assert.equal(child.onbuildTriggers[0].kind, 'COPY');
    assert.equal(child.onbuildTriggers[0].location.line, 4, 'located at the FROM that fires it');
    assert.deepEqual(df.neededStages.map((s) => s.index), [0, 1, 2]);
    loadFails('FROM busybox AS ob\nONBUILD COPY --nope a b\nFROM ob\n', 'DOCKERFILE_INSTRUCTION', 'unknown flag: --nope', 3);
  });
  it('resolveStageSource', () => {
    const df = load('FROM a AS one\nFROM b\n');
    const inst = df.stages[1].from;
    assert.deepEqual(resolveStageSource(df.stages, 'ONE', inst), { kind: 'stage', index: 0 });
    assert.deepEqual(resolveStageSource(df.stages, '1', inst), { kind: 'stage', index: 1 });
    assert.deepEqual(resolveStageSource(df.stages, 'alpine:3', inst), { kind: 'image', name: 'alpine:3' });
  });
});

describe('stage variables', () => {
  const df = load('ARG G=global\nFROM busybox\nENV E=env\nARG A=$E-1 B C=${G:-none}\nARG G\nENV E=$A\n');
  const [, argLine, argG, env2] = df.stages[0].instructions;
  const ctx = { buildArgs: new Map([['B', 'from-cli']]), globalArgs: df.globalArgs };

  it('ARG: build arg wins, defaults expand against the stage, bare ARG takes the global value', () => {
    let vars = initialStageVars(['PATH=/bin', 'E=image']);
    vars = applyEnv(vars, expandInstruction(df.stages[0].instructions[0], vars.env) as never);
    assert.equal(vars.env.get('E'), 'env');
    vars = declareArgs(vars, argLine as never, ctx);
    assert.deepEqual(vars.args, [{ key: 'A', value: 'env-1' }, { key: 'B', value: 'from-cli' }, { key: 'C', value: 'none' }]);
    vars = declareArgs(vars, argG as never, ctx);
    assert.equal(vars.env.get('G'), 'global');
    const env = expandInstruction(env2, vars.env);
    vars = applyEnv(vars, env as never);
    assert.equal(vars.env.get('E'), 'env-1');
    assert.deepEqual(runArgsPrefix(vars), ['|4', 'A=env-1', 'B=from-cli', 'C=none', 'G=global']);
  });
  it('a default is expanded only when no build arg overrides it', () => {
    const bad = load('FROM busybox\nARG X=${NOPE:?missing}\n');
    const arg = bad.stages[0].instructions[0];
    assert.throws(() => declareArgs(initialStageVars([]), arg as never, { buildArgs: new Map(), globalArgs: bad.globalArgs }), /NOPE: missing/);
    const vars = declareArgs(initialStageVars([]), arg as never, { buildArgs: new Map([['X', 'ok']]), globalArgs: bad.globalArgs });
    assert.equal(vars.env.get('X'), 'ok');
  });
  it('withDefaultPath and proxies', () => {
    assert.deepEqual(withDefaultPath(['A=1']), ['A=1', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    assert.deepEqual(withDefaultPath(['PATH=/x']), ['PATH=/x']);
    assert.deepEqual([...proxyEnvFromBuildArgs(new Map([['http_proxy', 'h'], ['X', 'y']]))], [['HTTP_PROXY', 'h'], ['http_proxy', 'h']]);
  });
});

describe('checkDispatch', () => {
  it('fails like BuildKit before running anything', () => {
    const df = load('FROM busybox\nARG FOO\nARG BAR=${FOO:?"foo missing"}\n');
    assert.throws(() => checkDispatch(df, { buildArgs: df.buildArgs, escapeToken: df.escapeToken }), (err: unknown) => {
      assert.ok(err instanceof KilnError);
      assert.equal(err.message, 'failed to process "${FOO:?\\"foo missing\\"}": FOO: foo missing');
      assert.equal(err.location?.line, 3);
      return true;
    });
    const withFoo = load('FROM busybox\nARG FOO\nARG BAR=${FOO:?"foo missing"}\n', { buildArgs: new Map([['FOO', '1']]) });
    assert.equal(checkDispatch(withFoo, { buildArgs: withFoo.buildArgs, escapeToken: withFoo.escapeToken }).get(0)?.env.get('BAR'), '1');
  });
  it('checks only needed stages, and carries variables into child stages', () => {
    const df = load('FROM busybox AS unused\nWORKDIR ${X:?}\nFROM busybox AS a\nARG V=1\nENV W=2\nFROM a\nRUN true\n');
    const vars = checkDispatch(df, { buildArgs: df.buildArgs, escapeToken: df.escapeToken });
    assert.deepEqual([...vars.keys()], [1, 2]);
    assert.equal(vars.get(2)?.env.get('V'), '1');
    assert.equal(vars.get(2)?.env.get('W'), '2');
  });
  it('uses the base image env when given', () => {
    const df = load('FROM busybox\nWORKDIR ${HOME:?}\n');
    assert.throws(() => checkDispatch(df, { buildArgs: df.buildArgs, escapeToken: '\\' }), /HOME: parameter null or not set|HOME/);
    const vars = checkDispatch(df, { buildArgs: df.buildArgs, escapeToken: '\\', imageEnv: () => ['HOME=/root'] });
    assert.equal(vars.get(0)?.env.get('HOME'), '/root');
  });
});
