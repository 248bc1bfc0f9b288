// The status page, Contact Us and the admin console, for e2e/journey.mjs. Run after the journey's own steps, with
// its user signed in on `page`: the status page and its subscription (confirmed from the e-mail), Contact Us with
// its green toast, then an admin (ADMIN_EMAIL/ADMIN_PASSWORD, made by WebAppBrowserTest) signs in in a second
// browser context, deposits credit to the journey user's organization through Confirm Action, screenshots every
// admin section and opens an incident, whose e-mail's unsubscribe link is opened; the user's balance shows the
// deposit.

const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;

/** "$1,234.50" → 123450 (cents), for comparing balances without floats. */
function cents(text) {
  const m = text.replace(/[,\s]/g, "").match(/(-?)\$(\d+)(?:\.(\d+))?/);
  if (!m) throw new Error(`not an amount: ${text}`);
  return (m[1] ? -1 : 1) * (Number(m[2]) * 100 + Number((m[3] ?? "").padEnd(2, "0").slice(0, 2)));
}

async function mailTo(mailbox, to, subject) {
  const response = await fetch(`${mailbox}?to=${encodeURIComponent(to)}&subject=${encodeURIComponent(subject)}`);
  if (!response.ok) throw new Error(`no e-mail "${subject}" to ${to}: ${response.status}`);
  return response.text();
}

async function balanceCents(page, base, expectVisible) {
  await page.goto(`${base}/dashboard/overview`);
  const card = page.locator('[data-slot="card"]', { hasText: "Balance" }).first();
  await expectVisible(card.getByText(/\$\d/), "the balance");
  return cents(await card.locator('[data-slot="card-title"]').textContent());
}

