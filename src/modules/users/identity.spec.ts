import { classifyIdentifier, normalisePhone, normaliseUsername } from './identity';

describe('identity normalisation', () => {
  it('keys usernames by NFKC + lower case', () => {
    expect(normaliseUsername('Ａlice_01')).toEqual({ username: 'Alice_01', key: 'alice_ol', mixesScripts: false });
  });

  it.each(['abcd', 'a'.repeat(33), 'with space', 'semi;colon', 'zero\u200bwidth', 'bom\ufeffname', 'rtl\u202ename', 'hangul\u3164filler'])('refuses %j', (name) => {
    expect(normaliseUsername(name)).toBeNull();
  });

  it('accepts letters of any script', () => {
    expect(normaliseUsername('张三_dev')).not.toBeNull();
  });

  it.each([
    ['13800138000', '+8613800138000'],
    ['+86 138-0013-8000', '+8613800138000'],
    ['008613800138000', '+8613800138000'],
    ['+14155552671', '+14155552671'],
  ])('normalises %j to %s', (input, expected) => {
    expect(normalisePhone(input)).toBe(expected);
  });

  it.each(['12345', '23800138000', '+0123456789', 'phone'])('refuses the phone %j', (input) => {
    expect(normalisePhone(input)).toBeNull();
  });

  it('classifies identifiers', () => {
    expect(classifyIdentifier('A@Example.com')).toEqual({ kind: 'email', key: 'a@example.com' });
    expect(classifyIdentifier('13800138000')).toMatchObject({ kind: 'phone', phone: '+8613800138000' });
    expect(classifyIdentifier('Alice')).toEqual({ kind: 'username', key: 'alice' });
  });
});
