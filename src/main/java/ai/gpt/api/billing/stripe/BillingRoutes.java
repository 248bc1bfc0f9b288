package ai.gpt.api.billing.stripe;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.billing.Money;
import ai.gpt.api.billing.plans.PlanCatalog;
import ai.gpt.api.billing.OwnerMail;
import ai.gpt.api.billing.recharge.AutoRecharge;
import ai.gpt.api.config.BillingSettings;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.http.BodyLimit;
import ai.gpt.api.mail.Mailer;
import ai.gpt.api.metering.BalanceWatch;
import ai.gpt.api.orgs.Memberships;
import ai.gpt.api.orgs.Role;
import com.stripe.param.billingportal.SessionCreateParams;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.List;

/**
 * Stripe billing: top-ups through Checkout, and Stripe's webhook, the only way a payment becomes credit (never
 * the browser's return from Checkout). Without STRIPE_SECRET_KEY both answer 503 {@code billing_disabled}: for the
 * webhook that makes Stripe keep redelivering (for up to 3 days), so events sent before billing is configured are
 * not lost.
 */
public final class BillingRoutes implements ApiRoutes {
  /** Stripe events can exceed the /api limit of 64 KiB (a session with many line items, long metadata). */
  static final long MAX_WEBHOOK_BYTES = 1024 * 1024;

  private final BillingSettings settings;
  private final Memberships memberships;
  private final BillingLinks links;
  private final StripeCustomers customers;
  private final StripeApi stripe;
  private final StripeWebhook webhook;
  private final BillingState state;
  private final SubscriptionCheckout subscriptionCheckout;
  private final AutoRecharge autoRecharge;

  /**
   * @param sections the other features' parts of the billing state (plan, subscription); the customer's payments,
   *                 the disputes and auto-recharge are added here
   * @param redis    to reload every gateway's keys when a dispute suspends an organization or a subscription moves
   *                 it to another plan
   * @param health   counts Stripe webhook and API outcomes for the status page's billing level
   */
  public BillingRoutes(Vertx vertx, Pool pool, Redis redis, CreditDebits debits, BillingSettings settings,
      String publicUrl, Mailer mailer, List<BillingStateSection> sections, StripeHealth health) {
    this.settings = settings;
    this.memberships = new Memberships(pool);
    this.links = new BillingLinks(publicUrl);
    this.stripe = settings.enabled() ? new StripeApi(vertx, settings, health) : null;
    this.customers = settings.enabled() ? new StripeCustomers(pool, stripe) : null;
    StripeEvents events = new StripeEvents(pool);
    PlanCatalog plans = new PlanCatalog(pool);
    Subscriptions subscriptions = new Subscriptions(pool);
    OwnerMail mail = new OwnerMail(pool, mailer);
    this.autoRecharge = new AutoRecharge(pool, stripe, events, debits, settings, mail, links);
    this.subscriptionCheckout = settings.enabled()
        ? new SubscriptionCheckout(plans, subscriptions, customers, stripe, links) : null;
    this.webhook = settings.enabled() ? new StripeWebhook(vertx, events, settings.webhookSecret(),
        List.of(new TopUpEvents(events, debits, mail, links), new RefundEvents(events, debits),
            new DisputeEvents(events, debits, new DisputedOrgs(pool, events, stripe), redis),
            new SubscriptionEvents(events, plans, subscriptions, redis),
            new InvoiceEvents(events, debits, plans, subscriptions),
            autoRecharge.paymentIntentEvents()), health) : null;
    List<BillingStateSection> all = new ArrayList<>();
    if (settings.enabled()) {
      all.add(new PaymentsSection(customers, stripe));
    }
    all.add(new DisputesSection(pool));
    all.add(autoRecharge.section());
    all.addAll(sections);
    this.state = new BillingState(pool, all);
  }

  /** What metering reports each settlement's balance to (auto-recharge and low-balance e-mails). */
  public BalanceWatch balanceWatch() {
    return autoRecharge.balanceWatch();
  }

  /** What the web app needs to offer billing: whether it is on, the publishable key and the top-up amounts. */
  public static JsonObject publicConfig(BillingSettings settings) {
    JsonArray presets = new JsonArray();
    settings.presetsMicros().forEach(p -> presets.add(Money.decimalUsd(p)));
    return new JsonObject().put("billing_enabled", settings.enabled())
        .put("stripe_publishable_key", settings.enabled() ? settings.publishableKey() : null)
        .put("topup", new JsonObject().put("min_usd", Money.decimalUsd(settings.topUpMinMicros()))
            .put("max_usd", Money.decimalUsd(settings.topUpMaxMicros())).put("presets_usd", presets));
  }

