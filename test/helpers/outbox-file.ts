import { existsSync, readFileSync, statSync } from 'node:fs';

export interface OutboxEntry {
  channel: 'sms' | 'email';
  to: string;
  purpose: string;
  code: string | null;
  text: string;
}

/**
 * Every message the log transport wrote to `file`, oldest first. A server appends one JSON line per
 * message while tests read the file, so a read can catch the last line half written: only lines that
 * end in a newline are complete, and the unterminated tail is left for the next read.
 */
export function readOutboxFile(file: string): OutboxEntry[] {
  if (!existsSync(file) || !statSync(file).isFile()) return [];
  const text = readFileSync(file, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').filter(Boolean).map((line) => JSON.parse(line) as OutboxEntry);
}

/** The newest code in `file` sent to `to` for `purpose` (any purpose when none is named). */
export function newestCodeIn(file: string, to: string, purpose?: string): string | undefined {
  return readOutboxFile(file).filter((entry) => entry.to === to && (!purpose || entry.purpose === purpose)).pop()?.code ?? undefined;
}
