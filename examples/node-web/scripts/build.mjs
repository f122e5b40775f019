// The build step: compiles and bundles src/server.ts (with src/app.ts, src/format.ts and
// src/config.json) into dist/server.js with the devDependency esbuild, and renders
// dist/index.html from src/config.json. Packages stay external: the built server loads express
// and pretty-bytes from node_modules, so `npm run build` needs the dev dependencies while the
// built app (dist/) needs only the runtime ones. Deterministic: no timestamps.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8'));
if (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535) {
  console.error(`build: invalid port in src/config.json: ${JSON.stringify(config.port)}`);
  process.exit(1);
}

fs.rmSync(dist, { recursive: true, force: true });
await esbuild.build({
  entryPoints: [path.join(src, 'server.ts')],
  outfile: path.join(dist, 'server.js'),
  bundle: true,
  platform: 'node',
  target: 'node18',
  packages: 'external',
  banner: { js: '// built from src/ by scripts/build.mjs (esbuild)' },
  logLevel: 'warning',
});

const entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => entities[c]);
const items = (config.notes || []).map((note) => `    <li>${escape(note)}</li>`).join('\n');
const html = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>${escape(config.greeting)}</title></head>
  <body>
  <h1>${escape(config.greeting)}</h1>
  <ul>
${items}
  </ul>
  </body>
</html>
`;
fs.writeFileSync(path.join(dist, 'index.html'), html);
console.log('build: wrote dist/server.js and dist/index.html');
