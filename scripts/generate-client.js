#!/usr/bin/env node
// `npm run generate:client`: writes clients/typescript/openapi.json (the OpenAPI document of the
// built server) and clients/typescript/schema.d.ts (types generated from it by openapi-typescript).
// clients/typescript/index.ts, hand-written, wraps openapi-fetch with those types.
const { execSync } = require('node:child_process');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..');
execSync('node scripts/build-if-needed.js', { cwd: root, stdio: 'inherit' });

const { renderClient } = require('./client-render');

(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'uc-openapi-'));
  const { createApp, buildOpenApiDocument } = require(join(root, 'dist', 'app.setup'));
  const { loadConfig } = require(join(root, 'dist', 'config', 'app-config'));
  const app = await createApp(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
  try {
    const { json, types } = await renderClient(buildOpenApiDocument(app));
    writeFileSync(join(root, 'clients', 'typescript', 'openapi.json'), json);
    writeFileSync(join(root, 'clients', 'typescript', 'schema.d.ts'), types);
    process.stdout.write('wrote clients/typescript/openapi.json and schema.d.ts\n');
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
})().catch((error) => {
  process.stderr.write(`generate:client failed: ${error.message}\n`);
  process.exit(1);
});