  @Override
  public void mountRaw(Router api) {
    // The signature covers the exact bytes, so this route reads its own raw body (up to 1 MiB), not parsed JSON.
    api.post("/billing/stripe/webhook").handler(BodyLimit.create(MAX_WEBHOOK_BYTES)).handler(this::webhook);
  }

  @Override
  public void mountSignedIn(Router api) {
    api.post("/orgs/:orgId/billing/checkout").handler(this::checkout);
    api.post("/orgs/:orgId/billing/portal").handler(this::portal);
    api.get("/orgs/:orgId/billing").handler(this::state);
    api.post("/orgs/:orgId/billing/subscription").handler(this::subscribe);
    autoRecharge.mount(api);
  }

  private void webhook(RoutingContext ctx) {
    requireEnabled(settings);
    Buffer body = ctx.body().buffer();
    webhook.receive(body == null ? Buffer.buffer() : body, ctx.request().getHeader("Stripe-Signature"))
        .onSuccess(outcome -> Json.send(ctx, 200, new JsonObject().put("received", true)
            .put("outcome", outcome.outcome())))
        .onFailure(ctx::fail);
  }

  /** {usd}: a Checkout Session for that much credit; admin or owner of the organization. */
  private void checkout(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    // Membership first: a non-member gets 404 exactly as for an unknown organization, billing on or off.
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN).compose(role -> {
      requireEnabled(settings);
      long micros = topUpUsd(Json.body(ctx), "usd", settings);
      return customers.customerFor(orgId).compose(customer -> stripe.createCheckout(orgId, customer,
              micros / BillingSettings.MICROS_PER_CENT,
              links.billingPage(orgId, "checkout=success&session_id={CHECKOUT_SESSION_ID}"),
              links.billingPage(orgId, "checkout=canceled")))
          .map(session -> new JsonObject().put("object", "checkout_session").put("id", session.id())
              .put("url", session.url()).put("org_id", orgId).put("amount_micros", micros)
              .put("amount_usd", Money.decimalUsd(micros)));
    }).onSuccess(json -> Json.send(ctx, 201, json)).onFailure(ctx::fail);
  }

  /** A Stripe Billing Portal session (cards, invoices, receipts) returning to the Billing tab; admin or owner. */
  private void portal(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN).compose(role -> {
      requireEnabled(settings);
      return customers.customerFor(orgId).compose(customer -> stripe.call("create the Billing Portal session",
              c -> c.v1().billingPortal().sessions().create(SessionCreateParams.builder().setCustomer(customer)
                  .setReturnUrl(links.billingPage(orgId, null)).build())))
          .map(session -> new JsonObject().put("object", "billing_portal_session").put("id", session.getId())
              .put("url", session.getUrl()).put("org_id", orgId));
    }).onSuccess(json -> Json.send(ctx, 201, json)).onFailure(ctx::fail);
  }

  /** The organization's billing state; any member. */
  private void state(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.MEMBER).compose(role -> {
      requireEnabled(settings);
      return state.of(orgId);
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  /** {plan}: a Checkout Session subscribing the organization to that plan; admin or owner. */
  private void subscribe(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN).compose(role -> {
      requireEnabled(settings);
      return subscriptionCheckout.start(orgId, Json.string(Json.body(ctx), "plan", 64));
    }).onSuccess(json -> Json.send(ctx, 201, json)).onFailure(ctx::fail);
  }

  /**
   * A top-up amount (a Checkout top-up, an auto-recharge): a USD string of whole cents within
   * BILLING_TOPUP_MIN_USD..BILLING_TOPUP_MAX_USD; 400 {@code invalid_amount} naming {@code field} otherwise.
   */
  public static long topUpUsd(JsonObject body, String field, BillingSettings settings) {
    long micros = Json.usd(body, field, false);
    if (micros < settings.topUpMinMicros() || micros > settings.topUpMaxMicros()) {
      throw Json.invalidAmount("'" + field + "' must be between " + Money.formatUsd(settings.topUpMinMicros())
          + " and " + Money.formatUsd(settings.topUpMaxMicros()) + ".", field);
    }
    if (micros % BillingSettings.MICROS_PER_CENT != 0) {
      throw Json.invalidAmount("'" + field + "' must be whole cents, such as \"25.50\".", field);
    }
    return micros;
  }

  /** 503 {@code billing_disabled} when billing is off; for every billing route, after its membership check. */
  public static void requireEnabled(BillingSettings settings) {
    if (!settings.enabled()) {
      throw ApiError.of(503, "billing_disabled", "Billing is not enabled on this server (no STRIPE_SECRET_KEY).",
          (String) null);
    }
  }
}
