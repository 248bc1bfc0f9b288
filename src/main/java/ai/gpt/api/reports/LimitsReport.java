package ai.gpt.api.reports;

import ai.gpt.api.billing.Money;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.limits.Bucket;
import ai.gpt.api.limits.LimiterSettings;
import ai.gpt.api.limits.Limits;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.limits.ScopeBuckets;
import ai.gpt.api.limits.TokenBucket;
import ai.gpt.api.limits.Window;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * An organization's effective limits (plan, override, effective, computed as {@link ai.gpt.api.auth.KeyStore}
 * does) with what is left in each window, read from the same Redis buckets admission uses and refilled by
 * {@link TokenBucket}, the Java twin of the scripts' {@code token_bucket.lua}; and
 * the credit balance. Optionally the same for one key. Reading changes nothing in Redis.
 */
public final class LimitsReport {
  private static final String[] COLUMNS = {"rpm", "rph", "rpd", "tpm", "tph", "tpd"};
  private static final String ORG = """
      SELECT o.plan_id, p.name AS plan_name,
             p.rpm AS p_rpm, p.rph AS p_rph, p.rpd AS p_rpd, p.tpm AS p_tpm, p.tph AS p_tph, p.tpd AS p_tpd,
             p.concurrency AS p_concurrency,
             o.rpm AS o_rpm, o.rph AS o_rph, o.rpd AS o_rpd, o.tpm AS o_tpm, o.tph AS o_tph, o.tpd AS o_tpd,
             o.concurrency AS o_concurrency,
             COALESCE((SELECT b.balance_micros FROM org_balances b WHERE b.org_id = o.id), 0) AS ledger
        FROM organizations o JOIN plans p ON p.id = o.plan_id WHERE o.id = $1""";
  private static final String KEY = """
      SELECT id, public_id, name, status, rpm AS k_rpm, rph AS k_rph, rpd AS k_rpd, tpm AS k_tpm, tph AS k_tph,
             tpd AS k_tpd, concurrency AS k_concurrency
        FROM api_keys WHERE org_id = $1 AND public_id = $2""";

  private final Pool pool;
  private final Redis redis;
  private final LimiterSettings settings;

  public LimitsReport(Pool pool, Redis redis, LimiterSettings settings) {
    this.pool = pool;
    this.redis = redis;
    this.settings = settings;
  }

