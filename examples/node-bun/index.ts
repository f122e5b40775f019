// A polls API: POST /polls {"question": ..., "options": [...]} opens a poll, POST
// /polls/:id/votes {"option": N} votes for its Nth option, GET /polls/:id reads the tally
// with each option's share and the leader, GET /health counts polls. Bodies are checked
// with zod schemas (@hono/zod-validator answers 400 with the issues).
// `--self-test` serves the app on a loopback port, calls it and prints the result.
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";

type Poll = { id: string; question: string; options: string[]; votes: number[]; opened: string };

const newPoll = z.object({
  question: z.string().trim().min(3).max(200),
  options: z
    .array(z.string().trim().min(1).max(80))
    .min(2)
    .max(8)
    .refine((o) => new Set(o.map((s) => s.toLowerCase())).size === o.length, "options must differ"),
});
const vote = z.object({ option: z.number().int().nonnegative() });

const polls = new Map<string, Poll>();
let next = 1;

function tally(poll: Poll) {
  const total = poll.votes.reduce((a, b) => a + b, 0);
  const results = poll.options.map((option, i) => ({
    option,
    votes: poll.votes[i],
    share: total ? Math.round((poll.votes[i] / total) * 1000) / 10 : 0,
  }));
  const top = Math.max(...poll.votes);
  const leaders = results.filter((r) => r.votes === top);
  return { ...poll, total, results, leader: total && leaders.length === 1 ? leaders[0].option : null };
}

const app = new Hono();

app.post("/polls", zValidator("json", newPoll), (c) => {
  const { question, options } = c.req.valid("json");
  const poll: Poll = {
    id: `p${next++}`,
    question,
    options,
    votes: options.map(() => 0),
    opened: new Date().toISOString(),
  };
  polls.set(poll.id, poll);
  return c.json(poll, 201);
});

app.post("/polls/:id/votes", zValidator("json", vote), (c) => {
  const poll = polls.get(c.req.param("id"));
  if (!poll) return c.json({ error: "no such poll" }, 404);
  const { option } = c.req.valid("json");
  if (option >= poll.options.length) {
    return c.json({ error: `option must be below ${poll.options.length}` }, 422);
  }
  poll.votes[option]++;
  return c.json(tally(poll));
});

app.get("/polls/:id", (c) => {
  const poll = polls.get(c.req.param("id"));
  return poll ? c.json(tally(poll)) : c.json({ error: "no such poll" }, 404);
});

app.get("/health", (c) => c.json({ polls: polls.size, bun: Bun.version }));

async function selfTest() {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  const base = `http://127.0.0.1:${server.port}`;
  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const created = (await post("/polls", {
    question: "  Tabs or spaces? ",
    options: ["Tabs", "Spaces", "Both"],
  }).then((r) => r.json())) as Poll;
  for (const option of [0, 1, 0]) await post(`/polls/${created.id}/votes`, { option });
  const outOfRange = await post(`/polls/${created.id}/votes`, { option: 3 });
  const notANumber = await post(`/polls/${created.id}/votes`, { option: "Tabs" });
  const oneOption = await post("/polls", { question: "Yes?", options: ["yes"] });
  const twins = await post("/polls", { question: "Which?", options: ["A", "a"] });
  const issues = (await oneOption.json()) as { success: boolean; error: { name: string } };
  const read = (await fetch(`${base}/polls/${created.id}`).then((r) => r.json())) as ReturnType<typeof tally>;
  const missing = await fetch(`${base}/polls/p999`);
  const health = (await fetch(`${base}/health`).then((r) => r.json())) as { polls: number; bun: string };
  server.stop(true);
  const ok =
    created.question === "Tabs or spaces?" &&
    outOfRange.status === 422 &&
    notANumber.status === 400 &&
    oneOption.status === 400 &&
    issues.success === false &&
    twins.status === 400 &&
    read.total === 3 &&
    read.leader === "Tabs" &&
    read.results[0].share === 66.7 &&
    missing.status === 404 &&
    health.polls === 1 &&
    health.bun === Bun.version;
  console.log(
    `self-test ${ok ? "ok" : "FAILED"}: leader ${read.leader} with ${read.results[0].votes}/${read.total} votes (${read.results[0].share}%), bun ${health.bun}`,
  );
  process.exit(ok ? 0 : 1);
}

if (process.argv.includes("--self-test")) {
  await selfTest();
} else {
  const port = Number(process.env.PORT || 3000);
  Bun.serve({ port, fetch: app.fetch });
  console.log(`listening on ${port}`);
}
