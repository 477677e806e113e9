import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KilnError } from '../../../src/errors.ts';
import { parseDockerfile } from '../../../src/dockerfile/parser.ts';
import { checkStopSignal, expandInstruction, exposedPortKeys, parseInstruction } from '../../../src/dockerfile/instructions/index.ts';
import type { Instruction } from '../../../src/dockerfile/instructions/index.ts';

const env = new Map([
  ['DIR', '/data'],
  ['USER', 'app'],
  ['PORTS', '80 443/udp'],
  ['NAME', 'x y'],
  ['SIG', 'SIGTERM'],
]);

function expanded(text: string, escape: '\\' | '`' = '\\'): Instruction {
  const parsed = parseDockerfile(`${text}\n`, { file: 'Dockerfile' });
  return expandInstruction(parseInstruction(parsed.instructions[0], 'Dockerfile'), env, { escapeToken: escape });
}

function as<K extends Instruction['kind']>(inst: Instruction, kind: K): Extract<Instruction, { kind: K }> {
  assert.equal(inst.kind, kind);
  return inst as Extract<Instruction, { kind: K }>;
}

describe('expandInstruction', () => {
  it('ENV and LABEL: keys and values, quotes removed', () => {
    assert.deepEqual(as(expanded('ENV A=$DIR/x B="$NAME z" C=\'$DIR\''), 'ENV').pairs.map((p) => [p.key, p.value]), [
      ['A', '/data/x'],
      ['B', 'x y z'],
      ['C', '$DIR'],
    ]);
    assert.deepEqual(as(expanded('LABEL "$USER.k"=${DIR:-none}'), 'LABEL').pairs.map((p) => [p.key, p.value]), [['app.k', '/data']]);
  });
  it('COPY: sources, dest, chown, chmod; never --from', () => {
    const copy = as(expanded('COPY --from=$USER --chown=$USER:$USER --chmod=0755 $DIR/a "${NAME}" $DIR/'), 'COPY');
    assert.deepEqual(copy.sources, ['/data/a', 'x y']);
    assert.equal(copy.dest, '/data/');
    assert.equal(copy.chown, 'app:app');
    assert.equal(copy.chmod, '0755');
    assert.equal(copy.from, '$USER');
  });
  it('ADD: also the checksum', () => {
    const add = as(expanded('ADD --checksum=$USER --chown=$USER http://h/$USER $DIR'), 'ADD');
    assert.equal(add.checksum, 'app');
    assert.equal(add.chown, 'app');
    assert.deepEqual(add.sources, ['http://h/app']);
    assert.equal(add.dest, '/data');
  });
  it('heredoc contents expand only when the delimiter is unquoted, keeping quotes', () => {
    const copy = as(expanded('COPY <<A <<\'B\' /x/\n"$USER" \\$DIR\nA\n$USER\nB'), 'COPY');
    assert.equal(copy.sourceContents[0].data, '"app" $DIR\n');
    assert.equal(copy.sourceContents[1].data, '$USER\n');
  });
  it('WORKDIR, USER, VOLUME, STOPSIGNAL', () => {
    assert.equal(as(expanded('WORKDIR $DIR/w'), 'WORKDIR').path, '/data/w');
    assert.equal(as(expanded('USER ${USER}'), 'USER').user, 'app');
    assert.deepEqual(as(expanded('VOLUME $DIR /v'), 'VOLUME').volumes, ['/data', '/v']);
    assert.equal(as(expanded('STOPSIGNAL $SIG'), 'STOPSIGNAL').signal, 'SIGTERM');
  });
  it('EXPOSE splits expanded words into ports', () => {
    const expose = as(expanded('EXPOSE $PORTS 8080-8081'), 'EXPOSE');
    assert.deepEqual(expose.ports, ['80', '443/udp', '8080-8081']);
    assert.deepEqual(exposedPortKeys(expose.ports), ['443/udp', '80/tcp', '8080/tcp', '8081/tcp']);
    assert.throws(() => exposedPortKeys(['80/http']), /invalid proto: http/);
    assert.throws(() => exposedPortKeys(['eighty']), /invalid containerPort: eighty/);
    assert.throws(() => exposedPortKeys(['70000']), /invalid containerPort: 70000/);
  });
  it('STOPSIGNAL values are checked as moby/sys/signal', () => {
    for (const ok of ['SIGKILL', 'term', 'SIGRTMIN+3', '9']) checkStopSignal(ok);
    assert.throws(() => checkStopSignal('SIGFOO'), /^InstructionSyntaxError: Invalid signal: SIGFOO$/);
    assert.throws(() => checkStopSignal('0'), /Invalid signal: 0/);
  });
  it('RUN: resolves mounts with expanded values, leaves the command to the shell', () => {
    const run = as(expanded('RUN --mount=type=cache,target=$DIR,id=${USER} echo $DIR'), 'RUN');
    assert.deepEqual(run.command, ['echo $DIR']);
    assert.deepEqual(run.mounts, [{ type: 'cache', readOnly: false, required: false, target: '/data', id: 'app' }]);
  });
  it('RUN: a mount made invalid by expansion is a located error', () => {
    assert.throws(() => expanded('RUN --mount=type=cache,target=/x,uid=$USER true'), (err: unknown) => {
      assert.ok(err instanceof KilnError);
      assert.equal(err.code, 'DOCKERFILE_INSTRUCTION');
      assert.equal(err.message, 'invalid value app for uid');
      assert.equal(err.location?.line, 1);
      return true;
    });
  });
  it('leaves CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER, ARG and FROM alone', () => {
    for (const text of ['CMD echo $DIR', 'ENTRYPOINT ["$DIR"]', 'SHELL ["$DIR"]', 'HEALTHCHECK CMD $DIR', 'ONBUILD RUN $DIR', 'MAINTAINER $USER', 'ARG X=$DIR', 'FROM $DIR']) {
      const parsed = parseDockerfile(`${text}\n`, { file: 'Dockerfile' });
      const inst = parseInstruction(parsed.instructions[0], 'Dockerfile');
      assert.deepEqual(expandInstruction(inst, env), inst, text);
    }
  });
  it('honours the escape directive', () => {
    assert.equal(as(expanded('WORKDIR C:`$DIR', '`'), 'WORKDIR').path, 'C:$DIR');
    assert.equal(as(expanded('WORKDIR C:\\$DIR', '`'), 'WORKDIR').path, 'C:\\/data');
  });
  it('turns expansion failures into located KilnErrors', () => {
    assert.throws(() => expanded('WORKDIR ${MISSING:?must be set}'), (err: unknown) => {
      assert.ok(err instanceof KilnError);
      assert.equal(err.code, 'DOCKERFILE_EXPANSION');
      assert.equal(err.message, 'failed to process "${MISSING:?must be set}": MISSING: must be set');
      assert.deepEqual(err.location, { file: 'Dockerfile', line: 1, text: 'WORKDIR ${MISSING:?must be set}' });
      return true;
    });
  });
  it('does not modify its input', () => {
    const parsed = parseDockerfile('ENV A=$DIR\n', { file: 'Dockerfile' });
    const inst = parseInstruction(parsed.instructions[0], 'Dockerfile');
    const before = structuredClone(inst);
    expandInstruction(inst, env);
    assert.deepEqual(inst, before);
  });
});
