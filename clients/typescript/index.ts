import createClient, { type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema';

export type { components, paths } from './schema';

/**
 * A typed client for the User Centre API: every path, parameter, body and envelope comes from
 * the generated `schema.d.ts`, so a call that does not match the API does not compile.
 *
 *   const api = createUserCentreClient('https://accounts.example.com');
 *   const { data, error } = await api.POST('/api/v1/auth/login', { body: { identifier, password } });
 */
export function createUserCentreClient(baseUrl: string, options: Omit<ClientOptions, 'baseUrl'> = {}) {
  return createClient<paths>({ baseUrl, ...options });
}

export type UserCentreClient = ReturnType<typeof createUserCentreClient>;
