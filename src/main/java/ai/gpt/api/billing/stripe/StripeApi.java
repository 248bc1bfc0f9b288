package ai.gpt.api.billing.stripe;

import ai.gpt.api.config.BillingSettings;
import ai.gpt.api.error.ApiError;
import com.stripe.StripeClient;
import com.stripe.exception.CardException;
import com.stripe.exception.InvalidRequestException;
import com.stripe.exception.StripeException;
import com.stripe.model.checkout.Session;
import com.stripe.net.RequestOptions;
import com.stripe.param.CustomerCreateParams;
import com.stripe.param.checkout.SessionCreateParams;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The calls we make to Stripe. stripe-java does its HTTP itself and blocks, so every call runs on a worker thread
 * ({@code executeBlocking}), never on an event loop. Calls go to STRIPE_API_BASE (api.stripe.com, or a fake in
 * tests). Stripe's own retries reuse one idempotency key, so a retried create never makes two objects.
 */
public final class StripeApi {
  private static final Logger LOG = LoggerFactory.getLogger(StripeApi.class);
  private static final int CONNECT_TIMEOUT_MS = 5_000;
  private static final int READ_TIMEOUT_MS = 20_000;
  private static final int RETRIES = 2;

  /** A created Checkout Session: where to send the payer, and its id. */
  public record Checkout(String id, String url) {}

  private final Vertx vertx;
  private final StripeClient client;
  private final StripeHealth health;

  /** Without health counts (the CLI). */
  public StripeApi(Vertx vertx, BillingSettings settings) {
    this(vertx, settings, null);
  }

  /** @param health where each call's success or failure is counted for the status page */
  public StripeApi(Vertx vertx, BillingSettings settings, StripeHealth health) {
    this.vertx = vertx;
    this.health = health;
    this.client = StripeClient.builder().setApiKey(settings.secretKey()).setApiBase(settings.apiBase())
        .setConnectTimeout(CONNECT_TIMEOUT_MS).setReadTimeout(READ_TIMEOUT_MS).setMaxNetworkRetries(RETRIES)
        .build();
  }

  /**
   * Creates the organization's customer. The idempotency key is per organization, so two first checkouts at
   * once (or a retry after a lost answer) get the same customer from Stripe within its 24 h key lifetime.
   */
  public Future<String> createCustomer(long orgId, String orgName) {
    CustomerCreateParams params = CustomerCreateParams.builder().setName(orgName)
        .putMetadata("org_id", Long.toString(orgId)).build();
    RequestOptions options = RequestOptions.builder().setIdempotencyKey("gptapi-customer-org-" + orgId).build();
    return call("create the customer", c -> c.v1().customers().create(params, options).getId());
  }

  /**
   * A Checkout Session in payment mode for {@code cents} of credit. The organization is in
   * {@code client_reference_id} and in the metadata of the session and of its PaymentIntent (so refunds of the
   * charge can be traced back to it); the card is set up for later off-session charges.
   */
  public Future<Checkout> createCheckout(long orgId, String customerId, long cents, String successUrl,
      String cancelUrl) {
    String org = Long.toString(orgId);
    SessionCreateParams params = SessionCreateParams.builder()
        .setMode(SessionCreateParams.Mode.PAYMENT)
        .setCustomer(customerId)
        .setClientReferenceId(org)
        .putMetadata("org_id", org)
        // The card paid with is saved for off-session charges (auto-recharge): see PaymentIntentEvents.
        .setPaymentIntentData(SessionCreateParams.PaymentIntentData.builder().putMetadata("org_id", org)
            .setSetupFutureUsage(SessionCreateParams.PaymentIntentData.SetupFutureUsage.OFF_SESSION).build())
        .addLineItem(SessionCreateParams.LineItem.builder().setQuantity(1L)
            .setPriceData(SessionCreateParams.LineItem.PriceData.builder().setCurrency("usd").setUnitAmount(cents)
                .setProductData(SessionCreateParams.LineItem.PriceData.ProductData.builder()
                    .setName("GPT API credit").build())
                .build())
            .build())
        .setSuccessUrl(successUrl)
        .setCancelUrl(cancelUrl)
        .build();
    return call("create the Checkout Session", c -> {
      Session s = c.v1().checkout().sessions().create(params);
      return new Checkout(s.getId(), s.getUrl());
    });
  }

  /** One blocking stripe-java call on {@link StripeApi#client}. */
  @FunctionalInterface
  public interface Call<T> {
    T run(StripeClient client) throws StripeException;
  }

  /**
   * Runs {@code call} on a worker thread; a failure becomes 502 {@code payment_provider_error} naming
   * {@code what} ("create the customer"), with Stripe's own message when it gave one.
   */
  public <T> Future<T> call(String what, Call<T> call) {
    return call(what, () -> call.run(client));
  }

  /**
   * Whether a failed call says Stripe (or our way to it) is failing, rather than the payer or the request: a
   * declined card or a refused parameter is Stripe working.
   */
  private static boolean unavailable(Throwable err) {
    return !(err instanceof CardException || err instanceof InvalidRequestException);
  }

  private <T> Future<T> call(String what, Callable<T> blocking) {
    return vertx.executeBlocking(blocking, false).onComplete(ar -> {
      if (health != null) {
        health.record(StripeHealth.Kind.API, ar.succeeded() || !unavailable(ar.cause()));
      }
    }).recover(err -> {
      LOG.warn("Stripe: could not {}: {}", what, err.toString());
      String detail = err instanceof StripeException se && se.getStripeError() != null
          && se.getStripeError().getMessage() != null ? " (" + se.getStripeError().getMessage() + ")" : "";
      return Future.failedFuture(ApiError.of(502, "payment_provider_error",
          "The payment provider could not " + what + detail + "; please try again.", (String) null));
    });
  }
}
