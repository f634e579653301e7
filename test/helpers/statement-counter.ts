import type { DataSource, Logger as TypeOrmLogger } from 'typeorm';

/**
 * Records every SQL statement a data source sends, through its logger (which TypeORM asks for every
 * query even with logging off), until `stop()` puts the original logger back.
 */
export function countStatements(db: DataSource): { statements: string[]; stop(): void } {
  const statements: string[] = [];
  const logger = db.logger;
  const counting: TypeOrmLogger = Object.create(logger);
  counting.logQuery = (query, parameters, runner) => {
    statements.push(query);
    return logger.logQuery(query, parameters, runner);
  };
  Object.assign(db, { logger: counting });
  return { statements, stop: () => Object.assign(db, { logger }) };
}
