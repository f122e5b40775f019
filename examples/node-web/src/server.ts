// The entry point, built to dist/server.js by `npm run build`. `node dist/server.js` serves on
// the configured port; `node dist/server.js --self-test` starts the server on a free loopback
// port, requests each route once, checks the answers and exits (0 on success).

import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp } from './app';
import config from './config.json';

interface Reply {
  status: number;
  type: string;
  body: string;
}

function get(port: number, urlPath: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body }));
      })
      .on('error', reject);
  });
}

async function selfTest(page: string): Promise<number> {
  const server = createApp(page).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const index = await get(port, '/');
    const health = await get(port, '/health');
    const api = await get(port, '/api/size/1337');
    const missing = await get(port, '/api/size/lots');
    const title = (index.body.match(/<h1>(.*)<\/h1>/) || [])[1];
    const human = api.status === 200 ? JSON.parse(api.body).human : null;
    const ok =
      index.status === 200 &&
      index.type.startsWith('text/html') &&
      title === config.greeting &&
      index.body.includes('&lt;dev only&gt;') &&
      health.status === 200 &&
      health.body.startsWith('ok rss ') &&
      api.type.startsWith('application/json') &&
      human === '1.34 kB' &&
      missing.status === 404;
    if (!ok) {
      console.log(`self-test FAILED: / ${index.status} ${JSON.stringify(title)}, /health ${health.status}, ` +
        `/api/size/1337 ${api.status} ${api.body}, /api/size/lots ${missing.status}`);
      return 1;
    }
    console.log(`self-test ok: ${config.greeting} | 1337 bytes = ${human} | ${health.body.trim()}`);
    return 0;
  } finally {
    server.close();
  }
}

const page = fs.readFileSync(path.join(__dirname, 'index.html'), 'utf8');
if (process.argv.includes('--self-test')) {
  selfTest(page).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.log(`self-test FAILED: ${err.message}`);
      process.exit(1);
    },
  );
} else {
  createApp(page).listen(config.port, '0.0.0.0', () => console.log(`node-web listening on ${config.port}`));
}
