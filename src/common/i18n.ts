/** The two languages the contract requires; anything else falls back to English. */
export type Language = 'en' | 'zh-CN';

export function pickLanguage(acceptLanguage: string | undefined): Language {
  if (!acceptLanguage) return 'en';
  const ranked = acceptLanguage
    .split(',')
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const quality = q ? Number(q.slice(2)) : 1;
      return { tag: tag.toLowerCase(), quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((entry) => entry.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index);
  for (const { tag } of ranked) {
    if (tag === 'zh' || tag.startsWith('zh-')) return 'zh-CN';
    if (tag === 'en' || tag.startsWith('en-')) return 'en';
  }
  return 'en';
}

/** Success messages, by key; controllers name the key with @SuccessMessage(). */
export const successMessages = {
  ok: { en: 'OK', 'zh-CN': '成功' },
  created: { en: 'Created', 'zh-CN': '创建成功' },
  signedUp: { en: 'Account created', 'zh-CN': '注册成功' },
  signedIn: { en: 'Signed in', 'zh-CN': '登录成功' },
  signedOut: { en: 'Signed out', 'zh-CN': '已退出登录' },
  refreshed: { en: 'Token refreshed', 'zh-CN': '令牌已刷新' },
  updated: { en: 'Updated', 'zh-CN': '更新成功' },
  deleted: { en: 'Deleted', 'zh-CN': '已删除' },
  sessionRevoked: { en: 'Session revoked', 'zh-CN': '会话已注销' },
  sessionsRevoked: { en: 'Sessions revoked', 'zh-CN': '会话已全部注销' },
  passwordChanged: { en: 'Password changed', 'zh-CN': '密码已修改' },
  passwordReset: { en: 'Password reset', 'zh-CN': '密码已重置' },
  codeSent: { en: 'Code sent', 'zh-CN': '验证码已发送' },
  avatarUpdated: { en: 'Avatar updated', 'zh-CN': '头像已更新' },
  realNameSubmitted: { en: 'Real-name information submitted', 'zh-CN': '实名信息已提交' },
  apiKeyCreated: { en: 'API key created; it is shown only once', 'zh-CN': 'API 密钥已创建，仅显示一次' },
  webhookCreated: { en: 'Webhook endpoint created; its secret is shown only once', 'zh-CN': 'Webhook 端点已创建，密钥仅显示一次' },
  secretRotated: { en: 'Secret rotated; the new one is shown only once, the old one still verifies for 24 hours', 'zh-CN': '密钥已轮换，新密钥仅显示一次，旧密钥在 24 小时内仍有效' },
  queued: { en: 'Queued for delivery', 'zh-CN': '已排队等待投递' },
} satisfies Record<string, Record<Language, string>>;

export type SuccessMessageKey = keyof typeof successMessages;
