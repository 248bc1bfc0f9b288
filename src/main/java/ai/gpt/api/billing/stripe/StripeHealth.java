package ai.gpt.api.billing.stripe;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How Stripe has been going lately, for the whole cluster: every replica counts the Stripe webhook events it
 * processed (after the signature verified: anyone can post unsigned garbage, only Stripe's failures count) and its
 * Stripe API calls, succeeded or failed, in Redis counters per {@link #BUCKET_MS}, so the status page of every
 * replica judges billing on the same numbers. Recording is fire and forget: it never delays or fails a payment.
 */
public final class StripeHealth {
  private static final Logger LOG = LoggerFactory.getLogger(StripeHealth.class);
  static final long BUCKET_MS = 5_000;
  /** One hash slot for every counter (a Redis Cluster serves the MGET from one node). */
  private static final String PREFIX = "{gptapi:stripe_health}:";

  /** What was counted: our webhook's processing of Stripe's events, and our calls to Stripe's API. */
  public enum Kind { WEBHOOK, API }

  /** Counts over the window. */
  public record Counts(long webhookOk, long webhookFailed, long apiOk, long apiFailed) {}

  private final Redis redis;
  private final long windowMs;

  /** @param windowMs how far back {@link #recent} looks (STATUS_BILLING_WINDOW_SECONDS) */
  public StripeHealth(Redis redis, long windowMs) {
    this.redis = redis;
    this.windowMs = windowMs;
  }

  public long windowMs() {
    return windowMs;
  }

  public void record(Kind kind, boolean ok) {
    String key = key(kind, ok, System.currentTimeMillis() / BUCKET_MS);
    redis.batch(List.of(Request.cmd(Command.INCR).arg(key),
            Request.cmd(Command.PEXPIRE).arg(key).arg(windowMs + 2 * BUCKET_MS)))
        .onFailure(err -> LOG.debug("Could not count a Stripe {} outcome: {}", kind, err.toString()));
  }

  /** The counts of the last window (give or take a bucket), read with one MGET. */
  public Future<Counts> recent() {
    long now = System.currentTimeMillis();
    long first = (now - windowMs) / BUCKET_MS;
    long last = now / BUCKET_MS;
    Request mget = Request.cmd(Command.MGET);
    for (Kind kind : Kind.values()) {
      for (boolean ok : new boolean[] {true, false}) {
        for (long b = first; b <= last; b++) {
          mget.arg(key(kind, ok, b));
        }
      }
    }
    int perSeries = (int) (last - first + 1);
    return redis.send(mget).map(r -> new Counts(sum(r, 0, perSeries), sum(r, 1, perSeries), sum(r, 2, perSeries),
        sum(r, 3, perSeries)));
  }

  private static long sum(Response values, int series, int perSeries) {
    long total = 0;
    for (int i = series * perSeries; i < (series + 1) * perSeries; i++) {
      Response v = values.get(i);
      total += v == null ? 0 : v.toLong();
    }
    return total;
  }

  private static String key(Kind kind, boolean ok, long bucket) {
    return PREFIX + kind.name().toLowerCase(Locale.ROOT) + (ok ? ":ok:" : ":failed:") + bucket;
  }
}
