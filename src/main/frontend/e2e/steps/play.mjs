// The Playground and the docs page, end to end: a key created in the browser works with the official OpenAI Node
// SDK (src/test/sdk's pinned openai package), a Playground answer streams in with its cost, and the Overview balance
// and the Usage tab then show it. Screenshots of the Playground and Docs at both widths.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SDK_DIR = fileURLToPath(new URL("../../../../test/sdk/", import.meta.url));

/** The official SDK, installed from its committed lockfile on first use (as OpenAiSdkTest does). */
async function openAiSdk() {
  const entry = join(SDK_DIR, "node_modules/openai/index.mjs");
  if (!existsSync(entry)) {
    execFileSync("npm", ["ci", "--prefix", SDK_DIR, "--no-audit", "--no-fund"], { stdio: "inherit" });
  }
  return (await import(pathToFileURL(entry).href)).default;
}

/** Reloads the page until `read` answers something other than `before` (the usage writer settles within seconds). */
async function changed(page, read, before, what) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const now = await read();
    if (now !== null && now !== before) return now;
    if (Date.now() > deadline) throw new Error(`${what} did not change from ${before}`);
    await page.waitForTimeout(1000);
    await page.reload();
  }
}

export async function play({ page, base, mailbox, email, shoot, expectVisible, step }) {
  step("play: create a key in the browser and use it with the official OpenAI Node SDK");
  const credit = await fetch(`${mailbox}credit?to=${encodeURIComponent(email)}`);
  if (!credit.ok) throw new Error(`could not credit the organization: ${credit.status}`);
  await page.goto(`${base}/dashboard/keys`);
  await page.getByRole("button", { name: "Create key", exact: true }).click();
  const create = page.getByRole("dialog", { name: "Create an API key" });
  await create.getByLabel("Name").fill("sdk key");
  await create.getByRole("button", { name: "Create key", exact: true }).click();
  const secretDialog = page.getByRole("dialog", { name: "Your new key" });
  await expectVisible(secretDialog, "the SDK key's secret");
  const secret = (await page.getByTestId("new-key-secret").textContent())?.trim();
  await secretDialog.getByRole("button", { name: "I have stored it", exact: true }).click();
  const OpenAI = await openAiSdk();
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: secret });
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  if (!models.includes("gpt-fast")) throw new Error(`the SDK lists ${models}`);
  const stream = await client.chat.completions.create({
    model: "gpt-fast",
    messages: [{ role: "user", content: "Hello from the SDK" }],
    max_tokens: 8,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? "";
    if (chunk.usage) usage = chunk.usage;
  }
  if (!text || !usage?.completion_tokens) throw new Error(`the SDK stream gave "${text}" and usage ${JSON.stringify(usage)}`);

  step("play: the Overview balance before the Playground");
  await page.goto(`${base}/dashboard/overview`);
  const balanceStat = page.locator('[data-slot="card"]', { hasText: "Balance" }).locator('[data-slot="card-title"]');
  await expectVisible(balanceStat.filter({ hasText: "$" }), "the balance");
  const readBalance = async () => ((await balanceStat.first().textContent()) ?? "").trim();
  const before = await changed(page, async () => ((await readBalance()).startsWith("$") ? await readBalance() : null), "$5.00", "the balance after the SDK call");

  step("play: the Playground streams an answer with its cost");
  await page.goto(`${base}/dashboard/playground`);
  await expectVisible(page.getByText(/per 1M tokens/), "the model's prices");
  await page.getByLabel("Max tokens").fill("40");
  await page.getByLabel("Message").fill("Tell me a short story.");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expectVisible(page.getByRole("button", { name: "Stop", exact: true }), "the Stop button while it streams");
  const answer = page.locator('[data-role="assistant"]').first();
  await page.waitForFunction(() => (document.querySelector('[data-role="assistant"]')?.textContent ?? "").length > 3, null, { timeout: 15_000 });
  const partial = (await answer.textContent()) ?? "";
  await expectVisible(page.getByTestId("answer-cost"), "the answer's cost");
  const full = (await answer.textContent()) ?? "";
  if (!(full.length > partial.length)) throw new Error(`the answer did not arrive token by token ("${partial}" then "${full}")`);
  const cost = (await page.getByTestId("answer-cost").textContent()) ?? "";
  if (!/gpt-fast · \d+ in \+ \d+ out tokens · \$0\.\d+/.test(cost)) throw new Error(`unexpected cost line: ${cost}`);
  await shoot(page, "dashboard-playground");

  step("play: the Overview balance and the Usage tab show the Playground's request");
  await page.goto(`${base}/dashboard/overview`);
  await expectVisible(balanceStat.filter({ hasText: "$" }), "the balance");
  await changed(page, async () => ((await readBalance()).startsWith("$") ? await readBalance() : null), before, "the balance after the Playground");
  await page.goto(`${base}/dashboard/usage`);
  await page.getByRole("tab", { name: "By key" }).click();
  await expectVisible(page.getByText("Playground").first(), "the Playground key in usage by key");

  step("play: the docs page");
  await page.goto(`${base}/docs`);
  await expectVisible(page.getByRole("heading", { name: "Documentation", level: 1 }), "the docs page");
  await page.getByRole("region", { name: "Chat completions" }).getByRole("tab", { name: "Node / TypeScript" }).click();
  await expectVisible(page.getByText("await client.chat.completions.create({").first(), "the Node example");
  await shoot(page, "docs");
}
