import { createHmac, randomUUID } from 'node:crypto';
import type { DeliveryConfig } from '@/config/app-config';
import { readBoundedText } from '@/common/http/bounded-body';
import { DeliveryError, OutgoingMessage, SmsSender } from './message';

/** Aliyun's percent-encoding for signatures: RFC 3986, with space as %20, `*` as %2A and `~` kept. */
export function aliyunEncode(value: string): string {
  return encodeURIComponent(value).replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~').replace(/[!'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The RPC signature (SignatureMethod HMAC-SHA1, SignatureVersion 1.0) over the sorted query. */
export function aliyunSignature(params: Record<string, string>, secret: string, method = 'GET'): string {
  const canonical = Object.keys(params)
    .sort()
    .map((key) => `${aliyunEncode(key)}=${aliyunEncode(params[key])}`)
    .join('&');
  const stringToSign = `${method}&${aliyunEncode('/')}&${aliyunEncode(canonical)}`;
  return createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
}

/** Aliyun Dysmsapi SendSms (version 2017-05-25), RPC style over GET with a signed query. */
export class AliyunSmsSender extends SmsSender {
  constructor(
    private readonly settings: NonNullable<DeliveryConfig['aliyun']>,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  async send(message: OutgoingMessage): Promise<void> {
    // Aliyun sends only pre-approved templates, and ours is a code template: notices go by mail only.
    if (message.code === null) return;
    const params: Record<string, string> = {
      Action: 'SendSms',
      Version: '2017-05-25',
      Format: 'JSON',
      RegionId: this.settings.region,
      // Mainland numbers go without the country code; others as country code + number (Aliyun's international format).
      PhoneNumbers: message.to.startsWith('+86') ? message.to.slice(3) : message.to.replace(/^\+/, ''),
      SignName: this.settings.signName,
      TemplateCode: this.settings.templateCode,
      TemplateParam: JSON.stringify({ code: message.code }),
      AccessKeyId: this.settings.accessKeyId,
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      SignatureNonce: randomUUID(),
      Timestamp: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    const signature = aliyunSignature(params, this.settings.accessKeySecret);
    const query = Object.entries({ Signature: signature, ...params })
      .map(([key, value]) => `${aliyunEncode(key)}=${aliyunEncode(value)}`)
      .join('&');
    let answer: { Code?: string };
    let status: number;
    try {
      const response = await fetch(`${this.settings.endpoint}?${query}`, { signal: AbortSignal.timeout(this.settings.timeoutMs), redirect: 'error' });
      status = response.status;
      answer = parseAnswer(await readBoundedText(response));
    } catch (error) {
      throw new DeliveryError('aliyun', (error as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable');
    }
    if (status !== 200 || answer.Code !== 'OK') throw new DeliveryError('aliyun', answer.Code ?? `status ${status}`);
  }
}

/** Aliyun's JSON answer; anything else (not JSON, or past the size cap) has no Code and fails. */
function parseAnswer(text: string | null): { Code?: string } {
  try {
    const parsed: unknown = text === null ? null : JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as { Code?: string }) : {};
  } catch {
    return {};
  }
}
