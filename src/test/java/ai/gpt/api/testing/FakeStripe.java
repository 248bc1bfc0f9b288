package ai.gpt.api.testing;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The part of Stripe's API the gateway calls (point STRIPE_API_BASE at {@link #base}): {@code POST /v1/customers},
 * {@code POST /v1/checkout/sessions} and {@code POST /v1/payment_intents} (off-session charges, see
 * {@link #chargeOutcome}), form-encoded as stripe-java sends them, answered with Stripe's JSON shapes; every
 * request is recorded. {@link #signature} signs webhook payloads with Stripe's real scheme.
 */
public final class FakeStripe implements AutoCloseable {
  /** One request received: its path, decoded form fields ({@code metadata[org_id]} style keys) and headers. */
  public record Received(String path, Map<String, String> form, MultiMap headers) {}

  private final HttpServer server;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final AtomicInteger ids = new AtomicInteger();
  private final List<JsonObject> objects = new CopyOnWriteArrayList<>();
  private volatile boolean down;
  private final List<JsonObject> paymentIntents = new CopyOnWriteArrayList<>();
  private volatile String chargeOutcome = "succeeded";

  private FakeStripe(Vertx vertx) {
    Router router = Router.router(vertx);
    router.route().handler(BodyHandler.create(false));
    router.post("/v1/customers").handler(ctx -> answer(ctx, form -> new JsonObject()
        .put("id", "cus_test" + ids.incrementAndGet()).put("object", "customer")
        .put("created", Instant.now().getEpochSecond()).put("livemode", false)
        .put("name", form.get("name")).put("metadata", metadata(form))));
    router.post("/v1/checkout/sessions").handler(ctx -> answer(ctx, form -> {
      String id = "cs_test_" + ids.incrementAndGet();
      long quantity = Long.parseLong(form.getOrDefault("line_items[0][quantity]", "1"));
      // A Price managed in Stripe (line_items[0][price]) has an amount the fake does not know: null, as for a
      // session whose amount Stripe computes later.
      String unit = form.get("line_items[0][price_data][unit_amount]");
      Long amount = unit == null ? null : Long.parseLong(unit) * quantity;
      return new JsonObject().put("id", id).put("object", "checkout.session").put("mode", form.get("mode"))
          .put("status", "open").put("payment_status", "unpaid").put("livemode", false)
          .put("customer", form.get("customer")).put("client_reference_id", form.get("client_reference_id"))
          .put("currency", form.getOrDefault("line_items[0][price_data][currency]", "usd")).put("amount_subtotal", amount)
          .put("amount_total", amount).put("metadata", metadata(form)).put("success_url", form.get("success_url"))
          .put("cancel_url", form.get("cancel_url")).put("url", "https://checkout.stripe.com/c/pay/" + id);
    }));
    router.post("/v1/billing_portal/sessions").handler(ctx -> answer(ctx, form -> new JsonObject()
        .put("id", "bps_test_" + ids.incrementAndGet()).put("object", "billing_portal.session")
        .put("customer", form.get("customer")).put("return_url", form.get("return_url")).put("livemode", false)
        .put("created", Instant.now().getEpochSecond())
        .put("url", "https://billing.stripe.com/p/session/test_" + ids.get())));
    router.get("/v1/charges").handler(ctx -> list(ctx, "charge"));
    router.get("/v1/charges/:id").handler(ctx -> retrieve(ctx, "charge"));
    router.get("/v1/refunds").handler(ctx -> list(ctx, "refund"));
    router.get("/v1/invoices").handler(ctx -> list(ctx, "invoice"));
    router.post("/v1/payment_intents").handler(ctx -> answer(ctx, this::paymentIntent));
    server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await();
  }

  /**
   * Adds a charge, refund or invoice (by its {@code object} field) to what {@code GET /v1/charges},
   * {@code /v1/refunds} and {@code /v1/invoices} list (newest {@code created} first, as Stripe does).
   */
  public void add(JsonObject object) {
    objects.add(object);
  }

  /** While down, every request answers 500 as Stripe does in an outage (stripe-java retries, then fails). */
  public void down(boolean down) {
    this.down = down;
  }

  public static FakeStripe start(Vertx vertx) {
    return new FakeStripe(vertx);
  }

  public String base() {
    return "http://127.0.0.1:" + server.actualPort();
  }

  /**
   * How the next PaymentIntents confirm: {@code "succeeded"} (the default), {@code "requires_action"} (the bank
   * wants 3-D Secure), or a decline code such as {@code "insufficient_funds"}: Stripe's card error, HTTP 402.
   */
  public void chargeOutcome(String outcome) {
    this.chargeOutcome = outcome;
  }

  /** The PaymentIntents created so far, as Stripe returned them (or put them in its card error), oldest first. */
  public List<JsonObject> paymentIntents() {
    return List.copyOf(paymentIntents);
  }

  /** The requests received on {@code path}, oldest first. */
  public List<Received> received(String path) {
    return received.stream().filter(r -> r.path().equals(path)).toList();
  }

  /**
   * Stripe's {@code Stripe-Signature} header for {@code payload} signed at {@code unixSeconds}:
   * {@code t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>}.
   */
  public static String signature(String secret, String payload, long unixSeconds) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      byte[] sig = mac.doFinal((unixSeconds + "." + payload).getBytes(StandardCharsets.UTF_8));
      return "t=" + unixSeconds + ",v1=" + HexFormat.of().formatHex(sig);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private void answer(RoutingContext ctx, java.util.function.Function<Map<String, String>, JsonObject> make) {
    Map<String, String> form = new HashMap<>();
    ctx.request().formAttributes().forEach(e -> form.put(e.getKey(), e.getValue()));
    ctx.queryParams().forEach(e -> form.put(e.getKey(), e.getValue())); // a GET's parameters
    received.add(new Received(ctx.request().path(), form, MultiMap.caseInsensitiveMultiMap()
        .addAll(ctx.request().headers())));
    if (down) {
      ctx.response().setStatusCode(500).putHeader("content-type", "application/json")
          .end(new JsonObject().put("error", new JsonObject().put("type", "api_error")
              .put("message", "An unknown error occurred")).encode());
      return;
    }
    String auth = ctx.request().getHeader("Authorization");
    if (auth == null || !auth.startsWith("Bearer sk_")) {
      ctx.response().setStatusCode(401).putHeader("content-type", "application/json")
          .end(new JsonObject().put("error", new JsonObject().put("type", "invalid_request_error")
              .put("message", "Invalid API Key provided")).encode());
      return;
    }
    JsonObject body = make.apply(form);
    // The only error this fake makes is a card error, which Stripe answers with 402 Payment Required.
    ctx.response().setStatusCode(body.containsKey("error") ? 402 : 200).putHeader("content-type", "application/json")
        .putHeader("request-id", "req_test").end(body.encode());
  }

  /** A confirmed off-session PaymentIntent, or Stripe's card error embedding it when {@link #chargeOutcome} declines. */
  private JsonObject paymentIntent(Map<String, String> form) {
    int n = ids.incrementAndGet();
    String outcome = chargeOutcome;
    String status = outcome.equals("succeeded") || outcome.equals("requires_action") ? outcome
        : "requires_payment_method";
    long amount = Long.parseLong(form.get("amount"));
    String id = "pi_test_" + n;
    JsonObject pi = new JsonObject().put("id", id).put("object", "payment_intent").put("amount", amount)
        .put("amount_capturable", 0).put("amount_received", status.equals("succeeded") ? amount : 0)
        .put("capture_method", "automatic_async").put("client_secret", id + "_secret_test")
        .put("confirmation_method", "automatic").put("created", Instant.now().getEpochSecond())
        .put("currency", form.get("currency")).put("customer", form.get("customer"))
        .put("description", form.get("description")).put("livemode", false).put("metadata", metadata(form))
        .put("payment_method", form.get("payment_method"))
        .put("payment_method_types", new JsonArray().add("card")).put("status", status)
        .putNull("setup_future_usage").put("latest_charge", "ch_test_" + n)
        .put("next_action", status.equals("requires_action") ? new JsonObject().put("type", "use_stripe_sdk")
            .put("use_stripe_sdk", new JsonObject().put("type", "three_d_secure_redirect")) : null)
        .putNull("last_payment_error");
    if (!status.equals("requires_payment_method")) {
      paymentIntents.add(pi);
      return pi;
    }
    JsonObject error = new JsonObject().put("charge", "ch_test_" + n).put("code", "card_declined")
        .put("decline_code", outcome).put("doc_url", "https://stripe.com/docs/error-codes/card-declined")
        .put("message", "Your card was declined.").put("request_log_url",
            "https://dashboard.stripe.com/test/logs/req_test?t=" + Instant.now().getEpochSecond())
        .put("type", "card_error");
    pi.put("last_payment_error", error.copy().put("payment_method", new JsonObject()
        .put("id", form.get("payment_method")).put("object", "payment_method").put("type", "card")));
    paymentIntents.add(pi);
    return new JsonObject().put("error", error.copy().put("payment_intent", pi)
        .put("payment_method", new JsonObject().put("id", form.get("payment_method")).put("object", "payment_method")
            .put("type", "card")));
  }

  /**
   * A list in Stripe's envelope {@code {object: "list", data, has_more, url}}, filtered by the query parameters
   * the gateway sends ({@code customer}, {@code payment_intent}, {@code charge}, {@code status},
   * {@code created[gte]}, {@code created[lt]}) and paged by {@code limit} and {@code starting_after}.
   */
  private void list(RoutingContext ctx, String type) {
    answer(ctx, form -> {
      MultiMap q = ctx.queryParams();
      List<JsonObject> matching = objects.stream().filter(o -> type.equals(o.getString("object")))
          .filter(o -> List.of("customer", "payment_intent", "charge", "status").stream()
              .allMatch(f -> q.get(f) == null || q.get(f).equals(o.getString(f))))
          .filter(o -> q.get("created[gte]") == null || o.getLong("created") >= Long.parseLong(q.get("created[gte]")))
          .filter(o -> q.get("created[lt]") == null || o.getLong("created") < Long.parseLong(q.get("created[lt]")))
          .sorted((a, b) -> Long.compare(b.getLong("created"), a.getLong("created"))).toList();
      int from = 0;
      if (q.get("starting_after") != null) {
        from = matching.stream().map(o -> o.getString("id")).toList().indexOf(q.get("starting_after")) + 1;
      }
      int limit = q.get("limit") == null ? 10 : Integer.parseInt(q.get("limit"));
      List<JsonObject> page = matching.subList(from, Math.min(matching.size(), from + limit));
      return new JsonObject().put("object", "list").put("data", new io.vertx.core.json.JsonArray(page))
          .put("has_more", from + limit < matching.size()).put("url", ctx.request().path());
    });
  }

  private void retrieve(RoutingContext ctx, String type) {
    JsonObject found = objects.stream().filter(o -> type.equals(o.getString("object"))
        && ctx.pathParam("id").equals(o.getString("id"))).findFirst().orElse(null);
    if (found == null) {
      received.add(new Received(ctx.request().path(), Map.of(), ctx.request().headers()));
      ctx.response().setStatusCode(404).putHeader("content-type", "application/json")
          .end(new JsonObject().put("error", new JsonObject().put("type", "invalid_request_error")
              .put("code", "resource_missing").put("message", "No such " + type + ": '" + ctx.pathParam("id") + "'"))
              .encode());
      return;
    }
    answer(ctx, form -> found);
  }

  private static JsonObject metadata(Map<String, String> form) {
    JsonObject m = new JsonObject();
    form.forEach((k, v) -> {
      if (k.startsWith("metadata[") && k.endsWith("]")) {
        m.put(k.substring("metadata[".length(), k.length() - 1), v);
      }
    });
    return m;
  }

  @Override
  public void close() {
    server.close().await();
  }
}