export async function adminSteps({ browser, page, base, mailbox, email, shoot, expectVisible, step, problems }) {
  if (!ADMIN_EMAIL || !ADMIN_PASSWORD) throw new Error("ADMIN_EMAIL and ADMIN_PASSWORD are required");
  const subscriber = `status-${Date.now()}@example.com`;

  step("status page: services and their 90-day uptime bars");
  await page.goto(`${base}/status`);
  await expectVisible(page.getByTestId("overall-status"), "the overall status");
  await expectVisible(page.getByTestId("service-card"), "a service card");
  const bars = await page.getByTestId("service-card").first().getByTestId("uptime-bar").count();
  if (bars !== 90) throw new Error(`${bars} uptime bars, not 90`);
  await shoot(page, "status");

  step("status page: subscribe, confirm from the e-mail");
  await page.getByRole("textbox", { name: "E-mail" }).fill(subscriber);
  await page.getByRole("button", { name: "Subscribe", exact: true }).click();
  await expectVisible(page.getByText("a confirmation link is on its way"), "the subscribe answer");
  const confirmToken = (await mailTo(mailbox, subscriber, "Confirm your GPT API status subscription")).match(/status\/confirm\?token=([A-Za-z0-9_-]+)/)?.[1];
  if (!confirmToken) throw new Error("the subscription e-mail has no confirmation link");
  await page.goto(`${base}/status/confirm?token=${confirmToken}`);
  await expectVisible(page.getByText("Subscription confirmed"), "the confirmed page");
  await shoot(page, "status-confirmed");

  step("Contact Us: the message is sent, with a green toast");
  await page.getByRole("button", { name: "Contact Us", exact: true }).click();
  const contact = page.getByRole("dialog", { name: "Contact Us" });
  await expectVisible(contact, "the Contact Us modal");
  await contact.getByLabel("Message").fill("Hello from the end-to-end test.\nPlease ignore.");
  await shoot(page, "modal-contact");
  await contact.getByRole("button", { name: "Send message", exact: true }).click();
  await expectVisible(page.locator('[data-kind="good"]', { hasText: "Message sent" }), "the green toast");

  const before = await balanceCents(page, base, expectVisible);
  // The organization the user's dashboard shows (the user may have several): the one the admin credits.
  const orgName = (await page.getByRole("button", { name: /^Account menu/ }).textContent())
    .replace(/^Account menu:/, "").trim();

  step("admin signs in (a second browser) and deposits $25 to the user's organization");
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const admin = await adminContext.newPage();
  admin.on("console", (m) => m.type() === "error" && problems.push(`console error on ${admin.url()}: ${m.text()}`));
  admin.on("pageerror", (e) => problems.push(`uncaught on ${admin.url()}: ${e.message}`));
  try {
    await admin.goto(`${base}/`);
    await admin.getByRole("button", { name: "Sign In", exact: true }).click();
    const signIn = admin.getByRole("dialog", { name: "Sign in" });
    await signIn.getByLabel("E-mail").fill(ADMIN_EMAIL);
    await signIn.getByLabel("Password").fill(ADMIN_PASSWORD);
    await signIn.getByRole("button", { name: "Sign in", exact: true }).click();
    await admin.waitForURL("**/dashboard/overview");
    await admin.goto(`${base}/admin/orgs`);
    await admin.getByLabel("Search organizations").fill(email);
    await admin.getByRole("button", { name: "Search", exact: true }).click();
    const row = admin.getByRole("row").filter({ hasText: "$" }).filter({ hasText: orgName }).nth(0);
    await expectVisible(row, "the user's organization");
    await row.getByRole("link").click();
    await expectVisible(admin.getByTestId("admin-org-balance"), "the organization's details");
    await admin.getByLabel("Amount (USD)").fill("25");
    await admin.getByLabel("Reason").fill("End-to-end test deposit");
    await admin.getByRole("button", { name: "Deposit", exact: true }).click();
    const confirm = admin.getByRole("dialog", { name: /^Deposit \$25\.00 to / });
    await expectVisible(confirm, "the Confirm Action modal");
    await shoot(admin, "admin-credit-confirm");
    await confirm.getByRole("button", { name: "Deposit credit", exact: true }).click();
    await expectVisible(admin.locator('[data-kind="good"]', { hasText: "Credit deposited" }), "the deposit toast");
    await shoot(admin, "admin-orgs");

    step("admin adds a backend and drains it");
    await admin.goto(`${base}/admin/backends`);
    await admin.getByLabel("Model").fill("gpt-fast");
    await admin.getByLabel("URL").fill("http://127.0.0.1:9");
    await admin.getByRole("button", { name: "Add", exact: true }).click();
    await expectVisible(admin.locator('[data-kind="good"]', { hasText: "Backend added" }), "the backend toast");
    const added = admin.getByRole("row").filter({ hasText: "http://127.0.0.1:9" });
    await added.getByRole("button", { name: "Drain", exact: true }).click();
    await expectVisible(added.getByText("draining", { exact: true }), "the draining state");

    for (const section of ["users", "models", "backends", "audit", "messages"]) {
      step(`admin section ${section}`);
      await admin.goto(`${base}/admin/${section}`);
      await expectVisible(admin.getByRole("navigation", { name: "Admin console" }), `the ${section} section`);
      await admin.waitForLoadState("networkidle");
      await expectVisible(admin.getByRole("heading", { level: 2 }), `the ${section} heading`);
      await shoot(admin, `admin-${section}`);
    }
    await expectVisible(admin.getByText("Hello from the end-to-end test."), "the contact message in the console");

    step("admin opens an incident; it reaches the status page and the subscriber, who unsubscribes");
    await admin.goto(`${base}/admin/incidents`);
    const form = admin.getByRole("form", { name: "Open an incident" });
    await form.getByLabel("Title").fill("E2E: slower answers");
    await form.getByLabel("Chat completions").check();
    await form.getByLabel("Message").fill("We are looking into slower answers.");
    await form.getByRole("button", { name: "Open incident", exact: true }).click();
    await expectVisible(admin.locator('[data-kind="good"]', { hasText: "Incident opened" }), "the incident toast");
    await shoot(admin, "admin-incidents");
    const unsubscribe = (await mailTo(mailbox, subscriber, "[GPT API status] New incident")).match(/status\/unsubscribe\?token=([A-Za-z0-9_-]+)/)?.[1];
    if (!unsubscribe) throw new Error("the incident e-mail has no unsubscribe link");
    await page.goto(`${base}/status/unsubscribe?token=${unsubscribe}`);
    await expectVisible(page.getByText("Unsubscribed", { exact: true }), "the unsubscribed page");
    await shoot(page, "status-unsubscribed");
    await admin.getByRole("button", { name: "Resolve", exact: true }).first().click();
    await admin.getByRole("dialog").getByRole("button", { name: "Resolve incident", exact: true }).click();
    await expectVisible(admin.locator('[data-kind="good"]', { hasText: "Incident resolved" }), "the resolved toast");
  } finally {
    await adminContext.close();
  }

  step("the user's balance shows the deposit");
  const after = await balanceCents(page, base, expectVisible);
  if (after - before !== 2500) throw new Error(`the balance went from ${before} to ${after} cents, not up by 2500`);

  step("the OAuth error page and the admin console's 403 for a non-admin");
  await page.goto(`${base}/oauth/error?reason=email_not_verified&provider=github`);
  await expectVisible(page.getByText("E-mail address not verified"), "the OAuth error page");
  await shoot(page, "oauth-error");
  await page.goto(`${base}/admin/orgs`);
  await expectVisible(page.getByText("403: admins only"), "the 403 page");
  await shoot(page, "admin-403");

  step("the status page shows the new server (once the status is rebuilt) and the resolved incident");
  for (let i = 0; ; i++) {
    await page.goto(`${base}/status`);
    await expectVisible(page.getByTestId("overall-status"), "the overall status");
    if ((await page.getByTestId("server-card").count()) > 0) break;
    if (i === 15) throw new Error("the added backend never showed on the status page");
    await page.waitForTimeout(2000);
  }
  await expectVisible(page.getByTestId("incident-card").getByText("E2E: slower answers"), "the resolved incident");
  await shoot(page, "status-servers");
}
