package ai.gpt.api.webhooks;

import ai.gpt.api.limits.AdmissionRequest;
import ai.gpt.api.limits.AdmissionResult;
import ai.gpt.api.limits.Bucket;
import ai.gpt.api.limits.RedisKeys;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code limits.exceeded}: the first 429 of a window for an organization and limit (per key for a key's limits).
 * A 429 is not a row in PostgreSQL, so there is no fact's transaction to join: the event is emitted on its own, once
 * per window across every replica thanks to a Redis {@code SET NX PX window}. Best effort: while Redis or
 * PostgreSQL fails the event is skipped (the 429 itself is unaffected). A refused flood must not add a Redis call per
 * 429, so each replica first remembers, for {@link #LOCAL_GATE}, the limits it already asked Redis about.
 */
public final class LimitEvents {
  private static final Logger LOG = LoggerFactory.getLogger(LimitEvents.class);
  /** Concurrency has no window; a refused organization hears about it at most once a minute. */
  static final long CONCURRENCY_WINDOW_MS = 60_000;
  /** At most one Redis call per limit and replica this often, however many requests the limit refuses. */
  static final Duration LOCAL_GATE = Duration.ofSeconds(1);
  private static final long MAX_GATED = 100_000;
  private static final String EMIT = """
      SELECT webhook_emit($1, 'limits.exceeded', jsonb_build_object('scope', $2::text, 'limit', $3::text,
        'limit_value', $4::bigint, 'window_ms', $5::bigint, 'request_id', $6::text, 'retry_after_ms', $7::bigint,
        'key_id', (SELECT public_id FROM api_keys WHERE id = $8)))""";

  private final Pool pool;
  private final Redis redis;
  private final Cache<String, Boolean> asked =
      Caffeine.newBuilder().maximumSize(MAX_GATED).expireAfterWrite(LOCAL_GATE).build();

  public LimitEvents(Pool pool, Redis redis) {
    this.pool = pool;
    this.redis = redis;
  }

  /** For every admission refused by a rate or concurrency limit (Metering's listener); never fails. */
  public void refused(AdmissionRequest request, AdmissionResult result) {
    String scope;
    String limit;
    Long value;
    long windowMs;
    if (result.outcome() == AdmissionResult.Outcome.RATE_LIMITED && result.tripped() != null) {
      Bucket b = result.tripped();
      scope = b.scope().code();
      limit = b.kind().word() + "_per_" + b.window().word();
      value = (b.scope() == Bucket.Scope.ORG ? request.orgLimits() : request.keyLimits()).get(b.kind(), b.window());
      windowMs = b.window().defaultMillis();
    } else if (result.outcome() == AdmissionResult.Outcome.CONCURRENCY_LIMITED) {
      scope = Bucket.Scope.KEY.code();
      limit = "concurrency";
      value = request.keyLimits().concurrency() == null ? null : request.keyLimits().concurrency().longValue();
      windowMs = CONCURRENCY_WINDOW_MS;
    } else {
      return;
    }
    String dedupe = RedisKeys.PREFIX + "webhooks:limit:" + request.orgId() + ":" + scope + ":" + limit
        + (scope.equals("key") ? ":" + request.keyId() : "");
    if (asked.asMap().putIfAbsent(dedupe, Boolean.TRUE) != null) {
      return;
    }
    redis.send(Request.cmd(Command.SET).arg(dedupe).arg("1").arg("NX").arg("PX").arg(windowMs))
        .compose(reply -> reply == null ? Future.succeededFuture()
            : pool.preparedQuery(EMIT).execute(Tuple.from(new Object[] {request.orgId(), scope, limit, value,
                windowMs, request.requestId(), result.retryAfterMs() < 0 ? null : result.retryAfterMs(),
                request.keyId()})))
        .onFailure(err -> LOG.warn("Could not emit limits.exceeded for organization {}: {}", request.orgId(),
            err.toString()));
  }
}
