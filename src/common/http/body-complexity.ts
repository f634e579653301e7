import type { FastifyInstance } from 'fastify';
import { AppException, CommonErrors } from '../errors';

/** Contract §13: a JSON body with more keys than this, in all, is refused before validation. */
export const MAX_BODY_KEYS = 1000;
/** Contract §13: ... and so is one nested deeper than this (the top-level object or array is level 1). */
export const MAX_BODY_DEPTH = 32;

/**
 * True when a parsed JSON value has more than `maxKeys` members in all (object keys and array
 * elements both count: an array of 100,000 items costs validation as much as an object with as
 * many keys) or nests containers deeper than `maxDepth`.
 *
 * This runs on every JSON request, so it is one iterative pass with an explicit stack (no
 * recursion, so 100,000 levels cannot overflow the call stack) that stops at the first limit
 * crossed: it never visits more than `maxKeys + 1` members, whatever the body's size, and a
 * typical request body of a dozen fields costs a dozen steps. Scalars are never pushed.
 */
export function isTooComplex(value: unknown, maxKeys = MAX_BODY_KEYS, maxDepth = MAX_BODY_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  const containers: object[] = [value];
  const depths: number[] = [1];
  let members = 0;
  while (containers.length) {
    const container = containers.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return true;
    if (Array.isArray(container)) {
      members += container.length;
      if (members > maxKeys) return true;
      for (let i = 0; i < container.length; i++) {
        const child: unknown = container[i];
        if (child !== null && typeof child === 'object') {
          containers.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      // for..in without building a keys array: JSON.parse gives plain objects with own keys only.
      for (const key in container) {
        if (++members > maxKeys) return true;
        const child: unknown = (container as Record<string, unknown>)[key];
        if (child !== null && typeof child === 'object') {
          containers.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

/**
 * Replaces Fastify's JSON parser with the same parser (same proto/constructor-poisoning refusal,
 * same body limit) followed by the complexity check, so an over-complex body is refused before
 * any hook, guard, class-transformer or class-validator spends time on it.
 */
export function registerBoundedJsonParser(fastify: FastifyInstance): void {
  const { onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig as { onProtoPoisoning?: 'error'; onConstructorPoisoning?: 'error' };
  const parse = fastify.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (error, value) => {
      if (error) return done(error, undefined);
      if (isTooComplex(value)) return done(new AppException(CommonErrors.PAYLOAD_TOO_COMPLEX), undefined);
      done(null, value);
    });
  });
}
