import type { CodePurpose } from '../senders/message';
import { codeMessage, NoticeKind, noticeMessage } from './messages';

// What a person reads. Each purpose and each notice says its own thing, in the language asked for:
// a message that says the wrong thing (or nothing) is how a user is talked into passing a code on.
const PURPOSES: CodePurpose[] = ['register', 'login', 'reset_password', 'change_phone', 'change_email', 'verify_email'];
const NOTICES: NoticeKind[] = ['password_changed', 'password_reset', 'email_changed', 'phone_changed', 'account_reclaimed', 'identity_linked', 'identity_unlinked', 'mfa_added', 'mfa_removed', 'mfa_reset'];
const HAN = /\p{Script=Han}/u;

describe('code messages', () => {
  it('carry the code, the minutes it lives and the warning, in English', () => {
    expect(codeMessage('004217', 'login', 'en', 10)).toEqual({
      subject: 'Your verification code',
      text: 'Your verification code is 004217 (to sign in). It expires in 10 minutes. Never share it with anyone.',
    });
  });

  it('carry the code, the minutes it lives and the warning, in Chinese', () => {
    expect(codeMessage('004217', 'login', 'zh-CN', 10)).toEqual({ subject: '您的验证码', text: '您的验证码是 004217，用于登录，10 分钟内有效。请勿告诉任何人。' });
  });

  it.each(['en', 'zh-CN'] as const)('name each purpose differently (%s)', (language) => {
    const texts = PURPOSES.map((purpose) => codeMessage('123456', purpose, language, 5).text);
    expect(new Set(texts).size).toBe(PURPOSES.length);
    for (const text of texts) {
      expect(HAN.test(text)).toBe(language === 'zh-CN');
      // the purpose's own words, between the code and the expiry
      expect(text).toMatch(language === 'en' ? /\(to [a-z ]+\)/ : /，用于\p{Script=Han}+，/u);
    }
  });
});

describe('notices', () => {
  it.each(['en', 'zh-CN'] as const)('say something of their own for each kind, under one subject (%s)', (language) => {
    const messages = NOTICES.map((kind) => noticeMessage(kind, language));
    expect(new Set(messages.map((message) => message.subject))).toEqual(new Set([language === 'en' ? 'Security notice for your account' : '账号安全提醒']));
    expect(new Set(messages.map((message) => message.text)).size).toBe(NOTICES.length);
    for (const { text } of messages) {
      expect(text.length).toBeGreaterThan(30);
      expect(HAN.test(text)).toBe(language === 'zh-CN');
    }
  });

  it('tell a changed password from a reset one, and say every other device was signed out', () => {
    expect(noticeMessage('password_changed', 'en').text).toBe('Your password was just changed, and every other device was signed out. If this was not you, reset your password now.');
    expect(noticeMessage('password_reset', 'en').text).toBe('Your password was just reset with a verification code, and every other device was signed out. If this was not you, reset your password now.');
    expect(noticeMessage('password_changed', 'zh-CN').text).toBe('您的密码刚刚被修改，其他设备已全部退出登录。如果这不是您本人的操作，请立即重置密码。');
    expect(noticeMessage('password_reset', 'zh-CN').text).toBe('您的密码刚刚通过验证码被重置，其他设备已全部退出登录。如果这不是您本人的操作，请立即重置密码。');
  });

  it('word the second-factor and contact notices as the catalogue does', () => {
    expect(noticeMessage('mfa_added', 'en').text).toMatch(/^A second sign-in factor was added/);
    expect(noticeMessage('mfa_reset', 'zh-CN').text).toMatch(/^管理员刚刚清除了/);
    expect(noticeMessage('email_changed', 'en').text).toMatch(/^The email address of your account was just replaced/);
    expect(noticeMessage('identity_unlinked', 'zh-CN').text).toMatch(/^您的账号刚刚解除了/);
  });
});
