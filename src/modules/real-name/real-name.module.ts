import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AuthModule } from '@/modules/auth/auth.module';
import { UsersModule } from '@/modules/users/users.module';
import { HttpRealNameProvider } from './providers/http-real-name.provider';
import { LocalRealNameProvider } from './providers/local-real-name.provider';
import { RealNameProvider } from './providers/real-name-provider';
import { RealNameCryptoModule } from './real-name-crypto.module';
import { RealNameRecord } from './real-name-record.entity';
import { RealNameController } from './real-name.controller';
import { RealNameRepository } from './real-name.repository';
import { RealNameService } from './real-name.service';

@Module({
  imports: [TypeOrmModule.forFeature([RealNameRecord]), UsersModule, AuthModule, RealNameCryptoModule],
  controllers: [RealNameController],
  providers: [
    RealNameService,
    RealNameRepository,
    {
      provide: RealNameProvider,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): RealNameProvider =>
        config.realName.provider === 'http' && config.realName.http ? new HttpRealNameProvider(config.realName.http) : new LocalRealNameProvider(),
    },
  ],
  exports: [RealNameService],
})
export class RealNameModule {}
