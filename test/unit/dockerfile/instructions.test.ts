import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KilnError } from '../../../src/errors.ts';
import { parseDockerfile } from '../../../src/dockerfile/parser.ts';
import { parseInstruction } from '../../../src/dockerfile/instructions/index.ts';
import type { Instruction } from '../../../src/dockerfile/instructions/index.ts';

function parseOne(text: string): Instruction {
  const parsed = parseDockerfile(text.endsWith('\n') ? text : `${text}\n`, { file: 'Dockerfile' });
  return parseInstruction(parsed.instructions[0], 'Dockerfile');
}

function as<K extends Instruction['kind']>(inst: Instruction, kind: K): Extract<Instruction, { kind: K }> {
  assert.equal(inst.kind, kind);
  return inst as Extract<Instruction, { kind: K }>;
}

function parseFails(text: string, message: string | RegExp, line = 1): KilnError {
  let caught: unknown;
  try {
    parseOne(text);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KilnError, `expected a KilnError for ${JSON.stringify(text)}, got ${String(caught)}`);
  assert.equal(caught.code, 'DOCKERFILE_INSTRUCTION');
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  assert.equal(caught.location?.line, line);
  assert.equal(caught.location?.file, 'Dockerfile');
  return caught;
}

describe('FROM', () => {
  it('reads image, lower-cased stage name and platform', () => {
    const from = as(parseOne('FROM --platform=$BUILDPLATFORM golang:1.22 AS Builder'), 'FROM');
    assert.equal(from.baseName, 'golang:1.22');
    assert.equal(from.stageName, 'builder');
    assert.equal(from.platform, '$BUILDPLATFORM');
    assert.deepEqual(from.location, { file: 'Dockerfile', line: 1, endLine: 1, text: 'FROM --platform=$BUILDPLATFORM golang:1.22 AS Builder' });
  });
  it('accepts `as` in any case and no name', () => {
    assert.equal(as(parseOne('FROM a as b'), 'FROM').stageName, 'b');
    assert.equal(as(parseOne('FROM a'), 'FROM').stageName, undefined);
  });
  it('rejects bad stage names and argument counts', () => {
    parseFails('FROM a AS 1st', 'invalid name for build stage: "1st", name can\'t start with a number or contain symbols');
    parseFails('FROM a AS b$c', /invalid name for build stage/);
    parseFails('FROM a b', 'FROM requires either one or three arguments');
    parseFails('FROM a AS b c', 'FROM requires either one or three arguments');
  });
  it('rejects unknown flags with a suggestion', () => {
    parseFails('FROM --platfrom=linux/amd64 a', 'unknown flag: --platfrom (did you mean platform?)');
  });
});