  /** The report; {@code keyPublicId} null for the organization only. 404 (param key_id) for a key not in the org. */
  public Future<JsonObject> report(long orgId, String keyPublicId) {
    var org = pool.preparedQuery(ORG).execute(Tuple.of(orgId));
    Future<Row> key = keyPublicId == null ? Future.succeededFuture(null)
        : pool.preparedQuery(KEY).execute(Tuple.of(orgId, keyPublicId)).compose(rows -> rows.size() == 0
            ? Future.failedFuture(ApiError.of(404, "key_not_found", "No key '" + keyPublicId
                + "' in this organization.", "key_id"))
            : Future.succeededFuture(rows.iterator().next()));
    return Future.all(org, key).compose(v -> {
      Row o = org.result().iterator().next();
      Limits orgLimits = limits(o, "o_", "p_");
      Integer orgConcurrency = o.getInteger("o_concurrency") != null ? o.getInteger("o_concurrency")
          : o.getInteger("p_concurrency");
      Row k = key.result();
      Limits keyLimits = k == null ? null : limits(k, "k_", null);
      long keyId = k == null ? 0 : k.getLong("id");

      // One round trip, all keys in the organization's slot: TIME first (the scripts' only clock), then buckets.
      List<Request> batch = new ArrayList<>();
      batch.add(Request.cmd(Command.TIME));
      batch.add(Request.cmd(Command.GET).arg(RedisKeys.balance(orgId)));
      batch.add(Request.cmd(Command.HGET).arg(RedisKeys.holds(orgId)).arg("_total"));
      batch.add(Request.cmd(Command.GET).arg(RedisKeys.limits(orgId, keyId, Bucket.Scope.ORG)));
      if (k != null) {
        batch.add(Request.cmd(Command.GET).arg(RedisKeys.limits(orgId, keyId, Bucket.Scope.KEY)));
        batch.add(Request.cmd(Command.ZRANGEBYSCORE).arg(RedisKeys.concurrency(orgId, keyId)).arg("(0").arg("+inf")
            .arg("WITHSCORES"));
      }
      return redis.batch(batch).map(replies -> {
        long now = replies.get(0).get(0).toLong() * 1000 + replies.get(0).get(1).toLong() / 1000;
        ScopeBuckets orgState = buckets(replies.get(3));
        ScopeBuckets keyState = k == null ? null : buckets(replies.get(4));
        JsonArray orgWindows = new JsonArray();
        JsonArray keyWindows = new JsonArray();
        for (Bucket.Kind kind : Bucket.Kind.values()) {
          for (Window w : Window.values()) {
            orgWindows.add(window(new Bucket(Bucket.Scope.ORG, kind, w), orgLimits.get(kind, w), now, orgState)
                .put("plan", o.getLong("p_" + column(kind, w))).put("override", o.getLong("o_" + column(kind, w))));
            if (keyLimits != null) {
              keyWindows.add(window(new Bucket(Bucket.Scope.KEY, kind, w), keyLimits.get(kind, w), now, keyState));
            }
          }
        }
        JsonObject out = new JsonObject().put("org_id", orgId)
            .put("plan", new JsonObject().put("id", o.getString("plan_id")).put("name", o.getString("plan_name")))
            .put("as_of", Instant.ofEpochMilli(now).toString())
            .put("org", new JsonObject().put("windows", orgWindows)
                .put("concurrency_per_key", new JsonObject().put("limit", orgConcurrency)
                    .put("plan", o.getInteger("p_concurrency")).put("override", o.getInteger("o_concurrency"))))
            .put("credit", credit(o.getLong("ledger"), replies.get(1), replies.get(2)));
        if (k != null) {
          Integer own = k.getInteger("k_concurrency");
          Integer effective = own == null ? orgConcurrency : orgConcurrency == null ? own
              : (Integer) Math.min(own, orgConcurrency); // boxed: an unlimited (null) value must not be unboxed
          int inFlight = 0;
          Response leases = replies.get(replies.size() - 1);
          // WITHSCORES: member, score pairs (RESP2) or [member, score] entries (RESP3); only unexpired leases count.
          List<Long> expiries = new ArrayList<>();
          if (leases != null) {
            for (int i = 0; i < leases.size(); i++) {
              Response e = leases.get(i);
              if (e.size() == 2) {
                expiries.add((long) Double.parseDouble(e.get(1).toString()));
              } else if (i % 2 == 1) {
                expiries.add((long) Double.parseDouble(e.toString()));
              }
            }
          }
          for (long exp : expiries) {
            if (exp > now) {
              inFlight++;
            }
          }
          out.put("key", new JsonObject().put("key_id", k.getString("public_id")).put("name", k.getString("name"))
              .put("status", k.getString("status")).put("windows", keyWindows)
              .put("concurrency", new JsonObject().put("limit", effective).put("own", own)
                  .put("in_flight", inFlight)));
        }
        return out;
      });
    });
  }

  private JsonObject window(Bucket b, Long cap, long now, ScopeBuckets state) {
    JsonObject json = new JsonObject().put("kind", b.kind().word()).put("window", b.window().word()).put("limit", cap);
    if (cap == null) {
      return json.put("remaining", null).put("reset_ms", null).put("reset_at", null);
    }
    long windowMs = settings.windowMs(b.window());
    double level = state.level(b, cap, windowMs, now);
    long resetMs = TokenBucket.msUntilFull(level, cap, windowMs);
    return json.put("remaining", TokenBucket.remaining(level)).put("reset_ms", resetMs)
        .put("reset_at", Instant.ofEpochMilli(now + resetMs).toString());
  }

  private static ScopeBuckets buckets(Response packed) {
    return ScopeBuckets.decode(packed == null ? null : packed.toBytes());
  }

  /**
   * The balance: the hot one in Redis when loaded (it already counts every settled request), else the ledger's;
   * minus the holds of requests in flight.
   */
  private static JsonObject credit(long ledger, Response hot, Response holds) {
    boolean loaded = hot != null;
    long balance = loaded ? Long.parseLong(hot.toString()) : ledger;
    long held = holds == null ? 0 : Long.parseLong(holds.toString());
    long available = balance - held;
    return new JsonObject().put("balance_micros", balance).put("balance_usd", Money.decimalUsd(balance))
        .put("held_micros", held).put("available_micros", available)
        .put("available_usd", Money.decimalUsd(available))
        .put("ledger_balance_micros", ledger).put("source", loaded ? "redis" : "ledger");
  }

  private static Limits limits(Row r, String prefix, String fallback) {
    Long[] v = new Long[COLUMNS.length];
    for (int i = 0; i < COLUMNS.length; i++) {
      Long own = r.getLong(prefix + COLUMNS[i]);
      v[i] = own != null || fallback == null ? own : r.getLong(fallback + COLUMNS[i]);
    }
    return new Limits(v[0], v[1], v[2], v[3], v[4], v[5], null);
  }

  private static String column(Bucket.Kind kind, Window w) {
    return (kind == Bucket.Kind.REQUESTS ? "r" : "t") + "p" + w.code();
  }
}
