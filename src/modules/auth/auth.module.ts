import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AvatarModule } from '@/modules/avatar/avatar.module';
import { UsersModule } from '@/modules/users/users.module';
import { VerificationModule } from '@/modules/verification/verification.module';
import { HumanCheckModule } from '@/modules/human-check/human-check.module';
import { AccountController } from './account.controller';
import { CodeRequestsController } from './code-requests.controller';
import { AccountService } from './account.service';
import { ApiKeysModule } from '@/modules/account/api-keys.module';
import { AccountOwnershipModule } from '@/modules/account/account-ownership.module';
import { InternalKeysService } from './internal-keys.service';
import { AuthController } from './auth.controller';
import { GlobalAuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { JwksController } from './jwks.controller';
import { JwtStrategy } from './jwt.strategy';
import { KeysModule } from './keys/keys.module';
import { SigningKeys } from './keys/signing-keys.service';
import { LoginThrottle } from './login-throttle.service';
import { MfaChallenges } from './mfa-challenges';
import { SessionsModule } from './sessions/sessions.module';
import { RefreshCookie } from './refresh-cookie';
import { TokensService } from './tokens.service';

@Module({
  imports: [
    KeysModule,
    JwtModule.registerAsync({
      imports: [KeysModule],
      inject: [SigningKeys, APP_CONFIG],
      useFactory: (keys: SigningKeys, config: AppConfig) => ({
        // No module-wide public key: TokensService passes the one the token's kid names, so nothing falls back to a default.
        privateKey: keys.signing.privateKey as unknown as string,
        signOptions: { algorithm: 'RS256', keyid: keys.signing.kid },
        verifyOptions: { algorithms: ['RS256'], issuer: config.tokens.issuer, audience: config.tokens.audience },
      }),
    }),
    SessionsModule,
    UsersModule,
    VerificationModule,
    HumanCheckModule,
    AvatarModule,
    ApiKeysModule,
    AccountOwnershipModule,
  ],
  controllers: [CodeRequestsController, AuthController, JwksController, AccountController],
  providers: [AuthService, AccountService, TokensService, LoginThrottle, JwtStrategy, InternalKeysService, GlobalAuthGuard, MfaChallenges, RefreshCookie],
  exports: [AuthService, GlobalAuthGuard, SessionsModule, ApiKeysModule, TokensService, LoginThrottle, MfaChallenges],
})
export class AuthModule {}
