package ai.gpt.api.billing.stripe;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.json.StrictJson;
import com.stripe.exception.SignatureVerificationException;
import com.stripe.net.Webhook;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Stripe's webhook events: verified, then handed to the {@link StripeEventHandler} of their type, which applies
 * each exactly once (see {@link StripeEvents}). Types no handler takes are recorded as {@code ignored}.
 */
public final class StripeWebhook {
  private final Vertx vertx;
  private final StripeEvents events;
  private final String secret;
  private final Map<String, StripeEventHandler> handlers = new HashMap<>();
  private final StripeHealth health;

  /** @param health where each verified event's processing (done or failed) is counted for the status page */
  public StripeWebhook(Vertx vertx, StripeEvents events, String secret, List<StripeEventHandler> handlers,
      StripeHealth health) {
    this.vertx = vertx;
    this.health = health;
    this.events = events;
    this.secret = secret;
    for (StripeEventHandler h : handlers) {
      for (String type : h.types()) {
        if (this.handlers.put(type, h) != null) {
          throw new IllegalArgumentException("Two handlers for Stripe event " + type);
        }
      }
    }
  }

  /**
   * Verifies {@code signature} (the Stripe-Signature header) on the raw body with stripe-java's
   * {@link Webhook.Signature#verifyHeader} (HMAC-SHA256, default tolerance 300 s) on a worker thread, then applies
   * it. Any header that does not verify, including one stripe-java cannot parse, is {@code invalid_signature}.
   *
   * @throws ApiError 400 invalid_signature for a missing, wrong or stale signature
   */
  public Future<StripeEvents.Outcome> receive(Buffer body, String signature) {
    if (signature == null || signature.isBlank()) {
      return Future.failedFuture(invalidSignature("The Stripe-Signature header is missing."));
    }
    return vertx.executeBlocking(() -> {
      try {
        Webhook.Signature.verifyHeader(body.toString(), signature, secret, Webhook.DEFAULT_TOLERANCE);
      } catch (SignatureVerificationException e) {
        throw invalidSignature("The Stripe-Signature header does not verify: " + e.getMessage());
      } catch (RuntimeException e) { // a header stripe-java cannot even read (t=1.5, t=99999999999999999999)
        throw invalidSignature("The Stripe-Signature header does not verify: it is not t=<unix seconds>,v1=<hex>.");
      }
      return StrictJson.object(body); // signed, yet not a JSON object: 400 invalid_json
    }, false).compose(event -> apply(event)
        .onComplete(ar -> health.record(StripeHealth.Kind.WEBHOOK, ar.succeeded())));
  }

  private Future<StripeEvents.Outcome> apply(JsonObject event) {
    String id = event.getValue("id") instanceof String s ? s : null;
    String type = event.getValue("type") instanceof String s ? s : null;
    JsonObject data = event.getValue("data") instanceof JsonObject d ? d : null;
    JsonObject object = data != null && data.getValue("object") instanceof JsonObject o ? o : null;
    if (id == null || type == null || object == null) {
      return Future.failedFuture(ApiError.invalidRequest("The event has no id, type or data.object.", null));
    }
    StripeEvent e = new StripeEvent(id, type, object, event);
    StripeEventHandler handler = handlers.get(type);
    return events.seen(id).compose(seen -> seen ? Future.succeededFuture(StripeEvents.DUPLICATE)
        : handler == null ? events.record(e, null, "ignored") : handler.apply(e));
  }

  private static ApiError invalidSignature(String message) {
    return ApiError.of(400, "invalid_signature", message, "Stripe-Signature");
  }
}
