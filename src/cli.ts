import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import { AppException } from './common/errors';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';
import { dataSourceOptions } from './database/data-source-options';
import { AdminAccountsService, fieldOf, problemOf } from './modules/admin/admin-accounts.service';
import { RetentionService } from './modules/retention/retention.service';

/**
 * Operator commands, with the same settings as the server (environment variables):
 *   node dist/cli.js migrate
 *   node dist/cli.js create-admin --username <name> --email <address> --password <password>
 *   node dist/cli.js purge
 * Each prints one line; the exit code is 0 on success, 1 on failure, 2 on a usage error.
 */
export interface CliResult {
  exitCode: number;
  line: string;
}

const USAGE = 'Usage: cli migrate | cli create-admin --username <name> --email <address> --password <password> | cli purge';

class UsageError extends Error {}

function parseFlags(args: string[], allowed: readonly string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(args[i]);
    if (!match || !allowed.includes(match[1])) throw new UsageError(`Unknown argument "${args[i]}". ${USAGE}`);
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
  const context = await NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: false, abortOnError: false });
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
    const { sessions, refreshTokens, auditEvents } = await context.get(RetentionService).purge();
    return { exitCode: 0, line: `Purged ${sessions} session(s), ${refreshTokens} refresh token(s) and ${auditEvents} audit event(s)` };
  });
}

export async function runCli(argv: string[], env: Record<string, string | undefined> = process.env): Promise<CliResult> {
  const [command, ...args] = argv;
  try {
    if (command === 'migrate' && args.length === 0) return await migrate(loadConfig(env));
    if (command === 'create-admin') return await createAdmin(loadConfig(env), args);
    if (command === 'purge' && args.length === 0) return await purge(loadConfig(env));
    return { exitCode: 2, line: USAGE };
  } catch (error) {
    if (error instanceof UsageError) return { exitCode: 2, line: error.message };
    if (error instanceof ConfigError) return { exitCode: 1, line: error.message };
    return { exitCode: 1, line: `${command} failed: ${(error as Error)?.message ?? String(error)}` };
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then(({ exitCode, line }) => {
    (exitCode === 0 ? process.stdout : process.stderr).write(`${line.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(exitCode);
  });
}
