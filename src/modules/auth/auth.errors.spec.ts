import { AuthErrors } from './auth.errors';

// The codes, their statuses and both messages are the API's contract (clients switch on the code, the
// OpenAPI document lists them); a changed status or a lost message is a breaking change.
describe('AuthErrors', () => {
  it('declares each code with its status', () => {
    const statuses = Object.fromEntries(Object.values(AuthErrors).map((entry) => [entry.code, entry.status]));
    expect(statuses).toStrictEqual({
      INVALID_CREDENTIALS: 401,
      REFRESH_TOKEN_INVALID: 401,
      API_KEY_INVALID: 401,
      SESSION_NOT_FOUND: 404,
      SESSION_REQUIRED: 403,
      RECENT_AUTH_REQUIRED: 403,
      COOKIE_ORIGIN_NOT_ALLOWED: 403,
      COOKIE_REQUESTED_WITH_REQUIRED: 403,
      PASSWORD_RESET_DISABLED: 403,
    });
    for (const [key, entry] of Object.entries(AuthErrors)) expect(entry.code).toBe(key);
  });

  it('gives every code its own message in English and in Chinese', () => {
    const entries = Object.values(AuthErrors);
    for (const entry of entries) {
      expect(Object.keys(entry.message).sort()).toStrictEqual(['en', 'zh-CN']);
      expect(entry.message.en).toMatch(/^[A-Z].{10,}$/);
      expect(entry.message['zh-CN']).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(new Set(entries.map((entry) => entry.message.en)).size).toBe(entries.length);
    expect(new Set(entries.map((entry) => entry.message['zh-CN'])).size).toBe(entries.length);
    // The two that name what the client must send.
    expect(AuthErrors.COOKIE_REQUESTED_WITH_REQUIRED.message.en).toContain('X-Requested-With: XMLHttpRequest');
    expect(AuthErrors.COOKIE_ORIGIN_NOT_ALLOWED.message.en).toContain('Origin');
  });
});
