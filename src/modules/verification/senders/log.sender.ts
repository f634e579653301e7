import { appendFile } from 'node:fs/promises';
import { Logger } from '@nestjs/common';
import { MailSender, maskDestination, OutgoingMessage, SmsSender } from './message';

/**
 * The development transport (SMS_TRANSPORT=log / MAIL_TRANSPORT=log): a log line without the code,
 * and — only when OUTBOX_FILE is set, which production refuses — the whole message, code included,
 * as one JSON line, so tests and a first run can read it.
 */
export class LogSender implements SmsSender, MailSender {
  private readonly logger = new Logger('Outbox');

  constructor(private readonly outboxFile: string | null) {}

  async send(message: OutgoingMessage): Promise<void> {
    this.logger.log(`${message.channel} to ${maskDestination(message.to)} purpose=${message.purpose}`);
    if (!this.outboxFile) return;
    const line = { channel: message.channel, to: message.to, purpose: message.purpose, code: message.code, text: message.text };
    await appendFile(this.outboxFile, `${JSON.stringify(line)}\n`);
  }
}
