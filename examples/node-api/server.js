'use strict';

// A small JSON API for a to-do list kept in memory: GET /healthz, GET /todos, GET /todos/:id,
// POST /todos {"title": "..."} (needs a JWT bearer token signed with $JWT_SECRET, body
// validated with zod), API docs on GET /docs (swagger-ui). Express with helmet, cors and
// pino-http request logs (JSON lines on stdout). `node server.js` serves on $PORT (default 3000);
// `node server.js --self-test` starts the server on a free loopback port, calls every route
// once, checks the answers and exits (0 on success).

const http = require('http');
const { Writable } = require('stream');
const cors = require('cors');
const express = require('express');
const helmet = require('helmet');
const jwt = require('jsonwebtoken');
const pinoHttp = require('pino-http');
const swaggerUi = require('swagger-ui-express');
const { z } = require('zod');

const NewTodo = z.object({ title: z.string().trim().min(1).max(200), done: z.boolean().default(false) });
const SECRET = process.env.JWT_SECRET || 'change-me';

const openapi = {
  openapi: '3.0.3',
  info: { title: 'node-api', version: '1.0.0' },
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  paths: {
    '/healthz': { get: { summary: 'Liveness and the number of to-dos', responses: { 200: { description: 'ok' } } } },
    '/todos': {
      get: { summary: 'List the to-dos', responses: { 200: { description: 'the to-dos' } } },
      post: { summary: 'Add a to-do', security: [{ bearer: [] }], responses: { 201: { description: 'created' } } },
    },
    '/todos/{id}': { get: { summary: 'One to-do', responses: { 200: { description: 'the to-do' } } } },
  },
};

// Lets the request through with req.user set when it carries a valid bearer token.
function requireUser(req, res, next) {
  const [scheme, token] = (req.get('authorization') || '').split(' ');
  try {
    if (scheme !== 'Bearer') throw new Error('no bearer token');
    req.user = jwt.verify(token, SECRET, { algorithms: ['HS256'] });
    next();
  } catch (err) {
    res.status(401).json({ error: err.message });
  }
}

function createApp(logStream = process.stdout) {
  const todos = new Map();
  let nextId = 1;
  const app = express();
  app.use(helmet());
  app.use(cors());
  app.use(pinoHttp({}, logStream));
  app.use(express.json({ limit: '10kb' }));
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(openapi));

  app.get('/healthz', (req, res) => res.json({ status: 'ok', todos: todos.size }));
  app.get('/todos', (req, res) => res.json([...todos.values()]));
  app.get('/todos/:id', (req, res) => {
    const todo = todos.get(Number(req.params.id));
    if (!todo) return res.status(404).json({ error: 'no such todo' });
    res.json(todo);
  });
  app.post('/todos', requireUser, (req, res) => {
    const parsed = NewTodo.safeParse(req.body);
    if (!parsed.success) return res.status(400).json({ error: parsed.error.issues[0].message });
    const todo = { id: nextId++, owner: req.user.sub, ...parsed.data };
    todos.set(todo.id, todo);
    res.status(201).location(`/todos/${todo.id}`).json(todo);
  });
  app.use((req, res) => res.status(404).json({ error: 'not found' }));
  return app;
}

function call(port, method, path, body, token) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers = { Origin: 'http://example.test' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (data) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        const json = /json/.test(res.headers['content-type'] || '') ? JSON.parse(text) : null;
        resolve({ status: res.statusCode, headers: res.headers, json, text });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function selfTest() {
  const logs = [];
  const logStream = new Writable({
    write(chunk, encoding, done) {
      logs.push(JSON.parse(chunk));
      done();
    },
  });
  const server = createApp(logStream).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  try {
    const token = jwt.sign({ sub: 'self-test' }, SECRET, { expiresIn: '1m' });
    const anonymous = await call(port, 'POST', '/todos', { title: 'no token' });
    const forged = await call(port, 'POST', '/todos', { title: 'bad token' }, jwt.sign({ sub: 'x' }, 'other'));
    const created = await call(port, 'POST', '/todos', { title: '  write the Dockerfile  ' }, token);
    const bad = await call(port, 'POST', '/todos', { title: '' }, token);
    const one = await call(port, 'GET', `/todos/${created.json && created.json.id}`);
    const list = await call(port, 'GET', '/todos');
    const missing = await call(port, 'GET', '/todos/99');
    const health = await call(port, 'GET', '/healthz');
    const docs = await call(port, 'GET', '/docs/');
    const docsInit = await call(port, 'GET', '/docs/swagger-ui-init.js');
    const bundle = await call(port, 'GET', '/docs/swagger-ui-bundle.js');
    const checks = {
      'POST /todos without a token -> 401': anonymous.status === 401,
      'POST /todos with a forged token -> 401': forged.status === 401,
      'POST /todos -> 201': created.status === 201 && created.headers.location === '/todos/1',
      'zod trims and defaults': one.json && one.json.title === 'write the Dockerfile' && one.json.done === false,
      'owner from the token': one.json && one.json.owner === 'self-test',
      'zod rejects an empty title': bad.status === 400 && typeof bad.json.error === 'string',
      'GET /todos lists it': list.status === 200 && Array.isArray(list.json) && list.json.length === 1,
      'GET /todos/99 -> 404': missing.status === 404,
      'helmet headers': health.headers['x-content-type-options'] === 'nosniff',
      'cors headers': health.headers['access-control-allow-origin'] === '*',
      'GET /healthz': health.status === 200 && health.json.status === 'ok' && health.json.todos === 1,
      'swagger-ui at /docs': docs.status === 200 && docs.text.includes('swagger-ui-bundle.js'),
      'OpenAPI document in the docs': docsInit.status === 200 && docsInit.text.includes('"/todos/{id}"'),
      'swagger-ui-dist assets': bundle.status === 200 && bundle.text.length > 100000,
      'pino-http logs': logs.some((l) => l.req && l.req.method === 'POST' && l.res && l.res.statusCode === 201),
    };
    const failed = Object.keys(checks).filter((name) => !checks[name]);
    if (failed.length) {
      console.log(`self-test FAILED: ${failed.join(', ')}`);
      return 1;
    }
    console.log(`self-test ok: todo 1 "${one.json.title}" (${Object.keys(checks).length} checks)`);
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
  const port = Number(process.env.PORT) || 3000;
  createApp().listen(port, '0.0.0.0', () => console.log(`node-api listening on ${port}`));
}
