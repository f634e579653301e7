import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AliyunSmsSender } from './aliyun-sms.sender';
import { HttpSmsSender } from './http-sms.sender';
import { LogSender } from './log.sender';
import { SmtpMailSender } from './smtp.sender';
import { MailSender, SmsSender } from './message';

/** Picks the SMS and mail adapters from configuration. */
@Module({
  providers: [
    {
      provide: SmsSender,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): SmsSender => {
        switch (config.delivery.smsTransport) {
          case 'http':
            return new HttpSmsSender(config.delivery.smsHttp!);
          case 'aliyun':
            return new AliyunSmsSender(config.delivery.aliyun!);
          case 'log':
            return new LogSender(config.delivery.outboxFile);
        }
      },
    },
    {
      provide: MailSender,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): MailSender => {
        switch (config.delivery.mailTransport) {
          case 'smtp':
            return new SmtpMailSender(config.delivery.smtp!);
          case 'log':
            return new LogSender(config.delivery.outboxFile);
        }
      },
    },
  ],
  exports: [SmsSender, MailSender],
})
export class SendersModule {}
