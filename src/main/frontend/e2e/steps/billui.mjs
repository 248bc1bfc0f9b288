// Billing and webhooks in the browser (called once from journey.mjs, signed in, on a fresh user):
//   - Organization tab: invite a teammate; create a second organization ("E2E Team"), which becomes the current one;
//   - Billing: a top-up through Stripe Checkout end to end. The gateway talks to the test's FakeStripe; this script
//     plays Stripe's hosted page (checkout.stripe.com, intercepted in the browser): it sends the browser back to
//     the success URL and then delivers the signed checkout.session.completed webhook, as Stripe does. The tab
//     polls until the credit shows. Then a transfer of part of it to the user's first organization;
//   - Webhooks: an endpoint pointing at a receiver in this process, its secret shown once, a test event that the
//     receiver gets with a valid Standard Webhooks signature, and the delivery log showing it delivered.
// Environment: STRIPE_WEBHOOK_SECRET (the gateway's), from WebAppBrowserTest.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

/** Stripe's Stripe-Signature header: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>. */
function stripeSignature(secret, payload) {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${payload}`).digest("hex")}`;
}

/** Standard Webhooks: any "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" of the header matches. */
function verifiedWebhook(secret, headers, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`).digest();
  return (headers["webhook-signature"] ?? "").split(" ").some((sig) => {
    const [version, value] = sig.split(",");
    const given = Buffer.from(value ?? "", "base64");
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** A webhook receiver on a free loopback port: answers 204 and keeps what it got. */
async function startReceiver() {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/hooks/gpt-api`, received, close: () => server.close() };
}

