// A notes API: POST /notes {"title": ..., "body": ...} stores a note under a slug of its
// title, GET /notes/:slug reads it back with its creation date, GET /health counts them.
// `--self-test` starts the server on a loopback port, calls it and prints the result.
const express = require("express");
const slugify = require("slugify");
const dayjs = require("dayjs");

const notes = new Map();
const app = express();
app.use(express.json({ limit: "16kb" }));

app.post("/notes", (req, res) => {
  const { title, body } = req.body || {};
  if (typeof title !== "string" || title.trim() === "") {
    return res.status(400).json({ error: "title is required" });
  }
  const slug = slugify(title, { lower: true, strict: true });
  if (notes.has(slug)) return res.status(409).json({ error: "exists", slug });
  const note = { slug, title, body: String(body || ""), created: dayjs().toISOString() };
  notes.set(slug, note);
  res.status(201).json(note);
});

app.get("/notes/:slug", (req, res) => {
  const note = notes.get(req.params.slug);
  if (!note) return res.status(404).json({ error: "no such note" });
  res.json({ ...note, day: dayjs(note.created).format("YYYY-MM-DD") });
});

app.get("/health", (_req, res) => res.json({ notes: notes.size }));

async function selfTest() {
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const post = (body) =>
    fetch(`${base}/notes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const created = await post({ title: "Crème brûlée & Café!", body: "eggs, cream" }).then((r) => r.json());
  const again = await post({ title: "Crème brûlée & Café!" });
  const bad = await post({ body: "no title" });
  const read = await fetch(`${base}/notes/${created.slug}`).then((r) => r.json());
  const missing = await fetch(`${base}/notes/nothing-here`);
  const health = await fetch(`${base}/health`).then((r) => r.json());
  server.close();
  const ok =
    created.slug === "creme-brulee-and-cafe" &&
    again.status === 409 &&
    bad.status === 400 &&
    read.body === "eggs, cream" &&
    read.day === dayjs(created.created).format("YYYY-MM-DD") &&
    missing.status === 404 &&
    health.notes === 1;
  console.log(`self-test ${ok ? "ok" : "FAILED"}: /notes/${created.slug} (${read.day})`);
  process.exit(ok ? 0 : 1);
}

if (process.argv.includes("--self-test")) {
  selfTest();
} else {
  const port = Number(process.env.PORT || 3000);
  app.listen(port, () => console.log(`listening on ${port}`));
}
