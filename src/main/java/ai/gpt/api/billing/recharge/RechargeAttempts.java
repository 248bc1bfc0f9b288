package ai.gpt.api.billing.recharge;

import ai.gpt.api.billing.Money;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;

/**
 * The {@code auto_recharge_attempts} table: at most one pending charge per organization (its partial unique index,
 * and the settings row locked while one is begun), at most {@code BILLING_AUTO_RECHARGE_MAX_PER_DAY} charges that
 * moved or may have moved money (pending, succeeded, expired) in any 24 hours, and a pending charge that Stripe
 * never answered for {@link #PENDING_EXPIRY} expires, so it cannot block the organization forever.
 */
final class RechargeAttempts {
  /** Stripe answers an off-session charge within seconds and sends its event within minutes. */
  static final String PENDING_EXPIRY = "1 hour";
  private static final String COUNTED = "status <> 'failed' AND created_at > now() - interval '24 hours'";

  private static final String LOCK_SETTINGS = "SELECT s.enabled, s.amount_micros, p.payment_method_id,"
      + " p.customer_id FROM auto_recharge_settings s LEFT JOIN billing_payment_methods p ON p.org_id = s.org_id"
      + " WHERE s.org_id = $1 FOR UPDATE OF s";
  private static final String EXPIRE = "UPDATE auto_recharge_attempts SET status = 'expired', finished_at = now(),"
      + " failure_reason = 'no answer from Stripe within " + PENDING_EXPIRY + "' WHERE org_id = $1"
      + " AND status = 'pending' AND created_at < now() - interval '" + PENDING_EXPIRY + "'";
  private static final String COUNT = "SELECT count(*) FILTER (WHERE status = 'pending') AS pending,"
      + " count(*) FILTER (WHERE " + COUNTED + ") AS used FROM auto_recharge_attempts WHERE org_id = $1";
  private static final String INSERT = "INSERT INTO auto_recharge_attempts (org_id, amount_micros, status)"
      + " VALUES ($1, $2, 'pending') RETURNING id";
  private static final String CHARGED = "UPDATE auto_recharge_attempts SET payment_intent_id = $2 WHERE id = $1";
  private static final String FAIL = "UPDATE auto_recharge_attempts SET status = 'failed', finished_at = now(),"
      + " failure_reason = $2, payment_intent_id = COALESCE($3, payment_intent_id)"
      + " WHERE id = $1 AND status = 'pending' RETURNING org_id, amount_micros";
  private static final String TURN_OFF = "UPDATE auto_recharge_settings SET enabled = false, disabled_reason = $2,"
      + " updated_at = now() WHERE org_id = $1";
  private static final String SUCCEED = "UPDATE auto_recharge_attempts SET status = 'succeeded', finished_at = now(),"
      + " payment_intent_id = $3, failure_reason = NULL WHERE id = $1 AND org_id = $2 AND status <> 'succeeded'";
  private static final String WATCH = "SELECT s.enabled, s.threshold_micros,"
      + " (SELECT count(*) FROM auto_recharge_attempts WHERE org_id = $1 AND status = 'pending'"
      + " AND created_at > now() - interval '" + PENDING_EXPIRY + "') AS pending,"
      + " (SELECT count(*) FROM auto_recharge_attempts WHERE org_id = $1 AND " + COUNTED + ") AS used,"
      + " ARRAY(SELECT threshold_micros FROM low_balance_alerts WHERE org_id = $1) AS alerted"
      + " FROM (SELECT 1) one LEFT JOIN auto_recharge_settings s ON s.org_id = $1";
  private static final String LAST = "SELECT status, amount_micros, payment_intent_id, failure_reason, created_at,"
      + " finished_at, (SELECT count(*) FROM auto_recharge_attempts WHERE org_id = $1 AND " + COUNTED + ") AS used"
      + " FROM (SELECT 1) one LEFT JOIN (SELECT * FROM auto_recharge_attempts WHERE org_id = $1"
      + " ORDER BY id DESC LIMIT 1) a ON true";

  /** What {@link #begin} did. */
  sealed interface Begun permits Started, NotStarted {}

  /** A charge to make: the attempt's id, its amount and the card. */
  record Started(long attemptId, long amountMicros, String customer, String paymentMethod) implements Begun {}

  /** Why no charge was begun. */
  enum NotStarted implements Begun { DISABLED, PENDING, CAPPED }

  /** What the per-settlement check needs of an organization, read in one query. */
  record Watch(boolean enabled, long thresholdMicros, boolean blocked, Long[] alerted) {}

