import { randomUUID } from 'node:crypto';
import { signUp, signUpBody, solvedCaptcha } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

describe('Sign-up (POST /users)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const register = async (body: Record<string, unknown>) => t.http.post('/api/v1/users').send({ ...body, ...(await solvedCaptcha(t)) });

  it('creates a normal_user and answers 201 with the own view (no secrets)', async () => {
    const body = signUpBody({ displayName: 'Alice', website: 'https://alice.example.com', github: 'alice' });
    const response = await register(body);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ code: 201, msg: 'Account created' });
    expect(response.body.data).toMatchObject({ username: body.username, email: body.email, role: 'normal_user', status: 'active', emailVerified: false, displayName: 'Alice' });
    expect(response.body.data.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(response.body)).not.toMatch(/password|hash|\$2[aby]\$/i);
  });

  it('refuses a captcha id that is not a UUID', async () => {
    const response = await t.http.get('/api/v1/verification/captcha/not-a-uuid').expect(400);
    expect(response.body.error).toBe('VALIDATION_FAILED');
  });

  it('serves the captcha as a PNG image, not wrapped', async () => {
    const response = await t.http.get(`/api/v1/verification/captcha/${randomUUID()}`).responseType('blob').expect(200);
    expect(response.headers['content-type']).toBe('image/png');
    expect((response.body as Buffer).subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('answers 409 EMAIL_TAKEN for an email in any case', async () => {
    const first = await signUp(t);
    const response = await register(signUpBody({ email: first.email.toUpperCase() }));
    expect(response.status).toBe(409);
    expect(response.body.error).toBe('EMAIL_TAKEN');
  });

  it('validates profile fields', async () => {
    const response = await register(signUpBody({ website: 'javascript:alert(1)' }));
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'website' })]));
  });
});

describe('Sign-up switches', () => {
  it('answers 403 REGISTRATION_DISABLED when registration is off', async () => {
    const t = await createTestApp({ REGISTRATION_ENABLED: 'false' });
    try {
      const response = await t.http.post('/api/v1/users').send({ ...signUpBody(), ...(await solvedCaptcha(t)) }).expect(403);
      expect(response.body.error).toBe('REGISTRATION_DISABLED');
    } finally {
      await t.close();
    }
  });

  it('needs the registration key when one is set, and no captcha when that is off', async () => {
    const t = await createTestApp({ REGISTRATION_KEY: 'team-invite-2026', REGISTRATION_CAPTCHA: 'false' });
    try {
      const wrong = await t.http.post('/api/v1/users').send({ ...signUpBody(), registrationKey: 'guess' }).expect(403);
      expect(wrong.body.error).toBe('REGISTRATION_KEY_INVALID');
      const missing = await t.http.post('/api/v1/users').send(signUpBody()).expect(403);
      expect(missing.body.error).toBe('REGISTRATION_KEY_INVALID');
      await t.http.post('/api/v1/users').send({ ...signUpBody(), registrationKey: 'team-invite-2026' }).expect(201);
    } finally {
      await t.close();
    }
  });
});
