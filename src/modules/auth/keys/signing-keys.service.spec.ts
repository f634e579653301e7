import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@/config/app-config';
import { keyThumbprint, SigningKeys } from './signing-keys.service';

const pemOf = (key: KeyObject) => key.export({ type: key.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }).toString();
const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits });

describe('SigningKeys (JWT_PRIVATE_KEY, JWT_PRIVATE_KEYS, JWT_NEXT_PUBLIC_KEY)', () => {
  const [a, b, c] = [rsa(2048), rsa(2048), rsa(2048)];
  const weak = rsa(1024);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const entry = (kid: string, key: KeyObject) => ({ kid, privateKey: pemOf(key) });
  const next = (kid: string, key: KeyObject) => JSON.stringify({ kid, publicKey: pemOf(key) });
  const keysFrom = (env: Record<string, string>) => new SigningKeys(loadConfig({ NODE_ENV: 'test', ...env }));

  describe('several keys', () => {
    it('signs with the first, verifies with every one and publishes them all, in order', () => {
      const keys = keysFrom({ JWT_PRIVATE_KEYS: JSON.stringify([entry('b', b.privateKey), entry('a', a.privateKey)]) });
      expect(keys.signing.kid).toBe('b');
      expect(keyThumbprint(createPublicKey(keys.signing.privateKey))).toBe(keyThumbprint(b.publicKey));
      expect(keys.jwks.keys.map((key) => key.kid)).toEqual(['b', 'a']);
      expect(keys.jwks.keys[1]).toEqual({ ...a.publicKey.export({ format: 'jwk' }), kid: 'a', alg: 'RS256', use: 'sig' });
      expect(keyThumbprint(keys.verificationKey('a')!)).toBe(keyThumbprint(a.publicKey));
      expect(keyThumbprint(keys.verificationKey('b')!)).toBe(keyThumbprint(b.publicKey));
    });

    it('publishes the next key, which verifies (instances already signing with it) but never signs', () => {
      const keys = keysFrom({ JWT_PRIVATE_KEYS: JSON.stringify([entry('a', a.privateKey)]), JWT_NEXT_PUBLIC_KEY: next('c', c.publicKey) });
      expect(keys.signing.kid).toBe('a');
      expect(keys.jwks.keys.map((key) => key.kid)).toEqual(['a', 'c']);
      expect(keyThumbprint(keys.verificationKey('c')!)).toBe(keyThumbprint(c.publicKey));
    });

    it('knows no other kid: an unknown, missing or non-string kid has no key (never a fallback)', () => {
      const keys = keysFrom({ JWT_PRIVATE_KEYS: JSON.stringify([entry('a', a.privateKey)]) });
      for (const kid of ['b', '', undefined, null, 7, ['a'], { a: 1 }, '__proto__', 'constructor']) expect(keys.verificationKey(kid)).toBeUndefined();
    });

    it('accepts PEMs with \\n escapes (one-line environment values)', () => {
      const escaped = JSON.stringify([{ kid: 'a', privateKey: pemOf(a.privateKey).replace(/\n/g, '\\n') }]);
      expect(keysFrom({ JWT_PRIVATE_KEYS: escaped }).signing.kid).toBe('a');
    });
  });

  describe('the single key keeps working', () => {
    it('JWT_PRIVATE_KEY: its thumbprint as kid (stable across instances), or JWT_KEY_ID', () => {
      const keys = keysFrom({ JWT_PRIVATE_KEY: pemOf(a.privateKey) });
      expect(keys.signing.kid).toBe(keyThumbprint(a.publicKey));
      expect(keys.jwks.keys.map((key) => key.kid)).toEqual([keyThumbprint(a.publicKey)]);
      expect(keysFrom({ JWT_PRIVATE_KEY: pemOf(a.privateKey) }).signing.kid).toBe(keys.signing.kid);
      expect(keysFrom({ JWT_PRIVATE_KEY: pemOf(a.privateKey), JWT_KEY_ID: 'legacy' }).signing.kid).toBe('legacy');
    });

    it('the development key in DATA_DIR: generated once, the same key and kid after a restart; a next key may be published beside it', () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'uc-keys-'));
      try {
        const first = keysFrom({ DATA_DIR: dataDir });
        const again = keysFrom({ DATA_DIR: dataDir, JWT_NEXT_PUBLIC_KEY: next('c', c.publicKey) });
        expect(again.signing.kid).toBe(first.signing.kid);
        expect(again.jwks.keys.map((key) => key.kid)).toEqual([first.signing.kid, 'c']);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });

  describe('the development key file', () => {
    afterEach(() => jest.restoreAllMocks());

    it('is DATA_DIR/keys/jwt-private.pem, owner-only (0600 in a 0700 folder, made with its parents), and the warning names it and the settings', () => {
      const root = mkdtempSync(join(tmpdir(), 'uc-keys-'));
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      try {
        const dataDir = join(root, 'not', 'yet');
        const keys = keysFrom({ DATA_DIR: dataDir });
        const file = join(dataDir, 'keys', 'jwt-private.pem');
        expect(keyThumbprint(createPublicKey(readFileSync(file, 'utf8')))).toBe(keys.signing.kid);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        expect(statSync(join(dataDir, 'keys')).mode & 0o777).toBe(0o700);
        expect(warn).toHaveBeenCalledTimes(1);
        expect(warn.mock.calls[0][0]).toBe(`Generated a development signing key in ${file}; set JWT_PRIVATE_KEY (or JWT_PRIVATE_KEYS) in production`);
        expect((warn.mock.contexts[0] as { context?: string }).context).toBe('SigningKeys');
        keysFrom({ DATA_DIR: dataDir });
        expect(warn).toHaveBeenCalledTimes(1); // read back, not generated again
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it('is never written when JWT_PRIVATE_KEY or JWT_PRIVATE_KEYS is set', () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'uc-keys-'));
      try {
        keysFrom({ DATA_DIR: dataDir, JWT_PRIVATE_KEY: pemOf(a.privateKey) });
        keysFrom({ DATA_DIR: dataDir, JWT_PRIVATE_KEYS: JSON.stringify([entry('a', a.privateKey)]) });
        expect(existsSync(join(dataDir, 'keys'))).toBe(false);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });

  describe('start-up refuses, with one line naming the setting', () => {
    const refusals: [string, () => Record<string, string>, string, RegExp][] = [
      ['duplicate kids', () => ({ JWT_PRIVATE_KEYS: JSON.stringify([entry('a', a.privateKey), entry('a', b.privateKey)]) }), 'JWT_PRIVATE_KEYS', /names kid "a" twice/],
      ['the next kid equal to a signing kid', () => ({ JWT_PRIVATE_KEYS: JSON.stringify([entry('a', a.privateKey)]), JWT_NEXT_PUBLIC_KEY: next('a', c.publicKey) }), 'JWT_NEXT_PUBLIC_KEY', /kid "a", which a signing key already has/],
      ['the next kid equal to JWT_KEY_ID', () => ({ JWT_PRIVATE_KEY: pemOf(a.privateKey), JWT_KEY_ID: 'one', JWT_NEXT_PUBLIC_KEY: next('one', c.publicKey) }), 'JWT_NEXT_PUBLIC_KEY', /kid "one"/],
      ['the next key equal to a signing key', () => ({ JWT_PRIVATE_KEYS: JSON.stringify([entry('a', a.privateKey)]), JWT_NEXT_PUBLIC_KEY: next('new', a.publicKey) }), 'JWT_NEXT_PUBLIC_KEY', /is the key of signing key "a": the next key must be a new key/],
      ['the next key equal to the single key', () => ({ JWT_PRIVATE_KEY: pemOf(a.privateKey), JWT_NEXT_PUBLIC_KEY: next('new', a.publicKey) }), 'JWT_NEXT_PUBLIC_KEY', /the next key must be a new key/],
      ['one key under two kids', () => ({ JWT_PRIVATE_KEYS: JSON.stringify([entry('a', a.privateKey), entry('a2', a.privateKey)]) }), 'JWT_PRIVATE_KEYS', /same key under kids "a" and "a2"/],
      ['an RSA key under 2048 bits in the list', () => ({ JWT_PRIVATE_KEYS: JSON.stringify([entry('a', a.privateKey), entry('weak', weak.privateKey)]) }), 'JWT_PRIVATE_KEYS', /key "weak" must be an RSA key of at least 2048 bits/],
      ['an RSA key under 2048 bits as the single key', () => ({ JWT_PRIVATE_KEY: pemOf(weak.privateKey) }), 'JWT_PRIVATE_KEY', /at least 2048 bits/],
      ['an RSA key under 2048 bits as the next key', () => ({ JWT_NEXT_PUBLIC_KEY: next('weak', weak.publicKey), JWT_PRIVATE_KEY: pemOf(a.privateKey) }), 'JWT_NEXT_PUBLIC_KEY', /the next key must be an RSA key of at least 2048 bits/],
      ['a key that is not RSA', () => ({ JWT_PRIVATE_KEYS: JSON.stringify([entry('ec', ec.privateKey)]) }), 'JWT_PRIVATE_KEYS', /key "ec" must be an RSA key/],
      ['a private key as the next public key', () => ({ JWT_PRIVATE_KEY: pemOf(a.privateKey), JWT_NEXT_PUBLIC_KEY: JSON.stringify({ kid: 'c', publicKey: pemOf(c.privateKey) }) }), 'JWT_NEXT_PUBLIC_KEY', /never the private one/],
      ['an unreadable PEM', () => ({ JWT_PRIVATE_KEYS: JSON.stringify([{ kid: 'a', privateKey: 'not a key' }]) }), 'JWT_PRIVATE_KEYS', /key "a" is not a readable PEM private key/],
      ['an unreadable next PEM', () => ({ JWT_PRIVATE_KEY: pemOf(a.privateKey), JWT_NEXT_PUBLIC_KEY: JSON.stringify({ kid: 'c', publicKey: 'nope' }) }), 'JWT_NEXT_PUBLIC_KEY', /not a readable PEM public key/],
      ['not JSON', () => ({ JWT_PRIVATE_KEYS: '-----BEGIN PRIVATE KEY-----' }), 'JWT_PRIVATE_KEYS', /not valid JSON/],
      ['an empty list', () => ({ JWT_PRIVATE_KEYS: '[]' }), 'JWT_PRIVATE_KEYS', /at least one key/],
      ['an object instead of a list', () => ({ JWT_PRIVATE_KEYS: JSON.stringify(entry('a', a.privateKey)) }), 'JWT_PRIVATE_KEYS', /JSON array/],
      ['an entry with another field', () => ({ JWT_PRIVATE_KEYS: JSON.stringify([{ ...entry('a', a.privateKey), alg: 'none' }]) }), 'JWT_PRIVATE_KEYS', /and nothing else/],
      ['an entry without a kid', () => ({ JWT_PRIVATE_KEYS: JSON.stringify([{ privateKey: pemOf(a.privateKey) }]) }), 'JWT_PRIVATE_KEYS', /and nothing else/],
      ['a kid with spaces', () => ({ JWT_PRIVATE_KEYS: JSON.stringify([entry('my key', a.privateKey)]) }), 'JWT_PRIVATE_KEYS', /kid "my key": a kid is 1-64 letters/],
      ['a next key that is a list', () => ({ JWT_NEXT_PUBLIC_KEY: JSON.stringify([{ kid: 'c', publicKey: pemOf(c.publicKey) }]) }), 'JWT_NEXT_PUBLIC_KEY', /JSON object/],
      ['both JWT_PRIVATE_KEY and JWT_PRIVATE_KEYS', () => ({ JWT_PRIVATE_KEY: pemOf(a.privateKey), JWT_PRIVATE_KEYS: JSON.stringify([entry('b', b.privateKey)]) }), 'JWT_PRIVATE_KEYS', /set one of them, not both/],
      ['JWT_KEY_ID with JWT_PRIVATE_KEYS', () => ({ JWT_KEY_ID: 'x', JWT_PRIVATE_KEYS: JSON.stringify([entry('b', b.privateKey)]) }), 'JWT_KEY_ID', /each JWT_PRIVATE_KEYS entry names its own kid/],
      ['JWKS_MAX_AGE_SECONDS out of range', () => ({ JWKS_MAX_AGE_SECONDS: '86401' }), 'JWKS_MAX_AGE_SECONDS', /between 0 and 86400/],
    ];
    it.each(refusals)('%s', (_name, env, setting, problem) => {
      let failure: unknown;
      try {
        keysFrom(env());
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeInstanceOf(ConfigError);
      const { message } = failure as ConfigError;
      expect(message.startsWith(`Invalid configuration: ${setting} `)).toBe(true);
      expect(message).toMatch(problem);
      expect(message).not.toContain('\n');
      expect(message).not.toContain('PRIVATE KEY'); // a refusal never echoes key material
    });

    it('production needs a signing key: JWT_PRIVATE_KEY or JWT_PRIVATE_KEYS', () => {
      expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_PRIVATE_KEY is required when NODE_ENV=production .*or JWT_PRIVATE_KEYS/);
      let failure: unknown;
      try {
        loadConfig({ NODE_ENV: 'production', JWT_PRIVATE_KEYS: JSON.stringify([entry('a', a.privateKey)]) });
      } catch (error) {
        failure = error;
      }
      expect((failure as ConfigError).setting).not.toMatch(/^JWT_/); // the key requirement is met; another production setting is next
    });
  });
});
