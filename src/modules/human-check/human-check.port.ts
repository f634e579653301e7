import type { ClientInfo } from '@/common/http/decorators';

/** Longer than any base64 ALTCHA payload we issue (~400 characters); anything bigger is refused unread. */
export const MAX_ALTCHA_PAYLOAD = 2048;
/** Tokens of Turnstile, hCaptcha and reCAPTCHA are at most a few kB; longer ones are refused unsent. */
export const MAX_PROVIDER_TOKEN = 4096;

/** What a request may carry for the human check; each kind reads its own fields. */
export interface HumanCheckAnswer {
  captchaId?: string;
  captchaText?: string;
  altcha?: string;
  captchaToken?: string;
}

/** Whether the request carries any human-check field at all (sign-in lets such a request past the no-captcha bound, to be checked). */
export function offersHumanCheck(answer: HumanCheckAnswer): boolean {
  return answer.captchaId !== undefined || answer.captchaText !== undefined || answer.altcha !== undefined || answer.captchaToken !== undefined;
}

/** `missing`: the request carries nothing for this kind; `failed`: it does, and it is wrong, used or expired. */
export type HumanCheckOutcome = 'passed' | 'failed' | 'missing';

/**
 * One kind of human check (image captcha, proof of work, external provider). `verify` spends what
 * the answer names — a captcha id, a solution, a token — whatever the outcome, so nothing can be
 * tried twice.
 */
export interface HumanCheck {
  verify(answer: HumanCheckAnswer, client: ClientInfo): Promise<HumanCheckOutcome>;
}