describe('RUN / CMD / ENTRYPOINT / SHELL', () => {
  it('shell form keeps one string and prepends the shell', () => {
    const run = as(parseOne('RUN echo  "a b" && true'), 'RUN');
    assert.deepEqual(run.command, ['echo  "a b" && true']);
    assert.equal(run.prependShell, true);
    assert.equal(run.network, 'default');
    assert.equal(run.security, 'sandbox');
    assert.deepEqual(run.mounts, []);
  });
  it('exec form keeps the argv', () => {
    const run = as(parseOne('RUN ["echo", "a b"]'), 'RUN');
    assert.deepEqual(run.command, ['echo', 'a b']);
    assert.equal(run.prependShell, false);
  });
  it('reads --network, --security and --mount', () => {
    const run = as(parseOne('RUN --network=none --security=insecure --mount=type=cache,target=/c --mount=from=build,target=/b true'), 'RUN');
    assert.equal(run.network, 'none');
    assert.equal(run.security, 'insecure');
    assert.deepEqual(run.mountSpecs, ['type=cache,target=/c', 'from=build,target=/b']);
    assert.deepEqual(run.mountFroms, [undefined, 'build']);
    assert.equal(run.mounts, null, 'mounts are resolved at expansion');
    assert.deepEqual(run.flagsUsed.sort(), ['mount', 'network', 'security']);
  });
  it('rejects bad RUN flags', () => {
    parseFails('RUN --network=bridge true', 'invalid network mode "bridge"');
    parseFails('RUN --security=root true', 'security "root" is not valid');
    parseFails('RUN --mount=from=$STAGE,target=/x true', "'from' doesn't support variable expansion, define alias stage instead");
    parseFails('RUN --device=/dev/fuse true', /^unknown flag: --device/);
    parseFails('RUN --network=none --network=host true', 'duplicate flag specified: --network');
    parseFails('RUN --network true', 'missing a value on flag: --network');
  });
  it('attaches heredocs', () => {
    const run = as(parseOne('RUN <<-EOF bash\n\techo hi\nEOF'), 'RUN');
    assert.deepEqual(run.command, ['<<-EOF bash']);
    assert.deepEqual(run.heredocs, [{ name: 'EOF', data: 'echo hi\n', chomp: true, expand: true }]);
    assert.equal(run.location.endLine, 3);
  });
  it('CMD and ENTRYPOINT forms', () => {
    assert.deepEqual(as(parseOne('CMD ["a", "b"]'), 'CMD').command, ['a', 'b']);
    const cmd = as(parseOne('CMD echo $HOME'), 'CMD');
    assert.deepEqual(cmd.command, ['echo $HOME']);
    assert.equal(cmd.prependShell, true);
    const entry = as(parseOne('ENTRYPOINT []'), 'ENTRYPOINT');
    assert.deepEqual(entry.command, []);
    assert.equal(entry.prependShell, false);
    parseFails('CMD --foo=bar ["a"]', 'unknown flag: --foo');
  });
  it('SHELL needs JSON', () => {
    assert.deepEqual(as(parseOne('SHELL ["/bin/bash", "-c"]'), 'SHELL').shell, ['/bin/bash', '-c']);
    parseFails('SHELL /bin/bash -c', 'SHELL requires the arguments to be in JSON form');
    parseFails('SHELL []', 'SHELL requires at least one argument');
  });
});

describe('ENV / LABEL', () => {
  it('keeps pairs in order, values as written', () => {
    const env = as(parseOne('ENV A=1 B="x y" C=$A'), 'ENV');
    assert.deepEqual(env.pairs, [
      { key: 'A', value: '1', noDelimiter: false },
      { key: 'B', value: '"x y"', noDelimiter: false },
      { key: 'C', value: '$A', noDelimiter: false },
    ]);
  });
  it('reads the legacy form', () => {
    assert.deepEqual(as(parseOne('ENV NAME some value'), 'ENV').pairs, [{ key: 'NAME', value: 'some value', noDelimiter: true }]);
  });
  it('LABEL pairs', () => {
    const label = as(parseOne('LABEL "com.example.a"="1" b=2'), 'LABEL');
    assert.deepEqual(label.pairs.map((p) => [p.key, p.value]), [['"com.example.a"', '"1"'], ['b', '2']]);
  });
  it('rejects flags', () => {
    parseFails('ENV --x=1 A=1', 'unknown flag: --x');
  });
});

