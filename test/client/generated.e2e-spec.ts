import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOpenApiDocument } from '@/app.setup';
import { createTestApp, TestApp } from '../helpers/test-app';

const root = join(__dirname, '..', '..');

describe('The committed TypeScript client', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('matches the OpenAPI document the server builds now (else run `npm run generate:client`)', async () => {
    // Rendered by the same script `npm run generate:client` uses, in its own node process.
    const dir = mkdtempSync(join(tmpdir(), 'uc-client-'));
    writeFileSync(join(dir, 'document.json'), JSON.stringify(buildOpenApiDocument(t.app)));
    execFileSync(process.execPath, [join(root, 'scripts/client-render.js'), join(dir, 'document.json'), dir]);
    const json = readFileSync(join(dir, 'openapi.json'), 'utf8');
    const types = readFileSync(join(dir, 'schema.d.ts'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
    const stale = 'clients/typescript is stale: run `npm run generate:client` and commit the result';
    expect([stale, readFileSync(join(root, 'clients/typescript/openapi.json'), 'utf8') === json]).toEqual([stale, true]);
    expect([stale, readFileSync(join(root, 'clients/typescript/schema.d.ts'), 'utf8') === types]).toEqual([stale, true]);
  });

  it('type-checks the whole project, the client journey included (tsc --noEmit)', () => {
    let output = '';
    try {
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  }, 120_000);
});
