import { createTestApp, TestApp } from '../helpers/test-app';

interface Operation {
  operationId: string;
  requestBody?: { content: Record<string, { schema: { $ref?: string; properties?: Record<string, { type: string; format?: string }>; required?: string[] } }> };
  responses: Record<string, { content?: Record<string, unknown>; description: string }>;
  security?: unknown[];
}

describe('The OpenAPI document for avatars and real names', () => {
  let t: TestApp;
  let paths: Record<string, Record<string, Operation>>;
  let schemas: Record<string, { properties: Record<string, { description?: string; example?: unknown }> }>;
  beforeAll(async () => {
    t = await createTestApp();
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    paths = doc.paths;
    schemas = doc.components.schemas;
  });
  afterAll(() => t.close());

  it('documents the avatar upload as multipart/form-data with a binary file', () => {
    const upload = paths['/api/v1/users/me/avatar'].post;
    expect(upload.operationId).toBe('uploadAvatar');
    const schema = upload.requestBody!.content['multipart/form-data'].schema;
    expect(schema.required).toEqual(['file']);
    expect(schema.properties!.file).toMatchObject({ type: 'string', format: 'binary' });
    expect(Object.keys(upload.responses).sort()).toEqual(['201', '400', '401', '403', '413', '414', '415', '429', '500', '503']);
    expect(upload.responses['403'].description).toContain('API_KEY_SCOPE');
    expect(upload.responses['415'].description).toContain('AVATAR_UNSUPPORTED_TYPE');
    expect(upload.responses['400'].description).toContain('AVATAR_TOO_MANY_PIXELS');
    expect(upload.security).toEqual(expect.arrayContaining([{ bearer: [] }]));
  });

  it('documents the public serving route with image bytes, the S3 redirect and 404', () => {
    const serve = paths['/api/v1/avatars/{fileName}'].get;
    expect(serve.operationId).toBe('getAvatar');
    expect(serve.responses['200'].content).toHaveProperty(['image/webp']);
    expect(serve.responses).toHaveProperty('302');
    expect(serve.responses['404'].description).toContain('AVATAR_NOT_FOUND');
    expect(serve.security).toBeUndefined();
  });

  it('documents both real-name routes, their masked record and every error', () => {
    const route = paths['/api/v1/users/me/real-name'];
    expect(route.post.operationId).toBe('submitRealName');
    expect(route.get.operationId).toBe('getRealName');
    expect(route.post.requestBody!.content['application/json'].schema.$ref).toBe('#/components/schemas/SubmitRealNameDto');
    for (const code of ['REAL_NAME_INVALID', 'ID_CARD_INVALID']) expect(route.post.responses['400'].description).toContain(code);
    for (const code of ['ID_CARD_ALREADY_BOUND', 'REAL_NAME_ALREADY_VERIFIED']) expect(route.post.responses['409'].description).toContain(code);
    expect(route.post.responses['502'].description).toContain('REAL_NAME_PROVIDER_UNAVAILABLE');
    expect(route.get.responses['403'].description).toContain('RECENT_AUTH_REQUIRED');
    expect(route.get.responses['404'].description).toContain('REAL_NAME_NOT_SUBMITTED');
    for (const dto of ['RealNameRecordDto', 'SubmitRealNameDto', 'AvatarResponseDto']) {
      for (const [field, property] of Object.entries(schemas[dto].properties)) {
        expect([dto, field, !!property.description, property.example !== undefined]).toEqual([dto, field, true, true]);
      }
    }
    expect(schemas.RealNameRecordDto.properties.idCardNumber.example).toBe('110***********002X');
  });
});
