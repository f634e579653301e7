import type { Language } from '@/common/i18n';

export const CODE_PURPOSES = {
  sms: ['register', 'login', 'reset_password', 'change_phone'],
  email: ['register', 'reset_password', 'change_email'],
} as const;
export type Channel = keyof typeof CODE_PURPOSES;
export type SmsPurpose = (typeof CODE_PURPOSES.sms)[number];
export type EmailPurpose = (typeof CODE_PURPOSES.email)[number];
/** verify_email: sent only by the signed-in POST /users/me/email/verification-code, to the account's own address. */
export type CodePurpose = SmsPurpose | EmailPurpose | 'verify_email';

/** One message to one recipient: a code, or a security notice (code null, purpose "notice"). */
export interface OutgoingMessage {
  channel: Channel;
  /** E.164 phone or email address. */
  to: string;
  purpose: CodePurpose | 'notice';
  code: string | null;
  language: Language;
  subject: string;
  text: string;
}

/** Raised by a transport that could not hand the message over; logged and counted (code requests are answered before delivery). */
export class DeliveryError extends Error {
  constructor(readonly transport: string, reason: string) {
    super(`${transport}: ${reason}`);
  }
}

/** The ports: one adapter per vendor, chosen by SMS_TRANSPORT / MAIL_TRANSPORT. */
export abstract class SmsSender {
  abstract send(message: OutgoingMessage): Promise<void>;
}

export abstract class MailSender {
  abstract send(message: OutgoingMessage): Promise<void>;
}

/** A phone or address as logs may show it: enough to correlate, never the whole thing. */
export function maskDestination(to: string): string {
  if (to.includes('@')) {
    const [local, domain] = to.split('@');
    return `${local.slice(0, 1)}***@${domain}`;
  }
  return to.length > 7 ? `${to.slice(0, 6)}****${to.slice(-4)}` : '****';
}
