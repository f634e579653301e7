import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { loadCodeHmacKey } from './code-key';

describe('loadCodeHmacKey', () => {
  const dirs: string[] = [];
  const dir = () => {
    const made = mkdtempSync(join(tmpdir(), 'uc-code-key-'));
    dirs.push(made);
    return made;
  };
  afterAll(() => dirs.forEach((made) => rmSync(made, { recursive: true, force: true })));

  it('derives the key from CODE_HMAC_KEY when set (every instance the same), and writes nothing', () => {
    const dataDir = dir();
    expect(loadCodeHmacKey('a shared secret', dataDir)).toEqual(createHash('sha256').update('a shared secret').digest());
    expect(loadCodeHmacKey('a shared secret', dir())).toEqual(loadCodeHmacKey('a shared secret', dataDir));
    expect(() => statSync(join(dataDir, 'keys'))).toThrow();
  });

  it('otherwise generates one into DATA_DIR/keys/code-hmac.key, keeps it across restarts, and says which setting production needs', () => {
    const dataDir = dir();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const first = loadCodeHmacKey(null, dataDir);
      expect(first).toHaveLength(32);
      expect(readFileSync(join(dataDir, 'keys', 'code-hmac.key'), 'utf8')).toBe(first.toString('base64'));
      expect(loadCodeHmacKey(null, dataDir)).toEqual(first);
      expect(loadCodeHmacKey(null, dir())).not.toEqual(first);
      expect(warn).toHaveBeenCalledWith(`Generated a development key in ${join(dataDir, 'keys', 'code-hmac.key')}; set CODE_HMAC_KEY in production`);
      expect((warn.mock.contexts[0] as unknown as { context: string }).context).toBe('VerificationCodes');
    } finally {
      warn.mockRestore();
    }
  });
});
