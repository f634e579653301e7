import type * as Nodemailer from 'nodemailer';
import type { DeliveryConfig } from '@/config/app-config';
import { DeliveryError, MailSender, OutgoingMessage } from './message';

/** Mail through any SMTP server (nodemailer), every phase bounded by SMTP_TIMEOUT_MS. */
export class SmtpMailSender extends MailSender {
  private readonly transporter: Nodemailer.Transporter;

  constructor(private readonly settings: NonNullable<DeliveryConfig['smtp']>) {
    super();
    // Loaded here, not at import: only MAIL_TRANSPORT=smtp needs nodemailer (~1.8 MB of heap, 35 modules).
    const { createTransport } = require('nodemailer') as typeof Nodemailer;
    this.transporter = createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      auth: settings.user ? { user: settings.user, pass: settings.password ?? '' } : undefined,
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
    });
  }

  async send(message: OutgoingMessage): Promise<void> {
    try {
      await this.transporter.sendMail({ from: this.settings.from, to: message.to, subject: message.subject, text: message.text });
    } catch (error) {
      // nodemailer's messages name the server and the phase, never the body or the password.
      throw new DeliveryError('smtp', (error as { code?: string }).code ?? 'send failed');
    }
  }
}
