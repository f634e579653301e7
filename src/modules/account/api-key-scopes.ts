/**
 * What a personal API key may do. A route opts in with @AllowApiKey(scope); every other route refuses
 * keys (403 API_KEY_SCOPE), so a route added later is closed to keys until it says otherwise.
 */
export const API_KEY_SCOPES = ['profile:read', 'profile:write'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
