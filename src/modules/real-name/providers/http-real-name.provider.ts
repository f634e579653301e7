import { Logger } from '@nestjs/common';
import type { RealNameConfig } from '@/config/app-config';
import { AppException } from '@/common/errors';
import { readBoundedText } from '@/common/http/bounded-body';
import type { RealNameStatus } from '../real-name-record.entity';
import { RealNameErrors } from '../real-name.errors';
import { IdentityClaim, RealNameProvider } from './real-name-provider';

const STATUSES: readonly string[] = ['verified', 'rejected', 'pending'];

/**
 * A third-party identity check over HTTP: POSTs `{"realName", "idCardNumber"}` as JSON to
 * REAL_NAME_HTTP_URL with the REAL_NAME_HTTP_HEADERS (an API key, say) and expects 2xx JSON
 * `{"status": "verified" | "rejected" | "pending"}` or `{"match": true | false}`. A timeout, a
 * non-2xx answer or any other body is a provider failure (502, nothing stored): a wrong guess
 * either way would be worse than asking the user to try again. A gateway in front of a vendor
 * API (Aliyun, Tencent Cloud, ...) maps that vendor's answer to this shape.
 */
export class HttpRealNameProvider extends RealNameProvider {
  readonly name = 'http';
  private readonly logger = new Logger('RealNameProvider');

  constructor(private readonly config: NonNullable<RealNameConfig['http']>) {
    super();
  }

  async verify(claim: IdentityClaim): Promise<RealNameStatus> {
    let response: Response;
    try {
      response = await fetch(this.config.url, {
        method: 'POST',
        headers: { ...this.config.headers, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ realName: claim.realName, idCardNumber: claim.idCardNumber }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (error) {
      // Never the claim itself: only what went wrong.
      throw this.failure(`no answer (${(error as Error)?.name ?? 'error'})`);
    }
    const text = await readBoundedText(response).catch(() => '');
    if (!response.ok) throw this.failure(`HTTP ${response.status}`);
    if (text === null) throw this.failure('an answer over the size limit');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw this.failure('a body that is not JSON');
    }
    const answer = body as { status?: unknown; match?: unknown } | null;
    if (typeof answer?.status === 'string' && STATUSES.includes(answer.status)) return answer.status as RealNameStatus;
    if (typeof answer?.match === 'boolean') return answer.match ? 'verified' : 'rejected';
    throw this.failure('an answer without a known status');
  }

  private failure(reason: string): AppException {
    this.logger.warn(`Identity check failed: ${reason}`);
    return new AppException(RealNameErrors.REAL_NAME_PROVIDER_UNAVAILABLE);
  }
}
