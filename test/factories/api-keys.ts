import type { TestApp } from '../helpers/test-app';

export interface CreatedApiKey {
  id: string;
  name: string;
  scopes: string[];
  expiresAt: string;
  apiKey: string;
}

/** POST /users/me/api-keys with the given bearer auth; answers the raw response. */
export function createApiKey(t: TestApp, auth: Record<string, string>, body: { name?: string; scopes?: string[]; expiresInDays?: number } = {}) {
  return t.http
    .post('/api/v1/users/me/api-keys')
    .set(auth)
    .send({ name: body.name ?? 'test key', scopes: body.scopes ?? ['profile:read', 'profile:write'], ...(body.expiresInDays === undefined ? {} : { expiresInDays: body.expiresInDays }) });
}

/** A new key (201 expected), with its secret. */
export async function newApiKey(t: TestApp, auth: Record<string, string>, body: Parameters<typeof createApiKey>[2] = {}): Promise<CreatedApiKey> {
  return (await createApiKey(t, auth, body).expect(201)).body.data as CreatedApiKey;
}

export const withKey = (key: { apiKey: string }) => ({ 'X-API-Key': key.apiKey });
