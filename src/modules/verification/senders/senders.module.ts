import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { LogSender } from './log.sender';
import { MailSender, SmsSender } from './message';

/** Picks the SMS and mail adapters from configuration. */
@Module({
  providers: [
    {
      provide: SmsSender,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): SmsSender => {
        switch (config.delivery.smsTransport) {
          case 'log':
            return new LogSender(config.delivery.outboxFile);
          default:
            throw new Error(`SMS_TRANSPORT=${config.delivery.smsTransport} is not available in this build`);
        }
      },
    },
    {
      provide: MailSender,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): MailSender => {
        switch (config.delivery.mailTransport) {
          case 'log':
            return new LogSender(config.delivery.outboxFile);
          default:
            throw new Error(`MAIL_TRANSPORT=${config.delivery.mailTransport} is not available in this build`);
        }
      },
    },
  ],
  exports: [SmsSender, MailSender],
})
export class SendersModule {}
