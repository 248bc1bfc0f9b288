package ai.gpt.api.billing.plans;

import ai.gpt.api.billing.Money;
import ai.gpt.api.limits.Limits;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;

/**
 * One row of {@code plans}: what an organization on it may do (its limits) and, when it is sold as a monthly
 * subscription, what that costs and the credit each paid month includes. Money is integer micro-USD.
 *
 * @param stripePriceId a recurring Price managed in Stripe, or null: Checkout then sends the price inline
 */
public record Plan(String id, String name, String description, long monthlyPriceMicros, long includedCreditMicros,
    boolean forSale, String stripePriceId, Limits limits) {
  /** The free fallback: every organization without a live subscription is on it. */
  public static final String DEFAULT = "default";

  /** The columns {@link #of} reads. */
  static final String COLUMNS = "id, name, description, monthly_price_micros, included_credit_micros, for_sale,"
      + " stripe_price_id, rpm, rph, rpd, tpm, tph, tpd, concurrency";

  static Plan of(Row r) {
    return new Plan(r.getString("id"), r.getString("name"), r.getString("description"),
        r.getLong("monthly_price_micros"), r.getLong("included_credit_micros"), r.getBoolean("for_sale"),
        r.getString("stripe_price_id"), new Limits(r.getLong("rpm"), r.getLong("rph"), r.getLong("rpd"),
            r.getLong("tpm"), r.getLong("tph"), r.getLong("tpd"), r.getInteger("concurrency")));
  }

  /** What anyone may see (the pricing page, an organization's billing state). A null limit is unlimited. */
  public JsonObject toJson() {
    return new JsonObject().put("object", "plan").put("id", id).put("name", name).put("description", description)
        .put("monthly_price_micros", monthlyPriceMicros).put("monthly_price_usd", Money.decimalUsd(monthlyPriceMicros))
        .put("included_credit_micros", includedCreditMicros)
        .put("included_credit_usd", Money.decimalUsd(includedCreditMicros))
        .put("limits", new JsonObject().put("rpm", limits.rpm()).put("rph", limits.rph()).put("rpd", limits.rpd())
            .put("tpm", limits.tpm()).put("tph", limits.tph()).put("tpd", limits.tpd())
            .put("concurrency", limits.concurrency()));
  }

  /** {@link #toJson} and what only operators see: whether it is sold, and the Stripe Price. */
  public JsonObject toAdminJson() {
    return toJson().put("for_sale", forSale).put("stripe_price_id", stripePriceId);
  }
}
