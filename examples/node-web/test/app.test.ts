import request from 'supertest';
import { createApp } from '../src/app';

describe('createApp', () => {
  const app = createApp('<h1>test page</h1>');

  it('serves the page', async () => {
    const res = await request(app).get('/').expect(200);
    expect(res.text).toBe('<h1>test page</h1>');
  });

  it('formats sizes', async () => {
    const res = await request(app).get('/api/size/1337').expect(200);
    expect(res.body).toEqual({ bytes: 1337, human: '1.34 kB' });
  });

  it('answers unknown paths with a JSON 404', async () => {
    await request(app).get('/api/size/lots').expect(404, { error: 'not found' });
  });
});
