import type { Language } from '@/common/i18n';
import type { CodePurpose } from '../senders/message';

const PURPOSE_TEXT: Record<CodePurpose, Record<Language, string>> = {
  register: { en: 'to finish signing up', 'zh-CN': '用于完成注册' },
  login: { en: 'to sign in', 'zh-CN': '用于登录' },
  reset_password: { en: 'to reset your password', 'zh-CN': '用于重置密码' },
  change_phone: { en: 'to confirm your new phone number', 'zh-CN': '用于绑定新手机号' },
  change_email: { en: 'to confirm your new email address', 'zh-CN': '用于绑定新邮箱' },
};

export function codeMessage(code: string, purpose: CodePurpose, language: Language, ttlMinutes: number): { subject: string; text: string } {
  const why = PURPOSE_TEXT[purpose][language];
  return language === 'zh-CN'
    ? { subject: '您的验证码', text: `您的验证码是 ${code}，${why}，${ttlMinutes} 分钟内有效。请勿告诉任何人。` }
    : { subject: 'Your verification code', text: `Your verification code is ${code} (${why}). It expires in ${ttlMinutes} minutes. Never share it with anyone.` };
}

export type NoticeKind = 'password_changed' | 'password_reset';

export function noticeMessage(kind: NoticeKind, language: Language): { subject: string; text: string } {
  const zh = { password_changed: '您的密码刚刚被修改', password_reset: '您的密码刚刚通过验证码被重置' }[kind];
  const en = { password_changed: 'Your password was just changed', password_reset: 'Your password was just reset with a verification code' }[kind];
  return language === 'zh-CN'
    ? { subject: '账号安全提醒', text: `${zh}，其他设备已全部退出登录。如果这不是您本人的操作，请立即重置密码。` }
    : { subject: 'Security notice for your account', text: `${en}, and every other device was signed out. If this was not you, reset your password now.` };
}
