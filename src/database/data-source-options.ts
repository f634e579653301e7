import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions, Logger as TypeOrmLogger } from 'typeorm';
import type { AppConfig } from '@/config/app-config';
import { InitialSchema1732300000000 as MysqlInitial } from './migrations/mysql/1732300000000-initial-schema';
import { InitialSchema1732300000000 as SqliteInitial } from './migrations/sqlite/1732300000000-initial-schema';
import { RealNameRecords1732300003000 as MysqlRealNameRecords } from './migrations/mysql/1732300003000-real-name-records';
import { RealNameRecords1732300003000 as SqliteRealNameRecords } from './migrations/sqlite/1732300003000-real-name-records';
import { RetentionIndexes1732300004000 as MysqlRetentionIndexes } from './migrations/mysql/1732300004000-retention-indexes';
import { RetentionIndexes1732300004000 as SqliteRetentionIndexes } from './migrations/sqlite/1732300004000-retention-indexes';
import { ApiKeys1732300010000 as MysqlApiKeys } from './migrations/mysql/1732300010000-api-keys';
import { ApiKeys1732300010000 as SqliteApiKeys } from './migrations/sqlite/1732300010000-api-keys';
import { Mfa1732300020000 as MysqlMfa } from './migrations/mysql/1732300020000-mfa';
import { Mfa1732300020000 as SqliteMfa } from './migrations/sqlite/1732300020000-mfa';
import { UserIdentities1732300030000 as MysqlUserIdentities } from './migrations/mysql/1732300030000-user-identities';
import { UserIdentities1732300030000 as SqliteUserIdentities } from './migrations/sqlite/1732300030000-user-identities';
import { RevocationMarkers1732300040000 as MysqlRevocationMarkers } from './migrations/mysql/1732300040000-revocation-markers';
import { RevocationMarkers1732300040000 as SqliteRevocationMarkers } from './migrations/sqlite/1732300040000-revocation-markers';
import { EventOutbox1732300060000 as MysqlEventOutbox } from './migrations/mysql/1732300060000-event-outbox';
import { EventOutbox1732300060000 as SqliteEventOutbox } from './migrations/sqlite/1732300060000-event-outbox';
import { Passkeys1732300061000 as MysqlPasskeys } from './migrations/mysql/1732300061000-passkeys';
import { Passkeys1732300061000 as SqlitePasskeys } from './migrations/sqlite/1732300061000-passkeys';
import { Webhooks1732300080000 as MysqlWebhooks } from './migrations/mysql/1732300080000-webhooks';
import { Webhooks1732300080000 as SqliteWebhooks } from './migrations/sqlite/1732300080000-webhooks';
import { UsernameSkeletonKeys1732300012000 as MysqlUsernameSkeletonKeys } from './migrations/mysql/1732300012000-username-skeleton-keys';
import { UsernameSkeletonKeys1732300012000 as SqliteUsernameSkeletonKeys } from './migrations/sqlite/1732300012000-username-skeleton-keys';
import { User } from '@/modules/users/user.entity';
import { UserIdentity } from '@/modules/federation/user-identity.entity';
import { RefreshToken, Session } from '@/modules/auth/sessions/session.entity';
import { RevocationMarker } from '@/modules/auth/sessions/revocation-marker.entity';
import { AuditEvent } from '@/modules/audit/audit-event.entity';
import { RealNameRecord } from '@/modules/real-name/real-name-record.entity';
import { ApiKey } from '@/modules/account/api-key.entity';
import { OutboxEvent } from '@/modules/events/outbox-event.entity';
import { MfaTotp, RecoveryCode } from '@/modules/mfa/mfa.entities';
import { Passkey } from '@/modules/mfa/webauthn/passkey.entity';
import { WebhookDelivery, WebhookEndpoint } from '@/modules/events/webhooks/webhook.entities';

export const ENTITIES = [User, Session, RefreshToken, AuditEvent, RealNameRecord, ApiKey, UserIdentity, RevocationMarker, OutboxEvent, MfaTotp, RecoveryCode, Passkey, WebhookEndpoint, WebhookDelivery];

/** Migrations are listed per driver, oldest first; each feature appends its own. */
export const MIGRATIONS = {
  sqlite: [SqliteInitial, SqliteRealNameRecords, SqliteRetentionIndexes, SqliteApiKeys, SqliteUsernameSkeletonKeys, SqliteMfa, SqliteUserIdentities, SqliteRevocationMarkers, SqliteEventOutbox, SqlitePasskeys, SqliteWebhooks],
  mysql: [MysqlInitial, MysqlRealNameRecords, MysqlRetentionIndexes, MysqlApiKeys, MysqlUsernameSkeletonKeys, MysqlMfa, MysqlUserIdentities, MysqlRevocationMarkers, MysqlEventOutbox, MysqlPasskeys, MysqlWebhooks],
};

/**
 * TypeORM logs every query over maxQueryExecutionTime with its parameters (emails, hashes) whatever
 * `logging` says; those queries fail with a 503 anyway, so nothing is logged from here.
 */
const quietLogger: TypeOrmLogger = {
  logQuery: () => undefined,
  logQueryError: () => undefined,
  logQuerySlow: () => undefined,
  logSchemaBuild: () => undefined,
  logMigration: () => undefined,
  log: () => undefined,
};

/**
 * Prepared statements TypeORM keeps per SQLite connection (its own FIFO; the embedded default has
 * one connection). The app issues a few dozen distinct statements; one costs a few KB in SQLite.
 */
export const SQLITE_STATEMENT_CACHE_SIZE = 100;

/** One source of truth for the app (TypeOrmModule) and the TypeORM CLI (ormconfig.ts). */
export function dataSourceOptions(config: Pick<AppConfig, 'database'>): DataSourceOptions {
  const { database } = config;
  const common = { entities: ENTITIES, synchronize: false, migrationsRun: false, logging: false } as const;
  if (database.driver === 'sqlite') {
    if (database.file !== ':memory:') mkdirSync(dirname(database.file), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      database: database.file,
      migrations: MIGRATIONS.sqlite,
      statementCacheSize: SQLITE_STATEMENT_CACHE_SIZE,
      // WAL lets readers proceed while a write commits; busy_timeout waits out a short lock instead of failing.
      prepareDatabase: (db: { pragma(statement: string): unknown }) => {
        db.pragma('journal_mode = WAL');
        db.pragma('busy_timeout = 5000');
        db.pragma('synchronous = NORMAL');
      },
    };
  }
  return {
    ...common,
    type: 'mysql',
    url: database.url,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    migrations: MIGRATIONS.mysql,
    poolSize: database.poolSize,
    // A database that is away fails a request within this bound (503), it never hangs it.
    connectTimeout: database.connectTimeoutMs,
    // ...and a database that accepts connections but stops answering fails the query within this bound (0: none).
    ...(database.queryTimeoutMs ? { enableQueryTimeout: true, maxQueryExecutionTime: database.queryTimeoutMs, logger: quietLogger } : {}),
    extra: { connectionLimit: database.poolSize, waitForConnections: true, queueLimit: 200, enableKeepAlive: true },
  };
}
