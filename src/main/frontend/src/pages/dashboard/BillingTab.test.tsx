import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ME, SIGNED_IN, WhenSignedIn, fakeServer, renderApp } from "@/test/render";
import BillingTab from "./BillingTab";
import { type BillingState, type Plan, stripePage } from "./billing/api";
import { editableUsd, usdInput } from "./billing/money";

const LIMITS = { rpm: 600, rph: null, rpd: null, tpm: 2_000_000, tph: null, tpd: null, concurrency: 32 };
const FREE: Plan = {
  id: "default",
  name: "Free",
  description: "Pay as you go",
  monthly_price_usd: "0.000000",
  monthly_price_micros: 0,
  included_credit_usd: "0.000000",
  included_credit_micros: 0,
  limits: LIMITS,
};
const PRO: Plan = { ...FREE, id: "pro", name: "Pro", description: "For teams", monthly_price_usd: "20.000000", monthly_price_micros: 20_000_000, included_credit_usd: "25.000000", included_credit_micros: 25_000_000 };
const STATE: BillingState = {
  customer_id: "cus_1",
  payments: [
    {
      id: "ch_1",
      payment_intent: "pi_1",
      currency: "usd",
      amount_micros: 25_000_000,
      amount_usd: "25.000000",
      amount_refunded_micros: 5_000_000,
      amount_refunded_usd: "5.000000",
      status: "succeeded",
      refunded: false,
      disputed: false,
      receipt_url: "https://pay.stripe.com/receipts/r_1",
      description: "GPT API credit",
      created: "2026-11-20T10:00:00Z",
    },
  ],
  disputes: { available: false, message: "Stripe did not answer." },
  auto_recharge: {
    enabled: false,
    threshold_usd: null,
    amount_usd: null,
    disabled_reason: null,
    payment_method: { id: "pm_123" },
    max_per_day: 3,
    last_attempt: null,
    cap: { max_per_day: 3, used_last_24h: 0 },
  },
  plan: FREE,
  subscription: null,
};
const CONFIG_ON = { oauth_providers: [], signup_enabled: true, billing_enabled: true, topup: { min_usd: "5.000000", max_usd: "500.000000", presets_usd: ["10.000000", "25.000000"] } };
const CONFIG_OFF = { oauth_providers: [], signup_enabled: true, billing_enabled: false, topup: CONFIG_ON.topup };
const LEDGER = {
  object: "list",
  data: [{ id: 3, kind: "transfer_out", amount_micros: -2_500_000, amount_usd: "-2.500000", reason: "team usage", request_id: null, created_at: "2026-11-21T10:00:00Z" }],
  has_more: true,
  next_before: 3,
};

function server(config: unknown, extra: (method: string, url: string, body: unknown) => [number, unknown] | undefined = () => undefined) {
  let balance = 12_500_000;
  let ledgerReads = 0;
  return fakeServer((method, url, body) => {
    if (url === "/api/auth/refresh") return [200, SIGNED_IN];
    if (url === "/api/me") return [200, ME];
    if (url === "/api/config") return [200, config];
    if (url === "/api/plans") return [200, { object: "list", data: [PRO], free_plan: FREE }];
    const answer = extra(method, url, body);
    if (answer) return answer;
    if (url === "/api/orgs/7/credits") {
      const now = balance;
      balance = 37_500_000; // the next read sees the webhook's credit
      return [200, { balance_micros: now, balance_usd: (now / 1e6).toFixed(6) }];
    }
    if (url === "/api/orgs/7/credits/ledger?limit=20") {
      if (ledgerReads++ === 0) return [200, LEDGER];
      // The webhook has credited the Checkout session since.
      const credit = { id: 4, kind: "credit", amount_micros: 25_000_000, amount_usd: "25.000000", reason: "Stripe Checkout cs_1 (pi_1, event evt_1)", request_id: null, created_at: "2026-11-22T10:00:00Z" };
      return [200, { ...LEDGER, data: [credit, ...LEDGER.data] }];
    }
    if (url === "/api/orgs/7/credits/ledger?limit=20&before=3")
      return [200, { object: "list", data: [{ ...LEDGER.data[0], id: 2, kind: "credit", amount_usd: "15.000000", reason: "welcome" }], has_more: false, next_before: null }];
    if (url === "/api/orgs/7/billing") return [200, STATE];
    return undefined;
  });
}

