import { HttpStatus } from '@nestjs/common';

/**
 * One catalog of stable error codes. Each module declares its own entries with defineErrors();
 * the global filter is the only place that turns them into the envelope, and the OpenAPI
 * document lists every registered code.
 */
export interface ErrorEntry {
  code: string;
  status: number;
  message: { en: string; 'zh-CN': string };
}

type EntryInput = Omit<ErrorEntry, 'code'>;

const registry = new Map<string, ErrorEntry>();

export function defineErrors<K extends string>(entries: Record<K, EntryInput>): Record<K, ErrorEntry> {
  const result = {} as Record<K, ErrorEntry>;
  for (const code of Object.keys(entries) as K[]) {
    if (registry.has(code)) throw new Error(`Error code ${code} is declared twice`);
    const entry = { code, ...entries[code] };
    registry.set(code, entry);
    result[code] = entry;
  }
  return result;
}

export function allErrors(): ErrorEntry[] {
  return [...registry.values()].sort((a, b) => a.status - b.status || a.code.localeCompare(b.code));
}

export interface FieldProblem {
  field: string;
  message: string;
}

export class AppException extends Error {
  constructor(
    readonly entry: ErrorEntry,
    readonly extra: { details?: FieldProblem[]; retryAfterSeconds?: number } = {},
  ) {
    super(entry.code);
  }
}

export const CommonErrors = defineErrors({
  VALIDATION_FAILED: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The request is not valid', 'zh-CN': '请求参数不合法' },
  },
  MALFORMED_JSON: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The request body is not valid JSON', 'zh-CN': '请求体不是合法的 JSON' },
  },
  UNAUTHENTICATED: {
    status: HttpStatus.UNAUTHORIZED,
    message: { en: 'Sign-in required or the token is not valid', 'zh-CN': '需要登录，或令牌无效' },
  },
  PAYLOAD_TOO_COMPLEX: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The request body has too many keys or is nested too deeply', 'zh-CN': '请求体的字段过多或嵌套过深' },
  },
  FORBIDDEN: {
    status: HttpStatus.FORBIDDEN,
    message: { en: 'You are not allowed to do this', 'zh-CN': '无权执行此操作' },
  },
  NOT_FOUND: {
    status: HttpStatus.NOT_FOUND,
    message: { en: 'Not found', 'zh-CN': '资源不存在' },
  },
  METHOD_NOT_ALLOWED: {
    status: HttpStatus.METHOD_NOT_ALLOWED,
    message: { en: 'Method not allowed', 'zh-CN': '不支持该请求方法' },
  },
  URI_TOO_LONG: {
    status: HttpStatus.URI_TOO_LONG,
    message: { en: 'The request URL is too long', 'zh-CN': '请求地址过长' },
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    message: { en: 'The request headers (or URL) are too large', 'zh-CN': '请求头或地址过大' },
  },
  MALFORMED_REQUEST: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The HTTP request is malformed', 'zh-CN': 'HTTP 请求格式错误' },
  },
  PAYLOAD_TOO_LARGE: {
    status: HttpStatus.PAYLOAD_TOO_LARGE,
    message: { en: 'The request body is too large', 'zh-CN': '请求体过大' },
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
    message: { en: 'Unsupported content type: send application/json', 'zh-CN': '不支持的内容类型，请使用 application/json' },
  },
  TOO_MANY_REQUESTS: {
    status: HttpStatus.TOO_MANY_REQUESTS,
    message: { en: 'Too many requests, try again later', 'zh-CN': '请求过于频繁，请稍后再试' },
  },
  INTERNAL_ERROR: {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    message: { en: 'Something went wrong on our side', 'zh-CN': '服务器内部错误' },
  },
  SERVICE_UNAVAILABLE: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    message: { en: 'The service is temporarily unavailable', 'zh-CN': '服务暂时不可用' },
  },
});
