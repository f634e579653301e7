import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { generateKeyPairSync } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import { AppException } from './common/errors';
import { AppConfig, ConfigError, KEY_ID_PATTERN, loadConfig } from './config/app-config';
import { dataSourceOptions } from './database/data-source-options';
import { AdminAccountsService, fieldOf, problemOf } from './modules/admin/admin-accounts.service';
import { keyThumbprint, MIN_RSA_BITS, publicJwk } from './modules/auth/keys/signing-keys.service';
import { RetentionService } from './modules/retention/retention.service';

/**
 * Operator commands, with the same settings as the server (environment variables):
 *   node dist/cli.js migrate
 *   node dist/cli.js create-admin --username <name> --email <address> --password <password>
 *   node dist/cli.js purge
 *   node dist/cli.js generate-signing-key [--kid <kid>]
 * Each prints one line (generate-signing-key: the key, several lines); the exit code is 0 on success,
 * 1 on failure, 2 on a usage error.
 */
export interface CliResult {
  exitCode: number;
  line: string;
  /** Printed as it is, after the line (a PEM key is several lines). */
  text?: string;
}

const USAGE = 'Usage: cli migrate | cli create-admin --username <name> --email <address> --password <password> | cli purge | cli generate-signing-key [--kid <kid>]';

class UsageError extends Error {}

function parseFlags(args: string[], allowed: readonly string[], optional: readonly string[] = []): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(args[i]);
    if (!match || ![...allowed, ...optional].includes(match[1])) throw new UsageError(`Unknown argument "${args[i]}". ${USAGE}`);
    const value = match[2] ?? args[++i];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value. ${USAGE}`);
    flags[match[1]] = value;
  }
  for (const name of allowed) if (!flags[name]) throw new UsageError(`--${name} is required. ${USAGE}`);
  return flags;
}

async function migrate(config: AppConfig): Promise<CliResult> {
  // A migration may legitimately run long (an index on a big table): no query bound here.
  const source = new DataSource(dataSourceOptions({ database: { ...config.database, queryTimeoutMs: 0 } }));
  await source.initialize();
  try {
    const applied = await source.runMigrations();
    const line = applied.length ? `Applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}` : 'The schema is up to date: no pending migrations';
    return { exitCode: 0, line };
  } finally {
    await source.destroy();
  }
}

/** The same application as the server (migrations at start-up included), without HTTP. */
async function withApplication(config: AppConfig, work: (context: INestApplicationContext) => Promise<CliResult>): Promise<CliResult> {
  // A one-off command sends no webhooks: the servers' workers do.
  const quiet = { ...config, webhooks: { ...config.webhooks, workerEnabled: false } };
  const context = await NestFactory.createApplicationContext(AppModule.forRoot(quiet), { logger: false, abortOnError: false });
  try {
    return await work(context);
  } finally {
    await context.close();
  }
}

function createAdmin(config: AppConfig, args: string[]): Promise<CliResult> {
  const flags = parseFlags(args, ['username', 'email', 'password']);
  return withApplication(config, async (context) => {
    try {
      const admin = await context.get(AdminAccountsService).createAdmin({ username: flags.username, email: flags.email, password: flags.password }, 'cli');
      return { exitCode: 0, line: `Created admin "${admin.username}" (id ${admin.id})` };
    } catch (error) {
      if (error instanceof AppException) return { exitCode: 1, line: `create-admin failed: --${fieldOf(error)}: ${problemOf(error)}` };
      throw error;
    }
  });
}

/** What the server's retention job does, once, now (whatever RETENTION_INTERVAL_MINUTES says). */
function purge(config: AppConfig): Promise<CliResult> {
  return withApplication(config, async (context) => {
    const { sessions, refreshTokens, auditEvents, events } = await context.get(RetentionService).purge();
    return { exitCode: 0, line: `Purged ${sessions} session(s), ${refreshTokens} refresh token(s), ${auditEvents} audit event(s) and ${events} outbox event(s)` };
  });
}

/**
 * A new RS256 key for a rotation (README, "Rotating the signing key"): the private PEM, its public JWK,
 * and the two setting entries to paste. Reads no settings and touches nothing; the kid defaults to
 * the key's RFC 7638 thumbprint, like the single-key setting's.
 */
function generateSigningKey(args: string[]): CliResult {
  const { kid: given } = parseFlags(args, [], ['kid']);
  if (given !== undefined && !KEY_ID_PATTERN.test(given)) throw new UsageError('--kid must be 1-64 letters, digits, ".", "_" or "-"');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: MIN_RSA_BITS });
  const kid = given ?? keyThumbprint(publicKey);
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const text = [
    '# Private key (PEM): keep it secret',
    privatePem.trimEnd(),
    '# Public JWK',
    JSON.stringify(publicJwk(publicKey, kid)),
    '# JWT_NEXT_PUBLIC_KEY (step 1: publish it before it signs)',
    JSON.stringify({ kid, publicKey: publicPem }),
    '# Entry for JWT_PRIVATE_KEYS (step 2: put it first)',
    JSON.stringify({ kid, privateKey: privatePem }),
  ].join('\n');
  return { exitCode: 0, line: `Generated RS256 signing key "${kid}" (${MIN_RSA_BITS} bits)`, text: `${text}\n` };
}

export async function runCli(argv: string[], env: Record<string, string | undefined> = process.env): Promise<CliResult> {
  const [command, ...args] = argv;
  try {
    if (command === 'migrate' && args.length === 0) return await migrate(loadConfig(env));
    if (command === 'create-admin') return await createAdmin(loadConfig(env), args);
    if (command === 'purge' && args.length === 0) return await purge(loadConfig(env));
    if (command === 'generate-signing-key') return generateSigningKey(args);
    return { exitCode: 2, line: USAGE };
  } catch (error) {
    if (error instanceof UsageError) return { exitCode: 2, line: error.message };
    if (error instanceof ConfigError) return { exitCode: 1, line: error.message };
    return { exitCode: 1, line: `${command} failed: ${(error as Error)?.message ?? String(error)}` };
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then(({ exitCode, line, text }) => {
    (exitCode === 0 ? process.stdout : process.stderr).write(`${line.replace(/\s*\n\s*/g, ' ')}\n`);
    if (text) process.stdout.write(text);
    process.exit(exitCode);
  });
}
