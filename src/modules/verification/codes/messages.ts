import type { Language } from '@/common/i18n';
import type { CodePurpose } from '../senders/message';

const PURPOSE_TEXT: Record<CodePurpose, Record<Language, string>> = {
  register: { en: 'to finish signing up', 'zh-CN': '用于完成注册' },
  login: { en: 'to sign in', 'zh-CN': '用于登录' },
  reset_password: { en: 'to reset your password', 'zh-CN': '用于重置密码' },
  change_phone: { en: 'to confirm your new phone number', 'zh-CN': '用于绑定新手机号' },
  change_email: { en: 'to confirm your new email address', 'zh-CN': '用于绑定新邮箱' },
  verify_email: { en: 'to verify your email address', 'zh-CN': '用于验证邮箱' },
};

export function codeMessage(code: string, purpose: CodePurpose, language: Language, ttlMinutes: number): { subject: string; text: string } {
  const why = PURPOSE_TEXT[purpose][language];
  return language === 'zh-CN'
    ? { subject: '您的验证码', text: `您的验证码是 ${code}，${why}，${ttlMinutes} 分钟内有效。请勿告诉任何人。` }
    : { subject: 'Your verification code', text: `Your verification code is ${code} (${why}). It expires in ${ttlMinutes} minutes. Never share it with anyone.` };
}

export type NoticeKind = 'password_changed' | 'password_reset' | ContactNoticeKind | IdentityNoticeKind | MfaNoticeKind;

/** Notices about sign-ins with other identity providers being linked or removed (contract §11). */
type IdentityNoticeKind = 'identity_linked' | 'identity_unlinked';

/** Notices about contacts: they go to the address or number that was replaced or removed (contract §13). */
type ContactNoticeKind = 'email_changed' | 'phone_changed' | 'account_reclaimed';

const TEXT_NOTICES: Record<ContactNoticeKind | IdentityNoticeKind, Record<Language, string>> = {
  identity_linked: {
    en: 'A sign-in with another provider was just linked to your account. If this was not you, remove it from your profile and change your password now.',
    'zh-CN': '您的账号刚刚绑定了第三方登录方式。如果这不是您本人的操作，请立即在个人资料中解除绑定并修改密码。',
  },
  identity_unlinked: {
    en: 'A sign-in with another provider was just removed from your account. If this was not you, change your password now.',
    'zh-CN': '您的账号刚刚解除了一个第三方登录方式。如果这不是您本人的操作，请立即修改密码。',
  },
  email_changed: {
    en: 'The email address of your account was just replaced, so this address no longer signs in or receives codes. If this was not you, reset your password now and contact support.',
    'zh-CN': '您账号的邮箱刚刚被更换，此邮箱将不再用于登录或接收验证码。如果这不是您本人的操作，请立即重置密码并联系客服。',
  },
  phone_changed: {
    en: 'The phone number of your account was just replaced or removed, so this number no longer signs in or receives codes. If this was not you, reset your password now.',
    'zh-CN': '您账号的手机号刚刚被更换或移除，此号码将不再用于登录或接收验证码。如果这不是您本人的操作，请立即重置密码。',
  },
  account_reclaimed: {
    en: 'You proved this email address, so the account is yours: every other sign-in method that was added before (phone number, API keys, sessions and second factors) was removed. Add back only what you use.',
    'zh-CN': '您已验证此邮箱，账号归您所有：此前添加的其他登录方式（手机号、API 密钥、登录会话和二次验证）已全部移除，请只重新添加您自己使用的方式。',
  },
};

/** Notices about second factors: they go to the account's email, else its phone. */
export type MfaNoticeKind = 'mfa_added' | 'mfa_removed' | 'mfa_reset';

const MFA_NOTICES: Record<MfaNoticeKind, Record<Language, string>> = {
  mfa_added: {
    en: 'A second sign-in factor was added to your account. If this was not you, change your password now and contact an administrator.',
    'zh-CN': '您的账号刚刚添加了二次验证方式。如果这不是您本人的操作，请立即修改密码并联系管理员。',
  },
  mfa_removed: {
    en: 'A second sign-in factor was removed from your account. If this was not you, change your password now and contact an administrator.',
    'zh-CN': '您的账号刚刚移除了二次验证方式。如果这不是您本人的操作，请立即修改密码并联系管理员。',
  },
  mfa_reset: {
    en: 'An administrator removed every second sign-in factor of your account and signed out every device. If you did not ask for this, contact an administrator now.',
    'zh-CN': '管理员刚刚清除了您账号的全部二次验证方式，并退出了所有设备。如果这不是您申请的，请立即联系管理员。',
  },
};

export function noticeMessage(kind: NoticeKind, language: Language): { subject: string; text: string } {
  const subject = language === 'zh-CN' ? '账号安全提醒' : 'Security notice for your account';
  if (kind in MFA_NOTICES) return { subject, text: MFA_NOTICES[kind as MfaNoticeKind][language] };
  if (kind !== 'password_changed' && kind !== 'password_reset') return { subject, text: TEXT_NOTICES[kind as keyof typeof TEXT_NOTICES][language] };
  const zh = { password_changed: '您的密码刚刚被修改', password_reset: '您的密码刚刚通过验证码被重置' }[kind as 'password_changed'];
  const en = { password_changed: 'Your password was just changed', password_reset: 'Your password was just reset with a verification code' }[kind as 'password_changed'];
  return language === 'zh-CN'
    ? { subject, text: `${zh}，其他设备已全部退出登录。如果这不是您本人的操作，请立即重置密码。` }
    : { subject, text: `${en}, and every other device was signed out. If this was not you, reset your password now.` };
}