  private final Pool pool;
  private final int maxPerDay;

  RechargeAttempts(Pool pool, int maxPerDay) {
    this.pool = pool;
    this.maxPerDay = maxPerDay;
  }

  /**
   * Begins a charge if auto-recharge is on with a saved card, none is pending and the daily cap allows: the
   * {@link Started} attempt, committed as pending before Stripe is called; else why not ({@link NotStarted}).
   */
  Future<Begun> begin(long orgId) {
    return pool.withTransaction(tx -> tx.preparedQuery(LOCK_SETTINGS).execute(Tuple.of(orgId)).compose(rows -> {
      Row s = rows.size() == 0 ? null : rows.iterator().next();
      if (s == null || !s.getBoolean("enabled") || s.getString("payment_method_id") == null) {
        return Future.succeededFuture((Begun) NotStarted.DISABLED);
      }
      long amount = s.getLong("amount_micros");
      return tx.preparedQuery(EXPIRE).execute(Tuple.of(orgId))
          .compose(v -> tx.preparedQuery(COUNT).execute(Tuple.of(orgId)))
          .compose(counts -> {
            Row c = counts.iterator().next();
            if (c.getLong("pending") > 0) {
              return Future.succeededFuture(NotStarted.PENDING);
            }
            if (c.getLong("used") >= maxPerDay) {
              return Future.succeededFuture(NotStarted.CAPPED);
            }
            return tx.preparedQuery(INSERT).execute(Tuple.of(orgId, amount)).map(ids -> (Begun) new Started(
                ids.iterator().next().getLong(0), amount, s.getString("customer_id"), s.getString("payment_method_id")));
          });
    }));
  }

  /** The PaymentIntent Stripe created for a pending attempt (it stays pending until its event). */
  Future<Void> charged(long attemptId, String paymentIntent) {
    return pool.preparedQuery(CHARGED).execute(Tuple.of(attemptId, paymentIntent)).mapEmpty();
  }

  /**
   * Inside {@code tx}: a pending attempt failed, and auto-recharge is turned off. The amount it was for, or null
   * when it was no longer pending (a decline seen both in Stripe's answer and in its event fails it once).
   */
  static Future<Long> fail(SqlClient tx, long attemptId, String paymentIntent, String reason) {
    return tx.preparedQuery(FAIL).execute(Tuple.of(attemptId, reason, paymentIntent)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.succeededFuture(null);
      }
      Row r = rows.iterator().next();
      return tx.preparedQuery(TURN_OFF).execute(Tuple.of(r.getLong("org_id"), reason))
          .map(r.getLong("amount_micros"));
    });
  }

  /** Inside {@code tx}: the attempt's PaymentIntent succeeded (even if it had expired meanwhile: it was paid). */
  static Future<Void> succeed(SqlClient tx, long attemptId, long orgId, String paymentIntent) {
    return tx.preparedQuery(SUCCEED).execute(Tuple.of(attemptId, orgId, paymentIntent)).mapEmpty();
  }

  Future<Watch> watch(long orgId) {
    return pool.preparedQuery(WATCH).execute(Tuple.of(orgId)).map(rows -> {
      Row r = rows.iterator().next();
      Long threshold = r.getLong("threshold_micros");
      return new Watch(Boolean.TRUE.equals(r.getBoolean("enabled")), threshold == null ? 0 : threshold,
          r.getLong("pending") > 0 || r.getLong("used") >= maxPerDay, r.getArrayOfLongs("alerted"));
    });
  }

  /** {@code last_attempt} (null before the first) and {@code cap} of the billing state. */
  Future<JsonObject> describe(long orgId) {
    return pool.preparedQuery(LAST).execute(Tuple.of(orgId)).map(rows -> {
      Row r = rows.iterator().next();
      JsonObject last = r.getString("status") == null ? null : new JsonObject().put("status", r.getString("status"))
          .put("amount_micros", r.getLong("amount_micros")).put("amount_usd", Money.decimalUsd(r.getLong("amount_micros")))
          .put("payment_intent", r.getString("payment_intent_id")).put("failure_reason", r.getString("failure_reason"))
          .put("at", instant(r, "created_at")).put("finished_at", instant(r, "finished_at"));
      return new JsonObject().put("last_attempt", last).put("cap", new JsonObject().put("max_per_day", maxPerDay)
          .put("used_last_24h", r.getLong("used")));
    });
  }

  private static String instant(Row r, String column) {
    OffsetDateTime at = r.getOffsetDateTime(column);
    return at == null ? null : at.toInstant().toString();
  }
}
