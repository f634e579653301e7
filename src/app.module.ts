import { DynamicModule, Global, Module, Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { Clock, SystemClock } from './common/clock';
import { AllExceptionsFilter } from './common/http/all-exceptions.filter';
import { StrictValidationPipe } from './common/http/validation.pipe';
import { KvModule } from './common/kv/kv.module';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './database/data-source-options';
import { takeTurnsOnSqlite } from './database/transaction';
import { AdminModule } from './modules/admin/admin.module';
import { AuditModule } from './modules/audit/audit.module';
import { EventsModule } from './modules/events/events.module';
import { WebhooksModule } from './modules/events/webhooks/webhooks.module';
import { AuthModule } from './modules/auth/auth.module';
import { FederationModule } from './modules/federation/federation.module';
import { AvatarModule } from './modules/avatar/avatar.module';
import { MfaModule } from './modules/mfa/mfa.module';
import { RealNameModule } from './modules/real-name/real-name.module';
import { RetentionModule } from './modules/retention/retention.module';
import { GlobalAuthGuard } from './modules/auth/auth.guard';
import { UsersModule } from './modules/users/users.module';
import { VerificationModule } from './modules/verification/verification.module';
import { HumanCheckModule } from './modules/human-check/human-check.module';
import { OperationsModule } from './modules/operations/operations.module';
import { PrivacyModule } from './modules/privacy/privacy.module';
import { RateLimitGuard } from './modules/operations/rate-limit';

export interface AppOverrides {
  /** Tests pass a controllable clock to prove TTLs without sleeping. */
  clock?: Clock;
  /** Tests capture the log output (access lines, errors): pino's JSON lines go here instead of stdout/stderr. */
  logDestination?: import('pino').DestinationStream;
  /** Tests instrument the HTTP layer (e.g. check every answer against the OpenAPI document). */
  instrumentHttp?: (fastify: import('fastify').FastifyInstance) => void;
}

@Global()
@Module({})
class CoreModule {
  static register(config: AppConfig, overrides: AppOverrides): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: Clock, useValue: overrides.clock ?? new SystemClock() },
      ],
      exports: [APP_CONFIG, Clock],
    };
  }
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, overrides: AppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.register(config, overrides),
        KvModule,
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSourceOptions(config), migrationsRun: config.database.runMigrations }),
          dataSourceFactory: async (options) => takeTurnsOnSqlite(await new DataSource(options!).initialize()),
        }),
        AuditModule,
        EventsModule,
        VerificationModule,
        HumanCheckModule,
        UsersModule,
        AuthModule,
        FederationModule,
        AdminModule,
        AvatarModule,
        RealNameModule,
        MfaModule,
        PrivacyModule,
        OperationsModule,
        RetentionModule,
        WebhooksModule,
      ],
      providers: [
        // The global rate limit runs before authentication (RATE_LIMIT_PER_MINUTE=0 turns it off).
        ...(config.operations.rateLimitPerMinute ? [{ provide: APP_GUARD, useClass: RateLimitGuard } satisfies Provider] : []),
        { provide: APP_GUARD, useExisting: GlobalAuthGuard },
        { provide: APP_PIPE, useClass: StrictValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
