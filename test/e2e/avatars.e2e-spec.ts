import { avatarFileName, smallAvatarName, storedFiles, uploadAvatar } from '../factories/avatars';
import { testImage } from '../factories/images';
import { DEFAULT_PASSWORD, signedInUser } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

describe('Avatars on local storage', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AVATAR_UPLOADS_PER_HOUR: '1000' });
  });
  afterAll(() => t.close());

  describe('accepted images', () => {
    it('accepts a file bigger than the 1 MiB JSON body limit (the upload has its own limit)', async () => {
      const user = await signedInUser(t);
      const image = await testImage('png', 200, 200);
      // Bytes after PNG's IEND chunk are ignored by decoders: a valid 1.5 MiB file.
      const padded = Buffer.concat([image, Buffer.alloc(1536 * 1024 - image.length)]);
      await uploadAvatar(t, user.auth, padded).expect(201);
    });

    it('accepts the smallest allowed size, 32×32', async () => {
      const user = await signedInUser(t);
      await uploadAvatar(t, user.auth, await testImage('png', 32, 32)).expect(201);
    });
  });

  describe('refused uploads', () => {
    let auth: Record<string, string>;
    beforeAll(async () => {
      auth = (await signedInUser(t)).auth;
    });
    afterAll(async () => {
      const me = await t.http.get('/api/v1/users/me').set(auth).expect(200);
      expect(me.body.data.avatarUrl).toBeNull();
    });

    it('refuses images under 32×32', async () => {
      for (const [width, height] of [[31, 31], [31, 400], [400, 16]]) {
        const response = await uploadAvatar(t, auth, await testImage('png', width, height)).expect(400);
        expect(response.body.error).toBe('AVATAR_TOO_SMALL');
      }
    });

    it('refuses a non-multipart request with 415', async () => {
      const json = await t.http.post('/api/v1/users/me/avatar').set(auth).send({ file: 'aGVsbG8=' }).expect(415);
      expect(json.body.error).toBe('AVATAR_MULTIPART_REQUIRED');
      const empty = await t.http.post('/api/v1/users/me/avatar').set(auth).expect(415);
      expect(empty.body.error).toBe('AVATAR_MULTIPART_REQUIRED');
      const raw = await t.http.post('/api/v1/users/me/avatar').set(auth).set('Content-Type', 'image/png').send(await testImage('png')).expect(415);
      expect(raw.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('refuses a file in another field, an empty file and a broken multipart body with 400', async () => {
      const wrongField = await uploadAvatar(t, auth, await testImage('png'), { field: 'avatar' }).expect(400);
      expect(wrongField.body.error).toBe('AVATAR_FILE_REQUIRED');
      const emptyFile = await uploadAvatar(t, auth, Buffer.alloc(0)).expect(400);
      expect(emptyFile.body.error).toBe('AVATAR_FILE_REQUIRED');
      const noFile = await t.http.post('/api/v1/users/me/avatar').set(auth).field('note', 'hello').expect(400);
      expect(noFile.body.error).toBe('AVATAR_FILE_REQUIRED');
      const noBoundary = await t.http.post('/api/v1/users/me/avatar').set(auth).set('Content-Type', 'multipart/form-data').send('garbage').expect(400);
      expect(noBoundary.body.error).toBe('AVATAR_UPLOAD_MALFORMED');
      const cutShort = await t.http
        .post('/api/v1/users/me/avatar')
        .set(auth)
        .set('Content-Type', 'multipart/form-data; boundary=xyz')
        .send('--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG')
        .expect(400);
      expect(cutShort.body.error).toBe('AVATAR_UPLOAD_MALFORMED');
    });

    it('needs a signed-in caller', async () => {
      const response = await uploadAvatar(t, {}, await testImage('png')).expect(401);
      expect(response.body.error).toBe('UNAUTHENTICATED');
    });

    it('leaves multipart bodies refused (415) on every other route', async () => {
      const response = await t.http.post('/api/v1/auth/login').field('identifier', 'someone').field('password', 'x').expect(415);
      expect(response.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('files', () => {
    it('deletes the old files when the avatar is replaced', async () => {
      const user = await signedInUser(t);
      const first = avatarFileName((await uploadAvatar(t, user.auth, await testImage('png')).expect(201)).body.data.avatarUrl);
      expect(storedFiles(t)).toEqual(expect.arrayContaining([first, smallAvatarName(first)]));
      const second = avatarFileName((await uploadAvatar(t, user.auth, await testImage('gif', 80, 80), { contentType: 'image/gif' }).expect(201)).body.data.avatarUrl);
      expect(second).not.toBe(first);
      expect(storedFiles(t)).toEqual(expect.arrayContaining([second, smallAvatarName(second)]));
      expect(storedFiles(t)).not.toContain(first);
      expect(storedFiles(t)).not.toContain(smallAvatarName(first));
      const gone = await t.http.get(`/api/v1/avatars/${first}`).expect(404);
      expect(gone.body.error).toBe('AVATAR_NOT_FOUND');
      await t.http.get(`/api/v1/avatars/${smallAvatarName(first)}`).expect(404);
    });

    it('deletes the files when the account is deleted', async () => {
      const user = await signedInUser(t);
      const name = avatarFileName((await uploadAvatar(t, user.auth, await testImage('webp'), { contentType: 'image/webp' }).expect(201)).body.data.avatarUrl);
      expect(storedFiles(t)).toContain(name);
      await t.http.delete('/api/v1/users/me').set(user.auth).send({ password: DEFAULT_PASSWORD }).expect(200);
      expect(storedFiles(t)).not.toContain(name);
      expect(storedFiles(t)).not.toContain(smallAvatarName(name));
      await t.http.get(`/api/v1/avatars/${name}`).expect(404);
    });

    it('refuses a second upload while one is still being processed for the same user', async () => {
      const user = await signedInUser(t);
      await t.kv.set(`avatar-lock:${user.user.id}`, '1', 60_000);
      const response = await uploadAvatar(t, user.auth, await testImage('png')).expect(429);
      expect(response.headers['retry-after']).toBeDefined();
      await t.kv.delete(`avatar-lock:${user.user.id}`);
      await uploadAvatar(t, user.auth, await testImage('png')).expect(201);
    });
  });

  describe('the serving route', () => {
    it('answers 404 for a well-formed name that does not exist', async () => {
      const response = await t.http.get(`/api/v1/avatars/${'0'.repeat(32)}.webp`).expect(404);
      expect(response.body.error).toBe('AVATAR_NOT_FOUND');
    });
  });
});

describe('Avatar limits are configurable', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AVATAR_MAX_BYTES: '20000', AVATAR_MAX_PIXELS: '10000', AVATAR_UPLOADS_PER_HOUR: '3' });
  });
  afterAll(() => t.close());

  it('AVATAR_MAX_BYTES: a file one byte over it gets 413, one of exactly that size passes', async () => {
    const user = await signedInUser(t);
    const small = await testImage('png', 64, 64);
    expect(small.length).toBeLessThan(20000);
    await uploadAvatar(t, user.auth, Buffer.concat([small, Buffer.alloc(20000 - small.length)])).expect(201);
    const response = await uploadAvatar(t, user.auth, Buffer.concat([small, Buffer.alloc(20001 - small.length)])).expect(413);
    expect(response.body.error).toBe('AVATAR_TOO_LARGE');
  });

  it('AVATAR_MAX_PIXELS: 100×101 pixels is one row too many for 10000', async () => {
    const user = await signedInUser(t);
    await uploadAvatar(t, user.auth, await testImage('webp', 100, 100), { contentType: 'image/webp' }).expect(201);
    const response = await uploadAvatar(t, user.auth, await testImage('webp', 100, 101), { contentType: 'image/webp' }).expect(400);
    expect(response.body.error).toBe('AVATAR_TOO_MANY_PIXELS');
  });

  it('AVATAR_UPLOADS_PER_HOUR: the next upload gets 429 with Retry-After until the hour has passed', async () => {
    const user = await signedInUser(t);
    const image = await testImage('jpeg', 64, 64);
    for (let i = 0; i < 3; i++) await uploadAvatar(t, user.auth, image).expect(201);
    const limited = await uploadAvatar(t, user.auth, image).expect(429);
    expect(limited.body.error).toBe('TOO_MANY_REQUESTS');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3000);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(3600);
    // Another user is not affected.
    await uploadAvatar(t, (await signedInUser(t)).auth, image).expect(201);
    await t.passTime(3600_000 + 1000);
    await uploadAvatar(t, user.auth, image).expect(201);
  });
});
