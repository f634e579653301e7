import fc from 'fast-check';
import { firstAdminEnv, signedInAdmin } from '../factories/admin';
import { signedInUser } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

/**
 * A property-based fuzz of every operation in the OpenAPI document: generated bodies, query
 * strings, path parameters and headers (wrong types, huge strings, deep nesting, nulls,
 * prototype-pollution keys, invalid UTF-8, wrong content types). The property: never a 5xx,
 * always the envelope, never a stack trace or SQL text. Seeded and reproducible: FUZZ_SEED and
 * FUZZ_RUNS (runs per operation) pick the run; `npm run fuzz` runs longer.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const RUNS = Number(process.env.FUZZ_RUNS ?? 25);

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  $ref?: string;
  allOf?: Schema[];
  enum?: unknown[];
}
interface Operation {
  operationId: string;
  parameters?: { name: string; in: 'path' | 'query' | 'header'; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

const nasty = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\u200b', '../../etc/passwd', '%2e%2e%2f', "' OR 1=1 --", '<script>', '${jndi:x}', '{{7*7}}', 'a\r\nX-Injected: 1', '13800138000', 'a@b.c', '0b6f1c9e-2f7a-4c1e-9a8b-3d2e1f0a9b8c'),
  fc.nat({ max: 200_000 }).map((n) => 'x'.repeat(n)),
  fc.array(fc.integer(), { maxLength: 5 }),
  fc.constant({ __proto__: { admin: true } }),
  fc.nat({ max: 2000 }).map((depth) => {
    let value: unknown = 'deep';
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
  }),
);

function resolve(schema: Schema | undefined, components: Record<string, Schema>): Schema | undefined {
  if (!schema) return undefined;
  if (schema.$ref) return resolve(components[schema.$ref.split('/').pop()!], components);
  if (schema.allOf) return schema.allOf.map((part) => resolve(part, components)).reduce((merged, part) => ({ ...merged, ...part, properties: { ...merged?.properties, ...part?.properties } }), {} as Schema);
  return schema;
}

/** Bodies shaped like the schema (so validation gets past the first field) with hostile values mixed in. */
function bodyArbitrary(schema: Schema | undefined): fc.Arbitrary<unknown> {
  const fields = Object.keys(schema?.properties ?? {});
  const shaped = fc.record(Object.fromEntries(fields.map((field) => [field, nasty])), { requiredKeys: [] });
  const withExtra = fc.tuple(shaped, fc.constantFrom('__proto__', 'constructor', 'role', 'id', 'status', 'emailVerified', 'zzz'), nasty).map(([body, key, value]) => {
    const copy = JSON.parse(JSON.stringify(body ?? {}));
    Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
    return copy;
  });
  return fc.oneof(shaped, withExtra, nasty);
}

type RawBody = { kind: 'json'; value: unknown } | { kind: 'raw'; contentType: string; bytes: Buffer };

function rawBodyArbitrary(schema: Schema | undefined): fc.Arbitrary<RawBody> {
  return fc.oneof(
    { weight: 6, arbitrary: bodyArbitrary(schema).map((value) => ({ kind: 'json' as const, value })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom('application/json', 'application/json; charset=latin1', 'text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'image/png', ''),
          fc.oneof(fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)), fc.constant(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), fc.constant(Buffer.from('{"a":'))),
        )
        .map(([contentType, bytes]) => ({ kind: 'raw' as const, contentType, bytes })),
    },
  );
}

const pathValue = fc.oneof(
  fc.uuid(),
  fc.string({ minLength: 1, maxLength: 30 }),
  fc.constantFrom('..', '%2e%2e%2f..%2fetc%2fpasswd', '%00', 'me', 'admin', '😀', 'a'.repeat(3000), '%ff%fe'),
);

