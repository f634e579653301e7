import { isEmailAddress } from './email-address';

describe('isEmailAddress', () => {
  it.each(['alice@example.com', 'a.b+tag@sub.example.org', 'x_y-z@example.cn'])('accepts %j', (address) => {
    expect(isEmailAddress(address)).toBe(true);
  });

  it.each([
    'a@example.com\r\nBcc: v@example.com',
    '"a\r\nBcc: v@example.com"@example.com',
    '"a b"@example.com',
    'a\t@example.com',
    'Alice <a@example.com>',
    'a@example.com,b@example.com',
    'a@[127.0.0.1]',
    `${'a'.repeat(250)}@example.com`,
  ])('refuses %j', (address) => {
    expect(isEmailAddress(address)).toBe(false);
  });
});
