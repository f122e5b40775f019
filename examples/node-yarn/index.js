// A link shortener: POST /links {"url": ...} gives a short id, GET /:id redirects.
// `--self-test` starts the server on a loopback port, calls it and prints the result.
const express = require("express");
const { customAlphabet } = require("nanoid");
const ms = require("ms");

const newId = customAlphabet("23456789abcdefghjkmnpqrstuvwxyz", 7);
const links = new Map();
const started = Date.now();

const app = express();
app.use(express.json({ limit: "8kb" }));

app.post("/links", (req, res) => {
  const url = req.body && req.body.url;
  if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
    return res.status(400).json({ error: "url must be http(s)" });
  }
  const id = newId();
  links.set(id, url);
  res.status(201).json({ id, url });
});

app.get("/health", (_req, res) => {
  res.json({ links: links.size, uptime: ms(Date.now() - started) });
});

app.get("/:id", (req, res) => {
  const url = links.get(req.params.id);
  if (!url) return res.status(404).json({ error: "no such link" });
  res.redirect(302, url);
});

async function selfTest() {
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const created = await fetch(`${base}/links`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url: "https://example.com/docs" }),
  }).then((r) => r.json());
  const hop = await fetch(`${base}/${created.id}`, { redirect: "manual" });
  const health = await fetch(`${base}/health`).then((r) => r.json());
  server.close();
  const ok = created.id.length === 7 && hop.status === 302 && health.links === 1;
  console.log(
    `self-test ${ok ? "ok" : "FAILED"}: ${hop.headers.get("location")} via ${created.id.length}-char id, ${ms(90000)} = 90000 ms`
  );
  process.exit(ok ? 0 : 1);
}

if (process.argv.includes("--self-test")) {
  selfTest();
} else {
  const port = Number(process.env.PORT || 3000);
  app.listen(port, () => console.log(`listening on ${port}`));
}
