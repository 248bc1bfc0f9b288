package ai.gpt.api.billing.recharge;

import ai.gpt.api.billing.Money;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

/** The {@code auto_recharge_settings} and {@code billing_payment_methods} tables. */
final class AutoRechargeStore {
  private static final String READ = "SELECT s.enabled, s.threshold_micros, s.amount_micros, s.disabled_reason,"
      + " p.payment_method_id FROM (SELECT $1::bigint AS org_id) o"
      + " LEFT JOIN auto_recharge_settings s ON s.org_id = o.org_id"
      + " LEFT JOIN billing_payment_methods p ON p.org_id = o.org_id";
  /** Enabling needs a saved card: checked in the same statement (a saved card is replaced, never removed). */
  private static final String WRITE = "INSERT INTO auto_recharge_settings (org_id, enabled, threshold_micros,"
      + " amount_micros) SELECT $1, $2, $3, $4"
      + " WHERE NOT $2 OR EXISTS (SELECT 1 FROM billing_payment_methods WHERE org_id = $1)"
      + " ON CONFLICT (org_id) DO UPDATE SET enabled = EXCLUDED.enabled, threshold_micros = EXCLUDED.threshold_micros,"
      + " amount_micros = EXCLUDED.amount_micros, disabled_reason = NULL, updated_at = now() RETURNING org_id";
  /** Out-of-order events: the card of the newest payment wins. */
  private static final String SAVE_CARD = "INSERT INTO billing_payment_methods (org_id, payment_method_id,"
      + " customer_id, saved_at) VALUES ($1, $2, $3, to_timestamp($4))"
      + " ON CONFLICT (org_id) DO UPDATE SET payment_method_id = EXCLUDED.payment_method_id,"
      + " customer_id = EXCLUDED.customer_id, saved_at = EXCLUDED.saved_at"
      + " WHERE billing_payment_methods.saved_at <= EXCLUDED.saved_at";

  private final Pool pool;

  AutoRechargeStore(Pool pool) {
    this.pool = pool;
  }

  /**
   * The settings as the API shows them: {@code threshold_usd}/{@code amount_usd} null before they were first
   * set, {@code payment_method} null until a top-up saved a card.
   */
  Future<JsonObject> describe(long orgId, int maxPerDay) {
    return pool.preparedQuery(READ).execute(Tuple.of(orgId)).map(rows -> {
      Row r = rows.iterator().next();
      Long threshold = r.getLong("threshold_micros");
      Long amount = r.getLong("amount_micros");
      String card = r.getString("payment_method_id");
      return new JsonObject().put("object", "auto_recharge").put("org_id", orgId)
          .put("enabled", Boolean.TRUE.equals(r.getBoolean("enabled")))
          .put("threshold_micros", threshold).put("threshold_usd", threshold == null ? null : Money.decimalUsd(threshold))
          .put("amount_micros", amount).put("amount_usd", amount == null ? null : Money.decimalUsd(amount))
          .put("disabled_reason", r.getString("disabled_reason"))
          .put("payment_method", card == null ? null : new JsonObject().put("id", card))
          .put("max_per_day", maxPerDay);
    });
  }

  /** Stores the settings; false (nothing stored) when they enable auto-recharge without a saved card. */
  Future<Boolean> write(long orgId, RechargeSettings s) {
    return pool.preparedQuery(WRITE).execute(Tuple.of(orgId, s.enabled(), s.thresholdMicros(), s.amountMicros()))
        .map(rows -> rows.size() > 0);
  }

  /** Inside {@code tx}: the card a payment made at {@code createdUnix} saved for off-session charges. */
  static Future<Void> saveCard(SqlClient tx, long orgId, String paymentMethod, String customer, long createdUnix) {
    return tx.preparedQuery(SAVE_CARD).execute(Tuple.of(orgId, paymentMethod, customer, createdUnix)).mapEmpty();
  }
}
