import { request as httpRequest, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress } from './target-guard';

/** At most this much of an answer is read; the rest is cut off (the status is all that counts). */
export const MAX_ANSWER_BYTES = 64 * 1024;

export interface SendOutcome {
  /** 2xx within the timeout. */
  ok: boolean;
  statusCode: number | null;
  /** Why it failed, in a few words (never the answer's body). */
  error: string | null;
}

/**
 * One POST over node:http(s): never follows a redirect (a 3xx is a failure), connects to the address
 * the target guard checked (a pinned lookup), gives up after `timeoutMs` for the whole exchange, and
 * reads at most 64 KiB of the answer.
 */
export function sendWebhook(url: URL, pinned: ResolvedAddress, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: SendOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const lookup: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [pinned]);
      else callback(null, pinned.address, pinned.family);
    };
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      {
        method: 'POST',
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup,
        agent: false,
      },
      (answer: IncomingMessage) => {
        const statusCode = answer.statusCode ?? 0;
        let read = 0;
        const done = () => {
          const ok = statusCode >= 200 && statusCode < 300;
          finish({ ok, statusCode, error: ok ? null : statusCode >= 300 && statusCode < 400 ? `redirect ${statusCode} not followed` : `HTTP ${statusCode}` });
          request.destroy();
        };
        answer.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read >= MAX_ANSWER_BYTES) done();
        });
        answer.on('end', done);
        answer.on('error', done);
        answer.on('aborted', done);
      },
    );
    const timer = setTimeout(() => {
      finish({ ok: false, statusCode: null, error: `no answer within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => finish({ ok: false, statusCode: null, error: `connection failed: ${error.code ?? error.message}`.slice(0, 200) }));
    request.end(body);
  });
}
