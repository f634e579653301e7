// Swagger UI in a real browser (Debian's Chromium through playwright-core): authorize with a real
// token, execute GET /users/me, see 200 and the user's name; reload and execute again (the
// authorization persists). Without Chromium this is skipped with a notice, except in CI, where it fails.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { signedInUser } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const available = existsSync(CHROMIUM);
if (!available && !inCi) process.stdout.write(`NOTE: Swagger UI browser test SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium)\n`);
const describeBrowser = available || inCi ? describe : describe.skip;
const artifacts = join(__dirname, '..', '..', 'test-artifacts');

describeBrowser('Swagger UI in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let baseUrl: string;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = await t.app.getUrl();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function executeGetMe(page: Page): Promise<void> {
    const op = page.locator('#operations-Users-getMe');
    await op.waitFor();
    if (!(await op.locator('.opblock-body').isVisible())) await op.locator('.opblock-summary').click();
    const tryOut = op.locator('button.try-out__btn');
    if ((await tryOut.innerText()).includes('Try it out')) await tryOut.click();
    await op.locator('button.execute').click();
    await op.locator('.live-responses-table tbody tr.response .response-col_status').first().waitFor();
  }

  it('authorizes with a real token, executes GET /users/me, and keeps the authorization across a reload', async () => {
    const user = await signedInUser(t, { displayName: 'Browser Bob' });
    const page = await browser.newPage();
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') blocked.push(message.text());
    });
    await page.goto(`${baseUrl}/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();

    await page.getByRole('button', { name: /Authorize/ }).first().click();
    const dialog = page.locator('.dialog-ux');
    const bearerBlock = dialog.locator('.auth-container').filter({ hasText: 'bearer' }).first();
    await bearerBlock.locator('input').fill(user.accessToken);
    await bearerBlock.locator('button.authorize').click();
    await bearerBlock.getByText('Authorized').waitFor();
    await dialog.locator('button.btn-done').first().click();

    await executeGetMe(page);
    const op = page.locator('#operations-Users-getMe');
    await expect(op.locator('.live-responses-table tbody tr.response .response-col_status').first().innerText()).resolves.toContain('200');
    await expect(op.locator('.live-responses-table tbody tr.response .response-col_description').first().innerText()).resolves.toContain('Browser Bob');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'swagger-ui-get-me.png'), fullPage: false });

    await page.reload();
    await page.locator('.swagger-ui .info .title').waitFor();
    await executeGetMe(page);
    const again = page.locator('#operations-Users-getMe');
    await expect(again.locator('.live-responses-table tbody tr.response .response-col_status').first().innerText()).resolves.toContain('200');
    await expect(again.locator('.live-responses-table tbody tr.response .response-col_description').first().innerText()).resolves.toContain(user.username);
    await page.screenshot({ path: join(artifacts, 'swagger-ui-after-reload.png') });
    expect(blocked.filter((text) => /Content Security Policy|Refused to/i.test(text))).toEqual([]);
    await page.close();
  }, 60000);
});
