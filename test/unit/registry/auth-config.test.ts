import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KilnError } from '../../../src/errors.ts';
import { authKey, convertToHostname, credentialSource, dockerConfigPath, readDockerConfig } from '../../../src/registry/docker-config.ts';
import type { DockerConfigFile } from '../../../src/registry/docker-config.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('config.json lookup: DOCKER_CONFIG, then /kaniko/.docker, then $HOME/.docker', () => {
  assert.equal(dockerConfigPath({ DOCKER_CONFIG: '/d', HOME: '/h' }, undefined, () => true), '/d/config.json');
  assert.equal(dockerConfigPath({ HOME: '/h' }, undefined, (p) => p === '/kaniko/.docker/config.json'), '/kaniko/.docker/config.json');
  assert.equal(dockerConfigPath({ HOME: '/h' }, undefined, () => false), '/h/.docker/config.json');
  assert.equal(dockerConfigPath({ DOCKER_CONFIG: '/d' }, '/explicit', () => true), '/explicit/config.json');
  assert.equal(dockerConfigPath({}, undefined, () => false), undefined);
});

test('auth (base64 user:pass) gives username and password; a colon in the password survives', () => {
  const config: DockerConfigFile = { auths: { 'r.io': { auth: b64('me:pa:ss') } } };
  assert.deepEqual(credentialSource(config, 'r.io'), { kind: 'static', credentials: { username: 'me', password: 'pa:ss' } });
});

test('username/password, identitytoken and registrytoken entries', () => {
  const config: DockerConfigFile = {
    auths: {
      'a.io': { username: 'u', password: 'p' },
      'b.io': { identitytoken: 'refresh' },
      'c.io': { registrytoken: 'bearer' },
      'd.io': {},
    },
  };
  assert.deepEqual(credentialSource(config, 'a.io'), { kind: 'static', credentials: { username: 'u', password: 'p' } });
  assert.deepEqual(credentialSource(config, 'b.io'), { kind: 'static', credentials: { identityToken: 'refresh' } });
  assert.deepEqual(credentialSource(config, 'c.io'), { kind: 'static', credentials: { registryToken: 'bearer' } });
  assert.deepEqual(credentialSource(config, 'd.io'), { kind: 'anonymous' });
  assert.deepEqual(credentialSource(config, 'e.io'), { kind: 'anonymous' });
});

test('Docker Hub uses the https://index.docker.io/v1/ key, and also matches host-only keys', () => {
  assert.equal(authKey('docker.io'), 'https://index.docker.io/v1/');
  const hub: DockerConfigFile = { auths: { 'https://index.docker.io/v1/': { auth: b64('hub:pw') } } };
  assert.deepEqual(credentialSource(hub, 'docker.io'), { kind: 'static', credentials: { username: 'hub', password: 'pw' } });
  const bare: DockerConfigFile = { auths: { 'index.docker.io': { auth: b64('hub:pw') } } };
  assert.equal(credentialSource(bare, 'docker.io').kind, 'static');
  assert.equal(credentialSource(hub, 'ghcr.io').kind, 'anonymous');
});

test('keys with scheme and path match the registry host', () => {
  assert.equal(convertToHostname('https://r.io:5000/v1/'), 'r.io:5000');
  assert.equal(convertToHostname('http://r.io'), 'r.io');
  const config: DockerConfigFile = { auths: { 'https://r.io:5000/v2/': { auth: b64('a:b') } } };
  assert.equal(credentialSource(config, 'r.io:5000').kind, 'static');
  assert.equal(credentialSource(config, 'r.io').kind, 'anonymous');
});

test('credHelpers win over credsStore, which wins over auths', () => {
  const config: DockerConfigFile = {
    auths: { 'r.io': { auth: b64('a:b') }, 'other.io': { auth: b64('a:b') } },
    credHelpers: { 'r.io': 'ecr-login', 'https://index.docker.io/v1/': 'hub' },
    credsStore: 'desktop',
  };
  assert.deepEqual(credentialSource(config, 'r.io'), { kind: 'helper', helper: 'ecr-login', serverUrl: 'r.io', via: 'credHelpers' });
  assert.deepEqual(credentialSource(config, 'docker.io'), { kind: 'helper', helper: 'hub', serverUrl: 'https://index.docker.io/v1/', via: 'credHelpers' });
  assert.deepEqual(credentialSource(config, 'other.io'), { kind: 'helper', helper: 'desktop', serverUrl: 'other.io', via: 'credsStore' });
  assert.deepEqual(credentialSource({ auths: config.auths }, 'other.io').kind, 'static');
});

test('malformed config and auth values are KilnErrors that do not echo secrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-dc-'));
  try {
    writeFileSync(join(dir, 'config.json'), '{"auths": ');
    assert.throws(() => readDockerConfig(join(dir, 'config.json')), (e: unknown) => e instanceof KilnError && e.code === 'DOCKER_CONFIG_INVALID');
    assert.deepEqual(readDockerConfig(join(dir, 'missing.json')), {});
    assert.throws(() => credentialSource({ auths: { 'r.io': { auth: b64('no-colon-secret') } } }, 'r.io'), (e: unknown) => {
      assert.ok(e instanceof KilnError);
      assert.doesNotMatch(e.message, /no-colon-secret/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
