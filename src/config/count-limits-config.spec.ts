import { AppConfig, loadConfig } from './app-config';

/**
 * The caps on what one account, one client IP or the whole service may hold: each is a whole number read at
 * start-up, with a default and a range; anything else stops the start in one line naming the setting.
 */
const COUNT_LIMITS: { setting: string; read: (config: AppConfig) => number; fallback: number; min: number; max: number }[] = [
  { setting: 'SESSIONS_PER_USER', read: (config) => config.sessions.maxPerUser, fallback: 100, min: 1, max: 1000 },
  { setting: 'SPENT_REFRESH_TOKENS_KEPT', read: (config) => config.tokens.spentRefreshTokensKept, fallback: 100, min: 1, max: 10_000 },
  { setting: 'PASSKEYS_PER_USER', read: (config) => config.mfa.passkeysPerUser, fallback: 10, min: 1, max: 100 },
  { setting: 'WEBAUTHN_PENDING_CHALLENGES', read: (config) => config.mfa.pendingPasskeyChallenges, fallback: 10, min: 1, max: 100 },
  { setting: 'WEBHOOK_MAX_ENDPOINTS', read: (config) => config.webhooks.maxEndpoints, fallback: 50, min: 1, max: 1000 },
  { setting: 'CAPTCHA_PER_IP', read: (config) => config.captcha.perIp, fallback: 20, min: 1, max: 1000 },
];

describe.each(COUNT_LIMITS)('$setting: a count limit read at start-up', ({ setting, read, fallback, min, max }) => {
  it(`defaults to ${fallback} and takes any whole number in its range`, () => {
    expect(read(loadConfig({}))).toBe(fallback);
    expect(read(loadConfig({ [setting]: String(min) }))).toBe(min);
    expect(read(loadConfig({ [setting]: String(max) }))).toBe(max);
  });

  it('refuses a number outside its range, or no number, in one line naming the setting', () => {
    for (const value of [min - 1, max + 1]) expect(() => loadConfig({ [setting]: String(value) })).toThrow(`Invalid configuration: ${setting} must be between ${min} and ${max} (got ${value})`);
    expect(() => loadConfig({ [setting]: 'lots' })).toThrow(`Invalid configuration: ${setting} must be a whole number (got "lots")`);
  });
});
