import { allErrors } from '@/common/errors';
import { createTestApp, TestApp } from '../helpers/test-app';

interface Operation {
  operationId?: string;
  tags?: string[];
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  security?: unknown[];
}

describe('The OpenAPI document', () => {
  let t: TestApp;
  let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> }; info: { description: string } };
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
      expect(statuses.some((s) => s.startsWith('2'))).toBe(true);
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        const schema = JSON.stringify(op.responses[status].content?.['application/json']?.schema);
        expect([path, method, status, schema]).toEqual([path, method, status, expect.stringContaining('ErrorEnvelopeDto')]);
      }
    }
  });

  it('lists every error code of the catalog', () => {
    for (const entry of allErrors()) expect(doc.info.description).toContain(`\`${entry.code}\``);
  });

  it('declares bearer and API-key security, and marks signed-in routes', () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearer', 'internal-api-key', 'personal-api-key']);
    expect(doc.paths['/api/v1/users/me'].get.security).toEqual(expect.arrayContaining([{ bearer: [] }]));
    expect(doc.paths['/api/v1/users'].post.security).toBeUndefined();
  });
});
