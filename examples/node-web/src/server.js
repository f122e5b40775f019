'use strict';

// A tiny web app: serves the status page rendered at build time on GET /, and the process's
// memory use on GET /health. `node dist/server.js` serves on the configured port;
// `node dist/server.js --self-test` starts the server on a free loopback port, requests both
// pages once, checks the answers and exits (0 on success).

const fs = require('fs');
const http = require('http');
const path = require('path');
const { size } = require('./format');
const config = require('./config.json');

const page = fs.readFileSync(path.join(__dirname, 'index.html'));

function handler(req, res) {
  if (req.url === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': page.length });
    res.end(page);
  } else if (req.url === '/health') {
    const body = `ok rss ${size(process.memoryUsage().rss)}\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  }
}

function get(port, urlPath) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      })
      .on('error', reject);
  });
}

async function selfTest() {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  try {
    const index = await get(port, '/');
    const health = await get(port, '/health');
    const title = (index.body.match(/<h1>(.*)<\/h1>/) || [])[1];
    const ok =
      index.status === 200 &&
      title === config.greeting.replace(/&/g, '&amp;').replace(/</g, '&lt;') &&
      health.status === 200 &&
      health.body.startsWith('ok rss ') &&
      size(1337) === '1.34 kB';
    if (!ok) {
      console.log(`self-test FAILED: / ${index.status} ${JSON.stringify(title)}, /health ${health.status} ${JSON.stringify(health.body)}`);
      return 1;
    }
    console.log(`self-test ok: ${config.greeting.replace(/<[^>]*>/g, '')} | ${health.body.trim()}`);
    return 0;
  } finally {
    server.close();
  }
}

if (process.argv.includes('--self-test')) {
  selfTest().then(
    (code) => process.exit(code),
    (err) => {
      console.log(`self-test FAILED: ${err.message}`);
      process.exit(1);
    },
  );
} else {
  http.createServer(handler).listen(config.port, '0.0.0.0', () => {
    console.log(`node-web listening on ${config.port}`);
  });
}
