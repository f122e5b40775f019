// shelf-api: list and add books over HTTP. `--self-test` checks the routes in-process
// (no port needed), which is what `dockopt verify` runs in the image.
import express from "express";
import type { AddressInfo } from "node:net";
import { Shelf } from "./shelf";

export function app(shelf: Shelf) {
  const server = express();
  server.use(express.json());
  server.get("/books", (_req, res) => {
    res.json({ books: shelf.list(), pages: shelf.totalPages() });
  });
  server.get("/books/:isbn", (req, res) => {
    const book = shelf.get(req.params.isbn);
    if (book) res.json(book);
    else res.status(404).json({ error: "no such book" });
  });
  server.post("/books", (req, res) => {
    shelf.add(req.body);
    res.status(201).json(req.body);
  });
  return server;
}

async function selfTest(): Promise<void> {
  const shelf = new Shelf();
  const listener = app(shelf).listen(0, "127.0.0.1");
  await new Promise((resolve) => listener.once("listening", resolve));
  const base = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  const post = (book: object) =>
    fetch(`${base}/books`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(book),
    });
  await post({ isbn: "9780262510875", title: "Structure and Interpretation", author: "Abelson", pages: 657 });
  await post({ isbn: "9780201633610", title: "Design Patterns", author: "Gamma", pages: 395 });
  const all = (await (await fetch(`${base}/books`)).json()) as { books: { title: string }[]; pages: number };
  const missing = await fetch(`${base}/books/0000`);
  listener.close();
  if (all.books[0].title !== "Design Patterns" || missing.status !== 404) {
    throw new Error(`unexpected answers: ${JSON.stringify(all)} ${missing.status}`);
  }
  console.log(`self-test ok: ${all.books.length} books, ${all.pages} pages`);
}

if (process.argv.includes("--self-test")) {
  selfTest().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  const port = Number(process.env.PORT ?? 3000);
  app(new Shelf()).listen(port, () => console.log(`shelf-api on :${port}`));
}
