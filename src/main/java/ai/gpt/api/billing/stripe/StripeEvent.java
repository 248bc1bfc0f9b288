package ai.gpt.api.billing.stripe;

import io.vertx.core.json.JsonObject;

/**
 * One verified Stripe event.
 *
 * @param object {@code data.object}: the checkout session, charge, invoice… the event is about
 * @param whole  the whole event, kept as the payload of a flagged event
 */
public record StripeEvent(String id, String type, JsonObject object, JsonObject whole) {
  /**
   * The largest amount read from an event, in cents: $10 billion, far beyond any Stripe payment (Stripe's own limit
   * is eight digits), and small enough that converting it to micro-USD cannot overflow a long.
   */
  public static final long MAX_AMOUNT_CENTS = 1_000_000_000_000L;

  /** The id of {@link #object} ({@code cs_…}, {@code ch_…}, {@code in_…}). */
  public String objectId() {
    return object.getValue("id") instanceof String id ? id : null; // untrusted: a number here must not throw
  }

  /**
   * The PaymentIntent the object belongs to: its {@code payment_intent} (checkout sessions, charges, disputes), or
   * its own id when it is one; null otherwise (invoices name theirs only in their payments list).
   */
  public String paymentIntent() {
    if (object.getValue("payment_intent") instanceof String pi) {
      return pi;
    }
    return "payment_intent".equals(object.getValue("object")) ? objectId() : null;
  }

  /** The event's {@code created} (Unix seconds), which orders events about one object; 0 if absent. */
  public long created() {
    Long created = wholeNumber(whole.getValue("created"));
    return created == null ? 0 : created;
  }

  /** {@code metadata.org_id}, else {@code client_reference_id}, of the object: digits only, else null. */
  public static Long orgOf(JsonObject object) {
    Object ref = object.getValue("client_reference_id");
    String text = object.getValue("metadata") instanceof JsonObject metadata
        && metadata.getValue("org_id") instanceof String s ? s : ref instanceof String r ? r : null;
    return orgId(text);
  }

  /** An organization id as Stripe metadata carries it (a decimal string); null when it is not one. */
  public static Long orgId(String text) {
    if (text == null || text.isEmpty() || text.length() > 18 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return null;
    }
    return Long.parseLong(text);
  }

  /**
   * A whole number field of the object (Stripe amounts are integer cents), or null: a fraction, an exponent, a
   * number beyond a long or one beyond {@link #MAX_AMOUNT_CENTS} is not an amount (it would otherwise be truncated
   * into one, or overflow when converted to micro-USD).
   */
  public Long amount(String field) {
    Long cents = wholeNumber(object.getValue(field));
    return cents == null || cents > MAX_AMOUNT_CENTS || cents < -MAX_AMOUNT_CENTS ? null : cents;
  }

  /** {@code value} when the JSON parser read it as a whole number that fits a long, else null. */
  public static Long wholeNumber(Object value) {
    return value instanceof Integer || value instanceof Long ? ((Number) value).longValue() : null;
  }
}
