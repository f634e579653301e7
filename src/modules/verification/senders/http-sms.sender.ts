import type { DeliveryConfig } from '@/config/app-config';
import { readBoundedText } from '@/common/http/bounded-body';
import { DeliveryError, OutgoingMessage, SmsSender } from './message';

/** Fills {{phone}} {{code}} {{purpose}} {{text}}; each value is JSON-string-escaped, so none can break the body. */
export function renderTemplate(template: string, message: OutgoingMessage): string {
  const values: Record<string, string> = { phone: message.to, code: message.code ?? '', purpose: message.purpose, text: message.text };
  return template.replace(/\{\{(phone|code|purpose|text)\}\}/g, (_, name: string) => JSON.stringify(values[name]).slice(1, -1));
}

/** The configured headers, with a JSON content type only when the operator did not set one (in any case). */
export function requestHeaders(configured: Record<string, string>): Record<string, string> {
  const hasContentType = Object.keys(configured).some((name) => name.toLowerCase() === 'content-type');
  return hasContentType ? { ...configured } : { 'Content-Type': 'application/json', ...configured };
}

/**
 * Any SMS gateway with an HTTP API: URL, method, headers and a body template from configuration;
 * a 2xx answer is success. Bounded by SMS_TIMEOUT_MS, and its answer by MAX_VENDOR_ANSWER_BYTES.
 */
export class HttpSmsSender extends SmsSender {
  constructor(private readonly settings: NonNullable<DeliveryConfig['smsHttp']>) {
    super();
  }

  async send(message: OutgoingMessage): Promise<void> {
    const body = renderTemplate(this.settings.bodyTemplate, message);
    let response: Response;
    try {
      response = await fetch(this.settings.url, {
        method: this.settings.method,
        headers: requestHeaders(this.settings.headers),
        body: this.settings.method === 'GET' ? undefined : body,
        signal: AbortSignal.timeout(this.settings.timeoutMs),
        redirect: 'error',
      });
      // The answer is not needed, only drained (and never past the cap).
      await readBoundedText(response);
    } catch (error) {
      throw new DeliveryError('http', (error as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable');
    }
    if (!response.ok) throw new DeliveryError('http', `status ${response.status}`);
  }
}
