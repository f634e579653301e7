import { CallHandler, ExecutionContext, HttpStatus, Injectable, NestInterceptor, RequestMethod } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import type { FastifyRequest } from 'fastify';
import { map, Observable } from 'rxjs';
import { pickLanguage, successMessages, SuccessMessageKey } from '../i18n';
import { RAW_RESPONSE, SUCCESS_MESSAGE } from './decorators';

export interface SuccessEnvelope<T> {
  code: number;
  data: T | Record<string, never>;
  msg: string;
}

/** Wraps every JSON success in `{code, data, msg}`; `code` always equals the HTTP status. */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = context.getHandler();
    if (this.reflector.get<boolean>(RAW_RESPONSE, handler)) return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const status =
      this.reflector.get<number>(HTTP_CODE_METADATA, handler) ??
      (request.method === RequestMethod[RequestMethod.POST] ? HttpStatus.CREATED : HttpStatus.OK);
    const key = this.reflector.get<SuccessMessageKey>(SUCCESS_MESSAGE, handler) ?? 'ok';
    const msg = successMessages[key][pickLanguage(request.headers['accept-language'])];
    return next.handle().pipe(map((data): SuccessEnvelope<unknown> => ({ code: status, data: data ?? {}, msg })));
  }
}
