import { createTestApp, TestApp } from '../helpers/test-app';
import { signIn } from './users';

/** The first admin, as the operator would set it in ADMIN_USERNAME / ADMIN_EMAIL / ADMIN_PASSWORD. */
export const FIRST_ADMIN = { username: 'root_admin', email: 'root.admin@example.com', password: 'granite harbour 19' };

export const firstAdminEnv = () => ({ ADMIN_USERNAME: FIRST_ADMIN.username, ADMIN_EMAIL: FIRST_ADMIN.email, ADMIN_PASSWORD: FIRST_ADMIN.password });

/** Signs the first admin in (the app must have been created with firstAdminEnv()). */
export async function signedInAdmin(t: TestApp) {
  const tokens = await signIn(t, FIRST_ADMIN.username, FIRST_ADMIN.password);
  return { ...tokens, auth: { Authorization: `Bearer ${tokens.accessToken}` } };
}

export type SignedInAdmin = Awaited<ReturnType<typeof signedInAdmin>>;

/** A test app started with the first admin (plus `env`), and that admin signed in. */
export async function createAppWithAdmin(env: Record<string, string> = {}): Promise<{ t: TestApp; admin: SignedInAdmin }> {
  const t = await createTestApp({ ...firstAdminEnv(), ...env });
  return { t, admin: await signedInAdmin(t) };
}

/** PATCH /admin/users/{id} as the given admin; answers the raw response. */
export function adminUpdate(t: TestApp, auth: Record<string, string>, userId: string, changes: Record<string, unknown>) {
  return t.http.patch(`/api/v1/admin/users/${userId}`).set(auth).set('User-Agent', 'AdminConsole/1.0').send(changes);
}

export interface AuditEventView {
  id: string;
  type: string;
  outcome: string;
  userId: string | null;
  actorId: string | null;
  ip: string | null;
  userAgent: string | null;
  detail: Record<string, unknown> | null;
  createdAt: string;
}

/** Every audit event matching the filter, through GET /admin/audit-events (all pages). */
export async function auditEvents(t: TestApp, auth: Record<string, string>, filter: Record<string, string> = {}): Promise<AuditEventView[]> {
  const all: AuditEventView[] = [];
  for (let page = 1; ; page++) {
    const response = await t.http.get('/api/v1/admin/audit-events').set(auth).query({ ...filter, page, pageSize: 100 }).expect(200);
    all.push(...response.body.data.items);
    if (all.length >= response.body.data.total || !response.body.data.items.length) return all;
  }
}
