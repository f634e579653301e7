import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { AVATAR_URL, avatarFileName, smallAvatarName, storedFiles, uploadAvatar } from '../factories/avatars';
import { MIME, pngBomb, SVG_IMAGE, testImage, TestImageFormat } from '../factories/images';
import { signedInUser } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

/**
 * SECURITY.md › Files: "Avatars: magic bytes and a full decode, JPEG/PNG/WebP/GIF only (no SVG),
 * ≤ 5 MiB, ≤ 16.7 megapixels, rate limited; re-encoded, metadata stripped, stored under a random name;
 * served as image/* with nosniff." Every limit here is the default.
 */
describe('SECURITY: Files (avatars)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  describe('refused uploads leave no avatar', () => {
    // A user per test: refused uploads count against the hourly upload limit too.
    let auth: Record<string, string>;
    beforeEach(async () => {
      auth = (await signedInUser(t)).auth;
    });
    afterEach(async () => {
      const me = await t.http.get('/api/v1/users/me').set(auth).expect(200);
      expect(me.body.data.avatarUrl).toBeNull();
    });

    describe('Magic bytes and a full decode: JPEG, PNG, WebP and GIF only, no SVG', () => {
      it('judges the type by the bytes, not by the name or declared type', async () => {
        const user = await signedInUser(t);
        await uploadAvatar(t, user.auth, await testImage('png'), { filename: 'photo.jpg', contentType: 'application/octet-stream' }).expect(201);
      });

      it('refuses SVG, even named and declared as PNG', async () => {
        for (const contentType of ['image/svg+xml', 'image/png']) {
          const response = await uploadAvatar(t, auth, SVG_IMAGE, { filename: 'avatar.png', contentType }).expect(415);
          expect(response.body.error).toBe('AVATAR_UNSUPPORTED_TYPE');
        }
      });

      it('refuses a text file renamed .png', async () => {
        const response = await uploadAvatar(t, auth, Buffer.from('just some text, not an image at all\n'.repeat(20)), { filename: 'notes.png' }).expect(415);
        expect(response.body.error).toBe('AVATAR_UNSUPPORTED_TYPE');
      });

      it('refuses other real image formats (TIFF)', async () => {
        const tiff = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } }).tiff().toBuffer();
        const response = await uploadAvatar(t, auth, tiff, { filename: 'a.png' }).expect(415);
        expect(response.body.error).toBe('AVATAR_UNSUPPORTED_TYPE');
      });

      it.each<TestImageFormat>(['png', 'jpeg', 'webp', 'gif'])('refuses a truncated %s with 400', async (format) => {
        const whole = await testImage(format, 200, 200);
        const response = await uploadAvatar(t, auth, whole.subarray(0, Math.floor(whole.length / 2)), { contentType: MIME[format] }).expect(400);
        expect(response.body.error).toBe('AVATAR_IMAGE_INVALID');
      });

      it('refuses a PNG whose data is garbage after a valid signature', async () => {
        const garbage = Buffer.concat([(await testImage('png')).subarray(0, 8), Buffer.alloc(500, 0x41)]);
        const response = await uploadAvatar(t, auth, garbage).expect(400);
        expect(response.body.error).toBe('AVATAR_IMAGE_INVALID');
      });

    });

    describe('At most 5 MiB and 16.7 megapixels', () => {
      it('refuses a file over 5 MiB with 413', async () => {
        const big = Buffer.concat([await testImage('png'), Buffer.alloc(5 * 1024 * 1024 + 1 - (await testImage('png')).length)]);
        expect(big.length).toBe(5 * 1024 * 1024 + 1);
        const response = await uploadAvatar(t, auth, big).expect(413);
        expect(response.body.error).toBe('AVATAR_TOO_LARGE');
      });

      it('refuses a body declaring more than the limit before reading it', async () => {
        const server = t.app.getHttpServer();
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const { port } = server.address() as AddressInfo;
        // Declares 50 MiB but sends a few bytes: the answer must come without waiting for the rest.
        const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest({
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/api/v1/users/me/avatar',
            headers: { ...auth, 'Content-Type': 'multipart/form-data; boundary=xyz', 'Content-Length': String(50 * 1024 * 1024) },
          });
          req.on('response', (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => {
              resolve({ status: res.statusCode ?? 0, body });
              req.destroy();
            });
          });
          req.on('error', reject);
          req.write('--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n');
        }).finally(() => new Promise((resolve) => server.close(resolve)));
        expect(answer.status).toBe(413);
        expect(JSON.parse(answer.body).error).toBe('AVATAR_TOO_LARGE');
      });

      it('refuses a decompression bomb (a tiny PNG declaring 20000×20000 pixels) without decoding it', async () => {
        const bomb = pngBomb(20000, 20000);
        expect(bomb.length).toBeLessThan(2048);
        const started = Date.now();
        const response = await uploadAvatar(t, auth, bomb).expect(400);
        expect(response.body.error).toBe('AVATAR_TOO_MANY_PIXELS');
        expect(Date.now() - started).toBeLessThan(5000);
      });


      it('draws the pixel line at 16,777,216 (4096 × 4096), judged from the header before decoding', async () => {
        // Both are a header and four rows: one past the line is refused for its size, the other for its missing rows.
        const over = await uploadAvatar(t, auth, pngBomb(4096, 4097)).expect(400);
        expect(over.body.error).toBe('AVATAR_TOO_MANY_PIXELS');
        const atLine = await uploadAvatar(t, auth, pngBomb(4096, 4096)).expect(400);
        expect(atLine.body.error).toBe('AVATAR_IMAGE_INVALID');
      });
    });
  });

  describe('Rate limited', () => {
    it('allows 10 uploads per user per hour, then 429 with Retry-After until the hour has passed', async () => {
      const user = await signedInUser(t);
      const image = await testImage('jpeg', 64, 64);
      for (let i = 0; i < 10; i++) await uploadAvatar(t, user.auth, image, { contentType: 'image/jpeg' }).expect(201);
      const limited = await uploadAvatar(t, user.auth, image, { contentType: 'image/jpeg' }).expect(429);
      expect(limited.body.error).toBe('TOO_MANY_REQUESTS');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3000);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(3600);
      await uploadAvatar(t, (await signedInUser(t)).auth, image, { contentType: 'image/jpeg' }).expect(201);
      await t.passTime(3600_000 + 1000);
      await uploadAvatar(t, user.auth, image, { contentType: 'image/jpeg' }).expect(201);
    });
  });

  describe('Re-encoded, metadata stripped, stored under a random name, served as image/* with nosniff', () => {
    it.each<TestImageFormat>(['jpeg', 'png', 'webp', 'gif'])('re-encodes a %s into square, metadata-free WebPs at 256 and 64 px', async (format) => {
      const user = await signedInUser(t);
      const upload = await uploadAvatar(t, user.auth, await testImage(format, 120, 90), { filename: `me.${format}`, contentType: MIME[format] }).expect(201);
      expect(upload.body).toEqual({ code: 201, data: { avatarUrl: expect.stringMatching(AVATAR_URL) }, msg: 'Avatar updated' });
      const url: string = upload.body.data.avatarUrl;

      const me = await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
      expect(me.body.data.avatarUrl).toBe(url);
      const profile = await t.http.get(`/api/v1/users/${user.username}`).expect(200);
      expect(profile.body.data.avatarUrl).toBe(url);

      for (const [path, size] of [[url, 256], [url.replace(/\.webp$/, '-64.webp'), 64]] as const) {
        const served = await t.http.get(path).expect(200);
        expect(served.headers['content-type']).toBe('image/webp');
        expect(served.headers['x-content-type-options']).toBe('nosniff');
        expect(served.headers['cache-control']).toBe('public, max-age=31536000, immutable');
        const meta = await sharp(served.body as Buffer).metadata();
        expect(meta).toMatchObject({ format: 'webp', width: size, height: size });
        expect(meta.exif).toBeUndefined();
        expect(meta.icc).toBeUndefined();
      }
    });

    it('strips metadata: nothing of the uploaded file is served as-is', async () => {
      const user = await signedInUser(t);
      const original = await testImage('jpeg', 300, 300, { exifText: 'GPS-SECRET-LOCATION' });
      expect(original.includes('GPS-SECRET-LOCATION')).toBe(true);
      const upload = await uploadAvatar(t, user.auth, original, { filename: 'me.jpg', contentType: 'image/jpeg' }).expect(201);
      const served: Buffer = (await t.http.get(upload.body.data.avatarUrl).expect(200)).body;
      expect(served.includes('GPS-SECRET-LOCATION')).toBe(false);
      expect(served.equals(original)).toBe(false);
      const name = avatarFileName(upload.body.data.avatarUrl);
      for (const file of [name, smallAvatarName(name)]) expect(storedFiles(t)).toContain(file);
    });


    it('stores every upload under a fresh random name that carries nothing the user sent', async () => {
      const image = await testImage('png');
      const names: string[] = [];
      for (const user of [await signedInUser(t), await signedInUser(t)]) {
        for (let i = 0; i < 2; i++) {
          const url: string = (await uploadAvatar(t, user.auth, image, { filename: `${user.username}.png` }).expect(201)).body.data.avatarUrl;
          expect(url).toMatch(AVATAR_URL);
          for (const sent of [user.username, user.user.id, user.user.id.replace(/-/g, '')]) expect(avatarFileName(url)).not.toContain(sent);
          names.push(avatarFileName(url));
        }
      }
      // The same bytes four times, four unrelated names; and only those names are on disk.
      expect(new Set(names).size).toBe(4);
      const onDisk = storedFiles(t);
      for (const name of names.slice(-1)) expect(onDisk).toEqual(expect.arrayContaining([name, smallAvatarName(name)]));
      expect(onDisk.every((file) => /^[0-9a-f]{32}(-64)?\.webp$/.test(file))).toBe(true);
    });
  });

  describe('Served from the avatar folder only', () => {
    let valid: string;
    beforeAll(async () => {
      const user = await signedInUser(t);
      valid = avatarFileName((await uploadAvatar(t, user.auth, await testImage('png')).expect(201)).body.data.avatarUrl);
      writeFileSync(join(t.dataDir, 'secret.txt'), 'TOP-SECRET-CONTENT');
    });

    it('never serves a file outside the avatar folder', async () => {
      const attempts = [
        '/api/v1/avatars/..%2fsecret.txt',
        '/api/v1/avatars/..%2F..%2Fsecret.txt',
        '/api/v1/avatars/%2e%2e%2fsecret.txt',
        '/api/v1/avatars/%2e%2e%2f%2e%2e%2fkeys%2fjwt-private.pem',
        '/api/v1/avatars/..%2fkeys%2fjwt-private.pem',
        '/api/v1/avatars/..%5csecret.txt',
        '/api/v1/avatars/%252e%252e%252fsecret.txt',
        '/api/v1/avatars/../secret.txt',
        '/api/v1/avatars/../../etc/passwd',
        '/api/v1/avatars/%2Fetc%2Fpasswd',
        '/api/v1/avatars//etc/passwd',
        `/api/v1/avatars/${valid}%00.png`,
        `/api/v1/avatars/${valid.replace('.webp', '%00.webp')}`,
        `/api/v1/avatars/%00${valid}`,
        `/api/v1/avatars/${valid}/..%2f..%2fsecret.txt`,
        `/api/v1/avatars/${valid.toUpperCase()}`,
        '/api/v1/avatars/secret.txt',
        '/api/v1/avatars/%zz',
      ];
      for (const path of attempts) {
        const response = await t.http.get(path);
        expect([path, [400, 404].includes(response.status)]).toEqual([path, true]);
        expect(response.headers['content-type']).toContain('application/json');
        expect(response.text).not.toContain('TOP-SECRET-CONTENT');
        expect(response.text).not.toContain('PRIVATE KEY');
      }
      await t.http.get(`/api/v1/avatars/${valid}`).expect(200);
    });

  });
});
