import { loadConfig } from '@/config/app-config';
import { InternalKeysService } from './internal-keys.service';

const introspector = 'i'.repeat(40);
const reader = 'r'.repeat(40);
const everything = 'e'.repeat(40);

describe('InternalKeysService (INTERNAL_API_KEYS)', () => {
  const keys = new InternalKeysService(loadConfig({ NODE_ENV: 'test', INTERNAL_API_KEYS: `${introspector} introspect, ${reader} users:read, ${everything}` }));

  it('answers the scopes of the key sent: the ones it names, or every internal scope when it names none', () => {
    expect(keys.scopesOf(introspector)).toStrictEqual(['introspect']);
    expect(keys.scopesOf(reader)).toStrictEqual(['users:read']);
    expect(keys.scopesOf(everything)).toStrictEqual(['introspect', 'users:read']);
  });

  it('answers null for no key, an empty one, or any key not configured (a prefix, another case, one character more)', () => {
    for (const key of [undefined, '', introspector.slice(0, -1), introspector.toUpperCase(), `${introspector}i`, `${introspector} introspect`]) {
      expect(keys.scopesOf(key)).toBeNull();
    }
  });

  it('knows no key when none is configured', () => {
    const none = new InternalKeysService(loadConfig({ NODE_ENV: 'test' }));
    expect(none.scopesOf(introspector)).toBeNull();
    expect(none.scopesOf(undefined)).toBeNull();
  });
});
