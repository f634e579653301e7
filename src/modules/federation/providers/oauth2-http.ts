import { ProviderFailure } from './identity-provider';

/** Seconds each request to a provider's endpoints may take. */
export const PROVIDER_TIMEOUT_MS = 10_000;
/** Provider answers are small JSON documents; anything bigger is refused unread. */
const MAX_ANSWER_BYTES = 256 * 1024;

/**
 * One JSON request to a provider endpoint: bounded in time and size, no redirects followed, and any
 * non-2xx or non-JSON answer a ProviderFailure (never the answer's text: it may echo a secret).
 */
export async function providerJson(url: string, init: RequestInit = {}): Promise<Record<string, unknown> | unknown[]> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS) });
  } catch (error) {
    throw new ProviderFailure(`${new URL(url).pathname} unreachable: ${(error as Error).name}`);
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_ANSWER_BYTES) throw new ProviderFailure(`${new URL(url).pathname} answered ${length} bytes`);
  const text = await response.text();
  if (text.length > MAX_ANSWER_BYTES) throw new ProviderFailure(`${new URL(url).pathname} answered too much`);
  if (!response.ok) throw new ProviderFailure(`${new URL(url).pathname} answered HTTP ${response.status}`);
  try {
    return JSON.parse(text) as Record<string, unknown> | unknown[];
  } catch {
    throw new ProviderFailure(`${new URL(url).pathname} answered no JSON`);
  }
}

export const stringOr = (value: unknown, fallback: string | null = null): string | null => (typeof value === 'string' && value.length ? value : fallback);
