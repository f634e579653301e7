import type { DataSource, Logger as TypeOrmLogger } from 'typeorm';

/**
 * Records every SQL statement a data source sends, through its logger (which TypeORM asks for every
 * query even with logging off), until `stop()` puts the original logger back: `statements` holds the
 * SQL text, `calls` the text with its parameters (what a spec can send again to measure it).
 */
export function countStatements(db: DataSource): { statements: string[]; calls: { query: string; parameters: unknown[] | undefined }[]; stop(): void } {
  const statements: string[] = [];
  const calls: { query: string; parameters: unknown[] | undefined }[] = [];
  const logger = db.logger;
  const counting: TypeOrmLogger = Object.create(logger);
  counting.logQuery = (query, parameters, runner) => {
    statements.push(query);
    calls.push({ query, parameters });
    return logger.logQuery(query, parameters, runner);
  };
  Object.assign(db, { logger: counting });
  return { statements, calls, stop: () => Object.assign(db, { logger }) };
}
