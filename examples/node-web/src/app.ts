import express from 'express';
import { size } from './format';

// The routes: the status page rendered at build time on GET /, the process's memory use on
// GET /health, a byte count in human units on GET /api/size/:bytes, JSON 404s otherwise.
export function createApp(page: string): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/', (req, res) => {
    res.type('html').send(page);
  });
  app.get('/health', (req, res) => {
    res.type('text').send(`ok rss ${size(process.memoryUsage().rss)}\n`);
  });
  app.get('/api/size/:bytes(\\d+)', (req, res) => {
    const bytes = Number(req.params.bytes);
    res.json({ bytes, human: size(bytes) });
  });
  app.use((req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}