describe("Billing tab", () => {
  beforeEach(() => localStorage.setItem("gptapi.session", "1"));
  afterEach(() => vi.restoreAllMocks());

  it("shows balance, plans, payments with receipts, a part Stripe could not answer, and pages the ledger", async () => {
    const user = userEvent.setup();
    const { client } = server(CONFIG_ON);
    renderApp(<WhenSignedIn><BillingTab /></WhenSignedIn>, { client });
    expect(await screen.findByText("$12.50")).toBeInTheDocument();
    const receipt = await screen.findByRole("link", { name: /Receipt for \$25\.00/ });
    expect(receipt).toHaveAttribute("href", "https://pay.stripe.com/receipts/r_1");
    expect(receipt).toHaveAttribute("rel", "noopener noreferrer");
    expect(screen.getByText("partly refunded")).toBeInTheDocument();
    expect(screen.getByText(/Disputes cannot be shown right now: Stripe did not answer\./)).toBeInTheDocument();
    const plans = await screen.findByRole("list", { name: "Plans" });
    expect(within(plans).getByText("Current plan")).toBeInTheDocument();
    expect(within(plans).getByText("$20.00 / month")).toBeInTheDocument();
    expect(within(plans).getByRole("button", { name: "Subscribe to Pro" })).toBeInTheDocument();
    expect(screen.getByText("pm_123")).toBeInTheDocument();
    const ledger = screen.getByRole("table", { name: "Ledger" });
    expect(within(ledger).getByText("-$2.50")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Show older entries" }));
    expect(await within(ledger).findByText("+$15.00")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Show older entries" })).not.toBeInTheDocument();
  });

  it("a top-up goes to the Stripe Checkout URL the server returned; a bad amount is refused on its field", async () => {
    const user = userEvent.setup();
    const go = vi.spyOn(stripePage, "go").mockImplementation(() => {});
    const { client, calls } = server(CONFIG_ON, (method, url) =>
      method === "POST" && url === "/api/orgs/7/billing/checkout" ? [201, { id: "cs_1", url: "https://checkout.stripe.com/c/pay/cs_1" }] : undefined,
    );
    renderApp(<WhenSignedIn><BillingTab /></WhenSignedIn>, { client });
    await user.type(await screen.findByLabelText("Other amount (USD)"), "2.505");
    await user.click(screen.getByRole("button", { name: "Pay with Stripe" }));
    expect(await screen.findByText(/Enter an amount in dollars and cents between \$5\.00 and \$500\.00/)).toBeInTheDocument();
    expect(calls.some((c) => c.url.endsWith("/billing/checkout"))).toBe(false);
    await user.click(screen.getByRole("button", { name: "Add $25.00" }));
    await waitFor(() => expect(go).toHaveBeenCalledWith("https://checkout.stripe.com/c/pay/cs_1"));
    expect(calls.find((c) => c.url === "/api/orgs/7/billing/checkout")?.body).toEqual({ usd: "25.000000" });
  });

  it("back from Checkout: a green toast, then balance and ledger are polled until the session's credit shows", async () => {
    const { client } = server(CONFIG_ON);
    renderApp(<WhenSignedIn><BillingTab /></WhenSignedIn>, { client, path: "/dashboard/billing?org=7&checkout=success&session_id=cs_1" });
    const toast = await screen.findByText("Payment received");
    expect(toast.closest("[data-kind]")).toHaveAttribute("data-kind", "good");
    expect(await screen.findByText("$25.00 from your payment is on your balance.", {}, { timeout: 5_000 })).toBeInTheDocument();
    expect(screen.getAllByText("$37.50").length).toBeGreaterThan(0);
  });

  it("back from a canceled Checkout: says nothing was charged", async () => {
    const { client } = server(CONFIG_ON);
    renderApp(<WhenSignedIn><BillingTab /></WhenSignedIn>, { client, path: "/dashboard/billing?org=7&checkout=canceled" });
    const toast = await screen.findByText("Checkout canceled");
    expect(toast.closest("[data-kind]")).toHaveAttribute("data-kind", "neutral");
    expect(within(toast.closest("[data-kind]") as HTMLElement).getByText("Nothing was charged.")).toBeInTheDocument();
  });

  it("billing off: says so, asks nothing of Stripe, and still transfers credit after Confirm Action", async () => {
    const user = userEvent.setup();
    let first = true;
    const { client, calls } = server(CONFIG_OFF, (method, url) => {
      if (method !== "POST" || url !== "/api/orgs/7/credits/transfer") return undefined;
      if (first) {
        first = false;
        return [400, { error: { message: "'usd' is more than the available credit.", type: "invalid_request_error", param: "usd", code: "invalid_amount" } }];
      }
      return [201, { to_org_id: 9, amount_usd: "2.500000", balance_usd: "10.000000" }];
    });
    renderApp(<WhenSignedIn><BillingTab /></WhenSignedIn>, { client });
    expect(await screen.findByText("Billing is not enabled on this server.")).toBeInTheDocument();
    expect(screen.queryByText("Add credit")).not.toBeInTheDocument();
    const form = screen.getByRole("form", { name: "Transfer credit" });
    expect(within(form).getByLabelText("To")).toHaveValue("9");
    await user.click(within(form).getByRole("button", { name: "Transfer" }));
    expect(await within(form).findByText(/Enter an amount in USD above zero/)).toBeInTheDocument();
    await user.type(within(form).getByLabelText("Amount (USD)"), "2.50");
    await user.type(within(form).getByLabelText("Reason"), "team usage");
    await user.click(within(form).getByRole("button", { name: "Transfer" }));
    const confirm = await screen.findByRole("dialog", { name: "Send $2.50 to Team?" });
    await user.click(within(confirm).getByRole("button", { name: "Send credit" }));
    expect(await within(form).findByText("'usd' is more than the available credit.")).toBeInTheDocument();
    await user.click(within(form).getByRole("button", { name: "Transfer" }));
    await user.click(within(await screen.findByRole("dialog", { name: "Send $2.50 to Team?" })).getByRole("button", { name: "Send credit" }));
    expect(await screen.findByText("Sent $2.50 to Team")).toBeInTheDocument();
    expect(calls.filter((c) => c.url === "/api/orgs/7/credits/transfer").at(-1)?.body).toEqual({ to_org_id: 9, usd: "2.50", reason: "team usage" });
    expect(calls.some((c) => c.url === "/api/orgs/7/billing")).toBe(false);
  });
});

describe("billing money input", () => {
  it("takes dollars and cents as the API does, never through a float", () => {
    expect(usdInput("25")).toBe("25");
    expect(usdInput(" $2.50 ")).toBe("2.50");
    expect(usdInput("0.000001")).toBe("0.000001");
    expect(usdInput("0.000001", 2)).toBeNull();
    expect(usdInput("0")).toBeNull();
    expect(usdInput("-1")).toBeNull();
    expect(usdInput("1e3")).toBeNull();
    expect(editableUsd("1234.500000")).toBe("1234.50");
    expect(editableUsd(null)).toBe("");
  });
});