describe('Route fuzz: every OpenAPI operation', () => {
  let t: TestApp;
  let operations: { method: string; path: string; op: Operation }[];
  let components: Record<string, Schema>;
  let bearer: string;

  beforeAll(async () => {
    // Every operation signs in afresh, more often than one address may sign in per minute.
    t = await createTestApp({ ...firstAdminEnv(), LOGIN_CAPTCHA_AFTER: '1000', LOGIN_LOCK_AFTER: '1000', LOGIN_MAX_FAILURES_PER_HOUR: '100000', LOGIN_PER_IP_PER_MINUTE: '100000' });
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    components = doc.components.schemas;
    operations = Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ method, path, op })),
    );
  });
  afterAll(() => t.close());

  it('covers a real list of operations', () => {
    expect(operations.length).toBeGreaterThan(10);
  });

  it('never answers 5xx, always the envelope, never internals', async () => {
    for (const { method, path, op } of operations) {
      // A fresh session per operation (fuzzing DELETE /auth/session must not blind the rest); admin
      // routes get an admin's token so the fuzz reaches their validation, not only the 403.
      bearer = path.includes('/admin/') ? (await signedInAdmin(t)).accessToken : (await signedInUser(t)).accessToken;
      const bodySchema = resolve(op.requestBody?.content?.['application/json']?.schema, components);
      const queryNames = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const request = fc.record({
        pathParams: fc.array(pathValue, { minLength: 4, maxLength: 4 }),
        query: fc.dictionary(fc.constantFrom(...queryNames, 'extra', '__proto__', 'page[x]'), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('-1', '0', '1e9', 'NaN', 'true', 'a'.repeat(5000)))),
        body: rawBodyArbitrary(bodySchema),
        authorization: fc.constantFrom<string | null>(null, 'valid', 'Bearer garbage', 'Basic Zm9vOmJhcg==', 'Bearer '),
        apiKey: fc.constantFrom<string | null>(null, 'ucp_nope', 'x'.repeat(300)),
        language: fc.constantFrom('en', 'zh-CN', '*', 'xx;q=abc', ''),
      });
      await fc.assert(
        fc.asyncProperty(request, async (input) => {
          let index = 0;
          const url = path.replace(/\{[^}]+\}/g, () => encodeURIComponent(input.pathParams[index++]).replace(/%25/g, '%'));
          let call = (t.http as unknown as Record<string, (u: string) => import('supertest').Test>)[method](url).query(input.query as Record<string, string>);
          if (input.authorization) call = call.set('Authorization', input.authorization === 'valid' ? `Bearer ${bearer}` : input.authorization);
          if (input.apiKey) call = call.set('X-API-Key', input.apiKey);
          if (input.language) call = call.set('Accept-Language', input.language);
          if (!['get', 'head'].includes(method)) {
            call = input.body.kind === 'json' ? call.set('Content-Type', 'application/json').send(JSON.stringify(input.body.value)) : input.body.contentType ? call.set('Content-Type', input.body.contentType).send(input.body.bytes) : call.send(input.body.bytes);
          }
          const response = await call;
          const where = `${method.toUpperCase()} ${url.slice(0, 120)} → ${response.status}`;
          expect([where, response.status < 500]).toEqual([where, true]);
          const text = response.text ?? '';
          expect([where, /at .+\.(ts|js):\d+|QueryFailedError|SQLITE_|\bER_[A-Z_]+|node_modules|\bSELECT\b.+\bFROM\b/.test(text)]).toEqual([where, false]);
          const type = String(response.headers['content-type'] ?? '');
          // Every error is the JSON envelope: a plain-text or HTML error body fails the property.
          if (response.status >= 400) expect([where, type]).toEqual([where, expect.stringContaining('application/json')]);
          // Contract §9: the ALTCHA challenge is served as the widget reads it, without the envelope (its errors keep it).
          // Not wrapped by design: the ALTCHA challenge (the widget reads it as it is) and the export file (the document itself).
          const unwrapped = method === 'get' && ['/api/v1/verification/challenge', '/api/v1/users/me/export'].includes(path) && response.status === 200;
          if (type.includes('application/json') && !unwrapped) {
            expect([where, response.body.code]).toEqual([where, response.status]);
            if (response.status >= 400) expect([where, response.body.error]).toEqual([where, expect.stringMatching(/^[A-Z][A-Z0-9_]+$/)]);
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    }
  }, 300_000);
});
