package ai.gpt.api.billing.plans;

import ai.gpt.api.billing.Money;
import ai.gpt.api.config.BillingSettings;
import ai.gpt.api.input.WholeNumber;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The fields of a plan an operator sets, checked one by one as they are read, from the admin API (JSON values) or
 * the CLI (text): money with {@link Money#parseUsd}, limits with {@link WholeNumber}. Rules that join two fields
 * (a plan for sale has a price; the default plan is never for sale) are the table's CHECK constraints, which
 * {@link PlanEdits} turns into 400s.
 */
public final class PlanChanges {
  /** The field names, as in the JSON body; the CLI's options are the same with '-' for '_'. */
  public static final List<String> FIELDS = List.of("name", "description", "monthly_price_usd", "included_credit_usd",
      "for_sale", "stripe_price_id", "rpm", "rph", "rpd", "tpm", "tph", "tpd", "concurrency");
  public static final List<String> LIMITS = FIELDS.subList(FIELDS.indexOf("rpm"), FIELDS.size());
  private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");
  private static final Pattern PRICE = Pattern.compile("price_[A-Za-z0-9_]{1,200}");
  private static final int MAX_NAME = 100;
  private static final int MAX_DESCRIPTION = 1000;

  /** A field whose value is refused; the message completes a sentence that starts with the field's name. */
  public static final class Invalid extends IllegalArgumentException {
    public final String field;
    public final boolean money;

    Invalid(String field, String message) {
      super(message);
      this.field = field;
      this.money = field.endsWith("_usd");
    }
  }

  /** Column name → value, in the order given; the column names are the only names ever spliced into SQL. */
  private final Map<String, Object> columns = new LinkedHashMap<>();

  /** A new plan's id: lower-case letters, digits, '-' and '_', at most 64. */
  public static String checkId(String id) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new Invalid("id", "must be 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or"
          + " digit, such as \"pro\"");
    }
    return id;
  }

  /** A field as the CLI gives it: text; {@code none} clears a limit or the Stripe Price. */
  public PlanChanges text(String field, String text) {
    return switch (kind(field)) {
      case TEXT -> set(field, words(field, text));
      case MONEY -> set(field, money(field, text));
      case FLAG -> set(field, switch (text) {
        case "true" -> true;
        case "false" -> false;
        default -> throw new Invalid(field, "must be true or false");
      });
      case PRICE -> set(field, "none".equals(text) ? null : price(field, text));
      case LIMIT -> {
        try {
          yield set(field, "none".equals(text) ? null : WholeNumber.parse(text, 1, maxLimit(field)));
        } catch (IllegalArgumentException e) {
          throw new Invalid(field, "must be a whole number >= 1 or 'none' (it " + e.getMessage() + ")");
        }
      }
    };
  }

  /** A field as the admin API gives it: a JSON value; null clears a limit or the Stripe Price. */
  public PlanChanges json(String field, Object value) {
    Kind kind = kind(field);
    if (kind == Kind.FLAG) {
      if (!(value instanceof Boolean b)) {
        throw new Invalid(field, "must be true or false");
      }
      return set(field, b);
    }
    if (kind == Kind.LIMIT) {
      try {
        return set(field, value == null ? null : WholeNumber.ofJson(value, 1, maxLimit(field)));
      } catch (IllegalArgumentException e) {
        throw new Invalid(field, e.getMessage() + ", or null for unlimited");
      }
    }
    if (value == null && kind == Kind.PRICE) {
      return set(field, null);
    }
    if (!(value instanceof String s)) {
      throw new Invalid(field, kind == Kind.MONEY ? "must be a USD amount as a string, such as \"20.00\""
          : "must be a string");
    }
    return text(field, s);
  }

  public boolean isEmpty() {
    return columns.isEmpty();
  }

  /** Whether the limits of every organization on the plan change (their keys must then be reloaded). */
  public boolean changesLimits() {
    return LIMITS.stream().anyMatch(columns::containsKey);
  }

  boolean has(String column) {
    return columns.containsKey(column);
  }

  Map<String, Object> columns() {
    return columns;
  }

  /** The SQL type of a column's parameter (a null value has no type of its own). */
  static String cast(String column) {
    return switch (column) {
      case "name", "description", "stripe_price_id" -> "::text";
      case "for_sale" -> "::boolean";
      case "concurrency" -> "::int";
      default -> "::bigint";
    };
  }

  private enum Kind { TEXT, MONEY, FLAG, PRICE, LIMIT }

  private static Kind kind(String field) {
    return switch (field) {
      case "name", "description" -> Kind.TEXT;
      case "monthly_price_usd", "included_credit_usd" -> Kind.MONEY;
      case "for_sale" -> Kind.FLAG;
      case "stripe_price_id" -> Kind.PRICE;
      default -> {
        if (!LIMITS.contains(field)) {
          throw new Invalid(field, "is not a plan field; plan fields are " + String.join(", ", FIELDS));
        }
        yield Kind.LIMIT;
      }
    };
  }

  private PlanChanges set(String field, Object value) {
    String column = switch (field) {
      case "monthly_price_usd" -> "monthly_price_micros";
      case "included_credit_usd" -> "included_credit_micros";
      default -> field;
    };
    columns.put(column, value);
    return this;
  }

  private static String words(String field, String text) {
    int max = field.equals("name") ? MAX_NAME : MAX_DESCRIPTION;
    if (field.equals("name") && text.isBlank()) {
      throw new Invalid(field, "must not be empty");
    }
    if (text.length() > max) {
      throw new Invalid(field, "is longer than " + max + " characters");
    }
    return text.strip();
  }

  private static long money(String field, String text) {
    long micros;
    try {
      micros = Money.parseUsd(text, false);
    } catch (IllegalArgumentException e) {
      throw new Invalid(field, "must be a USD amount such as 20 or 4.50: " + e.getMessage());
    }
    if (field.equals("monthly_price_usd") && micros % BillingSettings.MICROS_PER_CENT != 0) {
      throw new Invalid(field, "must be whole cents (Stripe charges cents), such as 19.99");
    }
    if (micros > Money.MAX_BALANCE_MICROS) {
      throw new Invalid(field, "must be at most " + Money.decimalUsd(Money.MAX_BALANCE_MICROS));
    }
    return micros;
  }

  private static String price(String field, String text) {
    if (!PRICE.matcher(text).matches()) {
      throw new Invalid(field, "must be a Stripe Price id such as price_1Pq2Rs (or none)");
    }
    return text;
  }

  private static long maxLimit(String field) {
    return field.equals("concurrency") ? Integer.MAX_VALUE : Long.MAX_VALUE;
  }
}
