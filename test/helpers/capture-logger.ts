/**
 * Keeps every line the service logs, so a test can read them: a pino destination (createApp's
 * `logDestination`), so the lines are the real ones, after the redaction paths, as JSON.
 */
export class CaptureLogger {
  readonly lines: { level: string; message: unknown; context?: string; raw: string }[] = [];

  /** pino writes one JSON line per call. */
  write(raw: string): void {
    const { level, time: _time, pid: _pid, hostname: _hostname, context, msg, ...fields } = JSON.parse(raw) as Record<string, unknown>;
    // A line with a message is that message; a line of fields only (an access line in JSON) is those fields.
    const message = msg !== undefined ? msg : fields;
    this.lines.push({ level: String(level), message, context: typeof context === 'string' ? context : undefined, raw });
  }

  /** Everything logged, as one searchable text (each line as written). */
  text(): string {
    return this.lines.map((line) => line.raw).join('\n');
  }

  access(): Record<string, unknown>[] {
    return this.lines.filter((line) => line.context === 'Access' && typeof line.message === 'object').map((line) => line.message as Record<string, unknown>);
  }
}
