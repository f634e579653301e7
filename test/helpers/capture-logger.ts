import { LoggerService } from '@nestjs/common';

/** A logger that keeps every line, so a test can read what the service logged. */
export class CaptureLogger implements LoggerService {
  readonly lines: { level: string; message: unknown; context?: string }[] = [];

  private keep(level: string, message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    this.lines.push({ level, message, context });
  }

  log(message: unknown, ...rest: unknown[]) { this.keep('log', message, rest); }
  error(message: unknown, ...rest: unknown[]) { this.keep('error', message, rest); }
  warn(message: unknown, ...rest: unknown[]) { this.keep('warn', message, rest); }
  debug(message: unknown, ...rest: unknown[]) { this.keep('debug', message, rest); }
  verbose(message: unknown, ...rest: unknown[]) { this.keep('verbose', message, rest); }
  fatal(message: unknown, ...rest: unknown[]) { this.keep('fatal', message, rest); }

  /** Everything logged, as one searchable text. */
  text(): string {
    return this.lines.map((line) => JSON.stringify(line)).join('\n');
  }

  access(): Record<string, unknown>[] {
    return this.lines.filter((line) => line.context === 'Access' && typeof line.message === 'object').map((line) => line.message as Record<string, unknown>);
  }
}
