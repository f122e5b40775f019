'use strict';

// The build step: writes dist/ from src/ and renders dist/index.html from src/config.json.
// It uses the devDependency escape-html, so `npm run build` needs dev dependencies while the
// built app (dist/) needs only the runtime dependency pretty-bytes. Deterministic: no timestamps.

const fs = require('fs');
const path = require('path');
const escapeHtml = require('escape-html');

const root = path.join(__dirname, '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8'));
if (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535) {
  console.error(`build: invalid port in src/config.json: ${JSON.stringify(config.port)}`);
  process.exit(1);
}

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });

const names = fs.readdirSync(src).sort();
for (const name of names) {
  const text = fs.readFileSync(path.join(src, name), 'utf8');
  const out = name.endsWith('.js') ? `// built from src/${name} by scripts/build.js\n${text}` : text;
  fs.writeFileSync(path.join(dist, name), out);
}

const items = (config.notes || []).map((n) => `    <li>${escapeHtml(n)}</li>`).join('\n');
const html = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>${escapeHtml(config.greeting)}</title></head>
  <body>
  <h1>${escapeHtml(config.greeting)}</h1>
  <ul>
${items}
  </ul>
  </body>
</html>
`;
fs.writeFileSync(path.join(dist, 'index.html'), html);
console.log(`build: wrote ${names.length + 1} files to dist/`);
