package ai.gpt.api.billing.stripe;

import ai.gpt.api.billing.Money;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;

/**
 * The {@code disputes} part of the billing state: whether API access is suspended, and the organization's disputes,
 * open ones first (so the first row tells whether any is open), then the latest closed ones.
 */
public final class DisputesSection implements BillingStateSection {
  static final int SHOWN = 20;
  private static final String DISPUTES = "SELECT id, charge_id, payment_intent, amount_micros, reason, status,"
      + " opened_at, closed_at FROM stripe_disputes WHERE org_id = $1"
      + " ORDER BY closed_at IS NULL DESC, opened_at DESC, id LIMIT " + SHOWN;

  private final Pool pool;

  public DisputesSection(Pool pool) {
    this.pool = pool;
  }

  @Override
  public String name() {
    return "disputes";
  }

  @Override
  public Future<Object> describe(long orgId) {
    return pool.preparedQuery(DISPUTES).execute(Tuple.of(orgId)).map(rows -> {
      JsonArray data = new JsonArray();
      boolean suspended = false;
      for (Row r : rows) {
        boolean open = r.getOffsetDateTime("closed_at") == null;
        suspended |= open;
        long micros = r.getLong("amount_micros");
        data.add(new JsonObject().put("id", r.getString("id")).put("charge", r.getString("charge_id"))
            .put("payment_intent", r.getString("payment_intent")).put("amount_micros", micros)
            .put("amount_usd", Money.decimalUsd(micros)).put("reason", r.getString("reason"))
            .put("status", r.getString("status")).put("open", open)
            .put("opened_at", time(r.getOffsetDateTime("opened_at")))
            .put("closed_at", time(r.getOffsetDateTime("closed_at"))));
      }
      return new JsonObject().put("suspended", suspended).put("data", data);
    });
  }

  private static String time(OffsetDateTime t) {
    return t == null ? null : t.toInstant().toString();
  }
}