describe('ADD / COPY', () => {
  it('COPY with every flag', () => {
    const copy = as(
      parseOne('COPY --from=build --chown=1:2 --chmod=0755 --link --parents --exclude=*.md --exclude=tmp a b /dst/'),
      'COPY',
    );
    assert.deepEqual(copy.sources, ['a', 'b']);
    assert.equal(copy.dest, '/dst/');
    assert.equal(copy.from, 'build');
    assert.equal(copy.chown, '1:2');
    assert.equal(copy.chmod, '0755');
    assert.equal(copy.link, true);
    assert.equal(copy.parents, true);
    assert.deepEqual(copy.exclude, ['*.md', 'tmp']);
  });
  it('COPY defaults and JSON form', () => {
    const copy = as(parseOne('COPY ["a b", "/c d/"]'), 'COPY');
    assert.deepEqual(copy.sources, ['a b']);
    assert.equal(copy.dest, '/c d/');
    assert.equal(copy.from, undefined);
    assert.equal(copy.link, false);
    assert.equal(copy.parents, false);
    assert.deepEqual(copy.exclude, []);
  });
  it('ADD with every flag', () => {
    const add = as(
      parseOne('ADD --chown=u --chmod=644 --link=false --keep-git-dir --checksum=sha256:abc --unpack=true --exclude=x https://e.x/a.tgz /d'),
      'ADD',
    );
    assert.equal(add.chown, 'u');
    assert.equal(add.chmod, '644');
    assert.equal(add.link, false);
    assert.equal(add.keepGitDir, true);
    assert.equal(add.checksum, 'sha256:abc');
    assert.equal(add.unpack, true);
    assert.deepEqual(add.exclude, ['x']);
    assert.equal(as(parseOne('ADD a /b'), 'ADD').unpack, undefined);
  });
  it('heredoc sources become contents', () => {
    const copy = as(parseOne('COPY <<EOF <<"RAW" /dir/\nhello $X\nEOF\nraw $X\nRAW'), 'COPY');
    assert.deepEqual(copy.sources, []);
    assert.deepEqual(copy.sourceContents, [
      { path: 'EOF', data: 'hello $X\n', expand: true },
      { path: 'RAW', data: 'raw $X\n', expand: false },
    ]);
  });
  it('rejects bad forms', () => {
    parseFails('COPY onlyone', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined');
    parseFails('ADD onlyone', /^ADD requires at least two arguments/);
    parseFails('COPY --form=x a b', 'unknown flag: --form (did you mean from?)');
    parseFails('COPY --checksum=sha256:x a b', /^unknown flag: --checksum/);
    parseFails('ADD --from=x a b', /^unknown flag: --from/);
    parseFails('COPY --link=maybe a b', 'expecting boolean value for flag --link, not: maybe');
    parseFails('COPY --link= a b', 'missing a value on flag: --link');
    parseFails('COPY --chown a b', 'missing a value on flag: --chown');
    parseFails('COPY a <<EOF\nx\nEOF', 'COPY cannot accept a heredoc as a destination');
  });
});

describe('metadata instructions', () => {
  it('EXPOSE sorts its words', () => {
    assert.deepEqual(as(parseOne('EXPOSE 8080 80/udp $P'), 'EXPOSE').ports, ['$P', '80/udp', '8080']);
    parseFails('EXPOSE', 'EXPOSE requires at least one argument');
  });
  it('VOLUME, USER, WORKDIR, MAINTAINER, STOPSIGNAL', () => {
    assert.deepEqual(as(parseOne('VOLUME ["/a", "/b"]'), 'VOLUME').volumes, ['/a', '/b']);
    assert.deepEqual(as(parseOne('VOLUME /a /b'), 'VOLUME').volumes, ['/a', '/b']);
    assert.equal(as(parseOne('USER app:app'), 'USER').user, 'app:app');
    assert.equal(as(parseOne('WORKDIR $HOME/x'), 'WORKDIR').path, '$HOME/x');
    assert.equal(as(parseOne('MAINTAINER Jane Doe <j@d.e>'), 'MAINTAINER').maintainer, 'Jane Doe <j@d.e>');
    assert.equal(as(parseOne('STOPSIGNAL SIGKILL'), 'STOPSIGNAL').signal, 'SIGKILL');
    parseFails('VOLUME [""]', 'VOLUME specified can not be an empty string');
    // The parser reads these as one string, so only a missing argument is an error.
    assert.equal(as(parseOne('USER a b'), 'USER').user, 'a b');
    parseFails('USER', 'USER requires exactly one argument');
    parseFails('WORKDIR', 'WORKDIR requires exactly one argument');
    parseFails('STOPSIGNAL', 'STOPSIGNAL requires exactly one argument');
    parseFails('MAINTAINER', 'MAINTAINER requires exactly one argument');
    parseFails('WORKDIR --x=1 /a', 'unknown flag: --x');
  });
  it('ARG declares several names, defaults as written', () => {
    const arg = as(parseOne('ARG A B=2 C="x y" D='), 'ARG');
    assert.deepEqual(arg.args, [
      { key: 'A' },
      { key: 'B', defaultValue: '2' },
      { key: 'C', defaultValue: '"x y"' },
      { key: 'D', defaultValue: '' },
    ]);
    parseFails('ARG =x', 'ARG names can not be blank');
  });
});

describe('ONBUILD', () => {
  it('keeps the trigger as text and parsed', () => {
    const onbuild = as(parseOne('ONBUILD COPY --from=x a /b'), 'ONBUILD');
    assert.equal(onbuild.expression, 'COPY --from=x a /b');
    assert.equal(onbuild.trigger?.kind, 'COPY');
  });
  it('appends heredoc bodies to the expression and the trigger', () => {
    const onbuild = as(parseOne('ONBUILD RUN <<EOF\necho hi\nEOF'), 'ONBUILD');
    assert.equal(onbuild.expression, 'RUN <<EOF\necho hi\nEOF');
    assert.equal(onbuild.trigger?.kind === 'RUN' && onbuild.trigger.heredocs[0].data, 'echo hi\n');
  });
  it('rejects chaining and forbidden triggers', () => {
    parseFails('ONBUILD ONBUILD RUN x', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
    parseFails('ONBUILD FROM x', "FROM isn't allowed as an ONBUILD trigger");
    parseFails('ONBUILD MAINTAINER me', "MAINTAINER isn't allowed as an ONBUILD trigger");
  });
  it('defers errors inside the trigger', () => {
    const onbuild = as(parseOne('ONBUILD COPY --bogus a b'), 'ONBUILD');
    assert.equal(onbuild.trigger, undefined);
    assert.equal(onbuild.triggerError, 'unknown flag: --bogus');
  });
});

describe('HEALTHCHECK', () => {
  it('NONE', () => {
    assert.deepEqual(as(parseOne('HEALTHCHECK NONE'), 'HEALTHCHECK').health.test, ['NONE']);
    parseFails('HEALTHCHECK NONE x', 'HEALTHCHECK NONE takes no arguments');
  });
  it('CMD with every flag, durations in nanoseconds', () => {
    const hc = as(
      parseOne('HEALTHCHECK --interval=1m30s --timeout=3s --start-period=1.5s --start-interval=100ms --retries=3 CMD curl -f http://x/'),
      'HEALTHCHECK',
    ).health;
    assert.deepEqual(hc, {
      test: ['CMD-SHELL', 'curl -f http://x/'],
      interval: 90e9,
      timeout: 3e9,
      startPeriod: 1.5e9,
      startInterval: 1e8,
      retries: 3,
    });
    assert.deepEqual(as(parseOne('HEALTHCHECK CMD ["a", "b"]'), 'HEALTHCHECK').health.test, ['CMD', 'a', 'b']);
    assert.equal(as(parseOne('HEALTHCHECK --interval=0s CMD a'), 'HEALTHCHECK').health.interval, 0);
  });
  it('validates', () => {
    parseFails('HEALTHCHECK', 'HEALTHCHECK requires at least one argument');
    parseFails('HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD');
    parseFails('HEALTHCHECK CONNECT TCP 7000', 'Unknown type "CONNECT" in HEALTHCHECK (try CMD)');
    parseFails('HEALTHCHECK --interval=1us CMD a', 'Interval "interval" cannot be less than 1ms');
    parseFails('HEALTHCHECK --timeout=5 CMD a', 'time: missing unit in duration "5"');
    parseFails('HEALTHCHECK --timeout=5x CMD a', 'time: unknown unit "x" in duration "5x"');
    parseFails('HEALTHCHECK --retries=-1 CMD a', '--retries cannot be negative (-1)');
    parseFails('HEALTHCHECK --retries=x CMD a', 'strconv.ParseInt: parsing "x": invalid syntax');
    parseFails('HEALTHCHECK --bogus=1 CMD a', 'unknown flag: --bogus');
  });
});

describe('errors name the instruction', () => {
  it('carries line and text of a later, multi-line instruction', () => {
    const parsed = parseDockerfile('FROM a\n\nCOPY --bad \\\n  x y\n', { file: 'Dockerfile' });
    let caught: unknown;
    try {
      parseInstruction(parsed.instructions[1], 'Dockerfile');
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof KilnError);
    assert.equal(caught.location?.line, 3);
    assert.match(caught.location?.text ?? '', /^COPY --bad/);
    assert.match(caught.describe(), /^error: Dockerfile:3: unknown flag: --bad/);
  });
});
