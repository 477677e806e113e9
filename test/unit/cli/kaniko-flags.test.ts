import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLAGS, flagIndex } from '../../../src/cli/kaniko-flags.ts';

/**
 * The executor's flags as declared in GoogleContainerTools/kaniko cmd/executor/cmd/root.go (latest release
 * line): [name, shorthand, type, default]. Types: s string, b bool, i int, d duration, m repeatable.
 */
const KANIKO_ROOT_GO: Array<[string, string, 's' | 'b' | 'i' | 'd' | 'm', string | boolean | number | undefined]> = [
  ['verbosity', 'v', 's', 'info'],
  ['log-format', '', 's', 'color'],
  ['log-timestamp', '', 'b', false],
  ['force', '', 'b', false],
  ['dockerfile', 'f', 's', 'Dockerfile'],
  ['context', 'c', 's', '/workspace/'],
  ['context-sub-path', '', 's', ''],
  ['bucket', 'b', 's', ''],
  ['destination', 'd', 'm', undefined],
  ['snapshot-mode', '', 's', 'full'],
  ['custom-platform', '', 's', ''],
  ['build-arg', '', 'm', undefined],
  ['insecure', '', 'b', false],
  ['skip-tls-verify', '', 'b', false],
  ['insecure-pull', '', 'b', false],
  ['skip-tls-verify-pull', '', 'b', false],
  ['push-retry', '', 'i', 0],
  ['push-ignore-immutable-tag-errors', '', 'b', false],
  ['image-fs-extract-retry', '', 'i', 0],
  ['image-download-retry', '', 'i', 0],
  ['kaniko-dir', '', 's', '/kaniko'],
  ['tar-path', '', 's', ''],
  ['single-snapshot', '', 'b', false],
  ['reproducible', '', 'b', false],
  ['target', '', 's', ''],
  ['no-push', '', 'b', false],
  ['no-push-cache', '', 'b', false],
  ['cache-repo', '', 's', ''],
  ['cache-dir', '', 's', '/cache'],
  ['digest-file', '', 's', ''],
  ['image-name-with-digest-file', '', 's', ''],
  ['image-name-tag-with-digest-file', '', 's', ''],
  ['oci-layout-path', '', 's', ''],
  ['compression', '', 's', 'gzip'],
  ['compression-level', '', 'i', -1],
  ['cache', '', 'b', false],
  ['compressed-caching', '', 'b', true],
  ['cleanup', '', 'b', false],
  ['cache-ttl', '', 'd', '336h0m0s'],
  ['insecure-registry', '', 'm', undefined],
  ['skip-tls-verify-registry', '', 'm', undefined],
  ['registry-certificate', '', 'm', undefined],
  ['registry-client-cert', '', 'm', undefined],
  ['registry-map', '', 'm', undefined],
  ['registry-mirror', '', 'm', undefined],
  ['skip-default-registry-fallback', '', 'b', false],
  ['ignore-var-run', '', 'b', true],
  ['label', '', 'm', undefined],
  ['skip-unused-stages', '', 'b', false],
  ['use-new-run', '', 'b', false],
  ['git', '', 's', ''],
  ['cache-copy-layers', '', 'b', false],
  ['cache-run-layers', '', 'b', true],
  ['ignore-path', '', 'm', undefined],
  ['force-build-metadata', '', 'b', false],
  ['skip-push-permission-check', '', 'b', false],
  // Added by the maintained fork (osscontainertools/kaniko).
  ['annotation', '', 'm', undefined],
  ['preserve-context', '', 'b', false],
  ['materialize', '', 'b', false],
  ['credential-helpers', '', 'm', undefined],
];

/** Deprecated spellings in root.go and the flag each now means. */
const KANIKO_DEPRECATED: Array<[string, string]> = [
  ['snapshotMode', 'snapshot-mode'],
  ['customPlatform', 'custom-platform'],
  ['tarPath', 'tar-path'],
  ['whitelist-var-run', 'ignore-var-run'],
];

const TYPE: Record<string, string> = { s: 'string', b: 'bool', i: 'int', d: 'duration', m: 'repeatable' };

test('every kaniko executor flag is in the table with its shorthand, type and default', () => {
  const { long } = flagIndex();
  for (const [name, short, type, def] of KANIKO_ROOT_GO) {
    const spec = long.get(name);
    assert.ok(spec, `--${name} missing from the flag table`);
    assert.equal(spec.name, name, `--${name} must be a primary name, not an alias`);
    assert.equal(spec.short ?? '', short, `--${name} shorthand`);
    assert.equal(spec.type, TYPE[type], `--${name} type`);
    if (type !== 'm') assert.equal(spec.default, def, `--${name} default`);
    assert.ok(!spec.kilnOnly, `--${name} is kaniko's, not a Kiln addition`);
  }
});

test('deprecated camelCase spellings are aliases of the new names', () => {
  const { long } = flagIndex();
  for (const [old, now] of KANIKO_DEPRECATED) {
    const spec = long.get(old);
    assert.equal(spec?.name, now, `--${old} → --${now}`);
    assert.ok(spec?.aliases?.find((a) => a.name === old)?.deprecated, `--${old} is marked deprecated`);
  }
});

test('the only flags beyond kaniko are the Kiln additions, marked as such', () => {
  const kaniko = new Set(KANIKO_ROOT_GO.map(([n]) => n));
  const extra = FLAGS.filter((f) => !kaniko.has(f.name)).map((f) => f.name).sort();
  assert.deepEqual(extra, ['base-image-source', 'isolation', 'registry-connect-timeout', 'registry-idle-timeout', 'registry-response-timeout', 'secret', 'ssh']);
  for (const name of extra) assert.ok(FLAGS.find((f) => f.name === name)?.kilnOnly, `--${name} kilnOnly`);
});

test('names, aliases and shorthands are unique', () => {
  const seen = new Set<string>();
  for (const f of FLAGS) {
    for (const n of [f.name, ...(f.aliases ?? []).map((a) => a.name), ...(f.short ? [`-${f.short}`] : [])]) {
      assert.ok(!seen.has(n), `${n} appears twice`);
      seen.add(n);
    }
  }
});

test('no-effect flags say why, env vars are the ones kaniko reads', () => {
  for (const f of FLAGS) if (f.status === 'no-effect') assert.ok(f.note, `--${f.name} needs a note`);
  const envs = Object.fromEntries(FLAGS.filter((f) => f.env && !f.kilnOnly).map((f) => [f.name, f.env]));
  for (const f of FLAGS) if (f.env && f.kilnOnly) assert.match(f.env, /^KILN_/, `--${f.name}: Kiln's own variables start with KILN_`);
  assert.deepEqual(envs, {
    'no-push': 'KANIKO_NO_PUSH',
    'kaniko-dir': 'KANIKO_DIR',
    'registry-mirror': 'KANIKO_REGISTRY_MIRROR',
    'registry-map': 'KANIKO_REGISTRY_MAP',
  });
});
