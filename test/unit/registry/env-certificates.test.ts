import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { certificateFiles, pemCertificates } from '../../../src/registry/env-certificates.ts';

const cert = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`;

describe('SSL_CERT_FILE / SSL_CERT_DIR', () => {
  it('finds every PEM certificate of a bundle, and nothing else', () => {
    const text = `# a bundle\n${cert('AAAA')}\nsome text\n${cert('BBBB\nCCCC')}\n-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n`;
    assert.deepEqual(pemCertificates(text), [cert('AAAA'), cert('BBBB\nCCCC')]);
    assert.deepEqual(pemCertificates('no certificates'), []);
  });

  it('lists SSL_CERT_FILE, then the files of each SSL_CERT_DIR directory in name order; missing ones are skipped', (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-certs-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'b.crt'), cert('B'));
    fs.writeFileSync(path.join(dir, 'a.pem'), cert('A'));
    assert.deepEqual(certificateFiles({ SSL_CERT_FILE: '/etc/bundle.pem', SSL_CERT_DIR: `${dir}:/nonexistent` }),
      ['/etc/bundle.pem', path.join(dir, 'a.pem'), path.join(dir, 'b.crt')]);
    assert.deepEqual(certificateFiles({}), []);
  });
});
