import { allErrors } from '@/common/errors';
import { createTestApp, TestApp } from '../helpers/test-app';

interface Operation {
  operationId?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; example?: unknown; schema?: { example?: unknown } }[];
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  security?: unknown[];
}

describe('The OpenAPI document', () => {
  let t: TestApp;
  let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { description?: string }>; securitySchemes: Record<string, { description?: string }> }; info: { description: string } };
  beforeAll(async () => {
    t = await createTestApp();
    doc = (await t.http.get('/docs-json').expect(200)).body;
  });
  afterAll(() => t.close());

  const operations = () => Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));

  it('is served with Swagger UI at /docs', async () => {
    const ui = await t.http.get('/docs').expect(200);
    expect(ui.text).toContain('swagger-ui');
  });

  it('gives every operation a unique operationId and a tag', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(operations().every(({ op }) => op.tags?.length)).toBe(true);
  });

  it('documents every success as the envelope and every error with the error envelope', () => {
    for (const { path, method, op } of operations()) {
      const statuses = Object.keys(op.responses);
      // A success is a 2xx, or a redirect for routes a browser follows (the federation callback).
      expect(statuses.some((s) => s.startsWith('2') || s === '302')).toBe(true);
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        const schema = JSON.stringify(op.responses[status].content?.['application/json']?.schema);
        expect([path, method, status, schema]).toEqual([path, method, status, expect.stringContaining('ErrorEnvelopeDto')]);
      }
    }
  });

  it('lists every error code of the catalog on the error envelope, not above the first operation', () => {
    const catalog = doc.components.schemas.ErrorEnvelopeDto.description ?? '';
    for (const entry of allErrors()) expect(catalog).toContain(`| \`${entry.code}\` | ${entry.status} |`);
    // Swagger UI renders the description above every operation: no table there.
    expect(doc.info.description).not.toContain('|---|');
    expect(doc.info.description).not.toContain('`USERNAME_TAKEN`');
  });

  it('requires no header the server does not need (Accept-Language is optional everywhere)', () => {
    const required = operations().flatMap(({ op }) => (op.parameters ?? []).filter((p) => p.in === 'header' && p.required).map((p) => `${op.operationId}: ${p.name}`));
    expect(required).toEqual([]);
    // The scan sees header parameters at all: /metrics documents its optional Authorization header.
    expect(operations().some(({ op }) => (op.parameters ?? []).some((p) => p.in === 'header'))).toBe(true);
  });

  it("gives every success envelope's data exactly its schema (no shared base whose data is any object)", () => {
    const loose: string[] = [];
    let envelopes = 0;
    for (const { op } of operations()) {
      for (const [status, response] of Object.entries(op.responses).filter(([s]) => s.startsWith('2'))) {
        const schema = response.content?.['application/json']?.schema as { allOf?: unknown; properties?: Record<string, { $ref?: string; type?: string; additionalProperties?: unknown; oneOf?: { $ref?: string }[] }> } | undefined;
        if (!schema?.properties?.data) continue;
        envelopes += 1;
        const data = schema.properties.data;
        // A sign-in answer is one of two models (oneOf, told apart by mfaRequired): exact when each is a $ref.
        const oneOfModels = Array.isArray(data.oneOf) && data.oneOf.length > 0 && data.oneOf.every((member) => !!member.$ref);
        const exact = !!data.$ref || oneOfModels || data.type === 'array' || (data.type === 'object' && data.additionalProperties === false);
        if (schema.allOf || !exact || JSON.stringify(schema).includes('"additionalProperties":true')) loose.push(`${op.operationId} ${status}`);
      }
    }
    expect(envelopes).toBeGreaterThan(20);
    expect(loose).toEqual([]);
  });

  it('pre-fills no optional query parameter in "Try it out" (no example on optional filters)', () => {
    const prefilled = operations().flatMap(({ op }) =>
      (op.parameters ?? []).filter((p) => p.in === 'query' && !p.required && (p.example !== undefined || p.schema?.example !== undefined)).map((p) => `${op.operationId}: ${p.name}`),
    );
    expect(prefilled).toEqual([]);
    const q = doc.paths['/api/v1/admin/users'].get.parameters!.find((p) => p.name === 'q') as { description?: string };
    expect(q.description).toContain('`ali`');
  });

  it('says how to authenticate: one scheme per request, bearer deciding when both are sent', () => {
    expect(doc.info.description).toContain('## Authentication');
    expect(doc.paths['/api/v1/users/me'].get.security).toEqual([{ bearer: [] }, { 'personal-api-key': [] }]);
    expect(doc.components.securitySchemes.bearer.description).toContain('not both');
    expect(doc.components.securitySchemes['personal-api-key'].description).toContain('not both');
  });

  it('declares bearer and API-key security, and marks signed-in routes', () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearer', 'internal-api-key', 'personal-api-key', 'refresh-cookie']);
    // REFRESH_TOKEN_COOKIE: refresh takes the cookie or nothing (a body token); sign-out the bearer token, with or without the cookie.
    expect(doc.components.securitySchemes['refresh-cookie']).toMatchObject({ type: 'apiKey', in: 'cookie', name: '__Secure-uc_refresh' });
    expect(doc.paths['/api/v1/auth/refresh'].post.security).toEqual(expect.arrayContaining([{}, { 'refresh-cookie': [] }]));
    expect(doc.paths['/api/v1/auth/session'].delete.security).toEqual(expect.arrayContaining([{ bearer: [] }, { bearer: [], 'refresh-cookie': [] }]));
    expect(doc.paths['/api/v1/users/me'].get.security).toEqual(expect.arrayContaining([{ bearer: [] }]));
    expect(doc.paths['/api/v1/users'].post.security).toBeUndefined();
  });
});