async function until(what, check, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function billui({ page, BASE, shoot, step, expectVisible }) {
  const stripeSecret = process.env.STRIPE_WEBHOOK_SECRET;
  if (!stripeSecret) throw new Error("STRIPE_WEBHOOK_SECRET is required (the gateway's, for the Checkout webhook)");

  step("organization: invite a teammate");
  await page.goto(`${BASE}/dashboard/organization`);
  const teammate = `teammate-${Date.now()}@example.com`;
  const invitations = page.locator("section", { has: page.getByRole("heading", { name: "Invitations", exact: true }) });
  await invitations.getByLabel("E-mail").fill(teammate);
  await invitations.getByRole("button", { name: "Invite", exact: true }).click();
  await expectVisible(page.getByText(teammate), "the invitation in the list");

  step("organization: create a second one (it becomes the current organization)");
  // The button's text is "Account menu: <org>" (the first words for screen readers only).
  const firstOrg = (await page.getByRole("button", { name: /^Account menu/ }).textContent()).replace(/^Account menu:/, "").trim();
  const create = page.locator("section", { has: page.getByRole("heading", { name: "New organization", exact: true }) });
  await create.getByLabel("Name").fill("E2E Team");
  await create.getByRole("button", { name: "Create", exact: true }).click();
  await expectVisible(page.getByText("You now work in E2E Team."), "the new organization's toast");

  step("billing: top up through Stripe Checkout; the credit comes from the signed webhook");
  await page.goto(`${BASE}/dashboard/billing`);
  await expectVisible(page.getByRole("heading", { name: "Add credit" }), "the top-up card");
  // The session's organization is in the path of the app's request; its id ends FakeStripe's Checkout URL.
  const checkout = page.waitForRequest((r) => r.url().endsWith("/billing/checkout") && r.method() === "POST");
  let webhook = null;
  await page.route("https://checkout.stripe.com/**", async (route) => {
    // Stripe's hosted page: paid at once. The browser returns first and the webhook follows, as often happens.
    const session = {
      id: new URL(route.request().url()).pathname.split("/").pop(),
      org_id: Number((await checkout).url().match(/\/orgs\/(\d+)\//)[1]),
      amount_micros: 10_000_000, // the "Add $10.00" button
    };
    await route.fulfill({
      status: 303,
      headers: { location: `${BASE}/dashboard/billing?org=${session.org_id}&checkout=success&session_id=${session.id}` },
    });
    setTimeout(async () => {
      const cents = session.amount_micros / 10_000;
      const event = JSON.stringify({
        id: `evt_e2e_${session.id}`,
        object: "event",
        api_version: "2026-07-29.dahlia",
        created: Math.floor(Date.now() / 1000),
        livemode: false,
        pending_webhooks: 1,
        type: "checkout.session.completed",
        request: { id: null, idempotency_key: null },
        data: {
          object: {
            id: session.id,
            object: "checkout.session",
            mode: "payment",
            status: "complete",
            payment_status: "paid",
            currency: "usd",
            amount_subtotal: cents,
            amount_total: cents,
            client_reference_id: String(session.org_id),
            payment_intent: `pi_${session.id}`,
            metadata: { org_id: String(session.org_id) },
          },
        },
      });
      try {
        const answer = await fetch(`${BASE}/api/billing/stripe/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "Stripe-Signature": stripeSignature(stripeSecret, event) },
          body: event,
        });
        webhook = `${answer.status} ${await answer.text()}`;
      } catch (err) {
        webhook = `not delivered: ${err.message}`;
      }
    }, 1_000);
  });
  await page.getByRole("button", { name: "Add $10.00", exact: true }).click();
  await page.waitForURL("**/dashboard/billing?org=*");
  await expectVisible(page.getByText("Payment received"), "the green toast back from Checkout");
  await expectVisible(page.getByText("Credit added"), "the credit, once the webhook arrived");
  await until("Stripe's webhook to be answered", () => webhook);
  if (!webhook.includes('"credited"')) throw new Error(`the Checkout webhook: ${webhook}`);
  await expectVisible(page.getByRole("cell", { name: "+$10.00" }), "the top-up in the ledger");
  await page.unroute("https://checkout.stripe.com/**");

  step("billing: transfer part of it to the first organization, through Confirm Action");
  const transfer = page.getByRole("form", { name: "Transfer credit" });
  await transfer.getByLabel("Amount (USD)").fill("2.50");
  await transfer.getByLabel("Reason").fill("e2e: pay for the first organization");
  await transfer.getByRole("button", { name: "Transfer", exact: true }).click();
  const confirm = page.getByRole("dialog", { name: /^Send \$2\.50 to / });
  await confirm.getByRole("button", { name: "Send credit", exact: true }).click();
  await expectVisible(page.getByText("Your balance is now $7.50."), "the transfer's toast");
  await expectVisible(page.getByRole("cell", { name: "-$2.50" }), "the transfer in the ledger");
  await page.waitForLoadState("networkidle");
  await shoot(page, "billing");

  step("webhooks: an endpoint at a local receiver, its secret once, a test event it receives signed");
  const receiver = await startReceiver();
  try {
    await page.goto(`${BASE}/dashboard/webhooks`);
    await expectVisible(page.getByText("No endpoints yet. Add one to receive events."), "the empty webhooks tab");
    await page.getByRole("button", { name: "Add endpoint", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Add a webhook endpoint" });
    await dialog.getByLabel("URL").fill(receiver.url);
    await dialog.getByLabel("Description (optional)").fill("e2e receiver");
    await dialog.getByLabel("credits.added").check();
    await dialog.getByLabel("key.created").check();
    await shoot(page, "webhooks-create");
    await dialog.getByRole("button", { name: "Add endpoint", exact: true }).click();
    const secretDialog = page.getByRole("dialog", { name: "Your endpoint's signing secret" });
    await expectVisible(secretDialog, "the endpoint's secret");
    const secret = (await page.getByTestId("webhook-secret").textContent())?.trim();
    if (!secret?.startsWith("whsec_")) throw new Error(`unexpected webhook secret: ${secret}`);
    await shoot(page, "webhooks-secret");
    await secretDialog.getByRole("button", { name: "I have stored it", exact: true }).click();

    await page.getByRole("button", { name: "Send test event", exact: true }).click();
    const test = await until("the receiver to get webhook.test", () => receiver.received.find((r) => r.body.includes('"webhook.test"')));
    if (!verifiedWebhook(secret, test.headers, test.body)) throw new Error(`the test event's signature does not verify: ${JSON.stringify(test.headers)}`);
    const log = page.getByRole("table", { name: "Delivery log" });
    await expectVisible(log.getByText("delivered", { exact: true }), "the delivered test event in the log");
    await expectVisible(log.getByText("HTTP 204", { exact: true }), "the receiver's answer in the log");
    await shoot(page, "dashboard-webhooks");
  } finally {
    receiver.close();
  }

  step("back to the first organization, as the journey was");
  await page.getByRole("button", { name: /^Account menu/ }).click();
  await page.getByRole("menuitemradio", { name: new RegExp(`^${firstOrg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`) }).click();
  await expectVisible(page.getByRole("button", { name: /^Account menu/ }).getByText(firstOrg, { exact: true }), "the first organization again");
}
