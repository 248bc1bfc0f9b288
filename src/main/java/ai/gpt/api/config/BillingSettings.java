package ai.gpt.api.config;

import ai.gpt.api.billing.Money;
import ai.gpt.api.input.WholeNumber;
import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Stripe billing. Without {@code STRIPE_SECRET_KEY} billing is off: its routes answer 503 {@code billing_disabled}
 * and {@code GET /api/config} says {@code billing_enabled: false}.
 *
 * @param secretKey       STRIPE_SECRET_KEY (sk_live_…/sk_test_… or a restricted rk_… key), null: billing off
 * @param webhookSecret   STRIPE_WEBHOOK_SECRET (whsec_…), required with a secret key: credit comes only from
 *                        verified webhook events
 * @param publishableKey  STRIPE_PUBLISHABLE_KEY (pk_…), public, handed to the web app; may be null
 * @param apiBase         STRIPE_API_BASE, where stripe-java sends its calls (default https://api.stripe.com)
 * @param topUpMinMicros  BILLING_TOPUP_MIN_USD, the smallest top-up
 * @param topUpMaxMicros  BILLING_TOPUP_MAX_USD, the largest top-up
 * @param presetsMicros   BILLING_TOPUP_PRESETS_USD, comma-separated amounts the dashboard offers
 * @param autoRechargeMaxPerDay BILLING_AUTO_RECHARGE_MAX_PER_DAY, the most auto-recharge charges of one
 *                        organization in any 24 hours (default 3), so a runaway spender or a bug cannot drain a card
 * @param lowBalanceMicros BILLING_LOW_BALANCE_USD, comma-separated balances below which the owners are e-mailed
 *                        (once per crossing), highest first; unset or empty: no low-balance e-mails
 */
public record BillingSettings(String secretKey, String webhookSecret, String publishableKey, String apiBase,
    long topUpMinMicros, long topUpMaxMicros, List<Long> presetsMicros, int autoRechargeMaxPerDay,
    List<Long> lowBalanceMicros) {

  public static final String DEFAULT_API_BASE = "https://api.stripe.com";
  /** Stripe charges whole cents. */
  public static final long MICROS_PER_CENT = 10_000;
  /** Low-balance thresholds are tracked as bits of an int per organization; a handful is plenty. */
  public static final int MAX_LOW_BALANCE_THRESHOLDS = 8;

  public boolean enabled() {
    return secretKey != null;
  }

  static BillingSettings from(Env env) {
    String secretKey = blankToNull(env.get("STRIPE_SECRET_KEY"));
    String webhookSecret = blankToNull(env.get("STRIPE_WEBHOOK_SECRET"));
    if (secretKey != null && webhookSecret == null) {
      throw new ConfigException("STRIPE_WEBHOOK_SECRET", "is required when STRIPE_SECRET_KEY is set (the whsec_..."
          + " signing secret of the webhook endpoint; payments are credited only from verified webhook events)");
    }
    String apiBase = blankToNull(env.get("STRIPE_API_BASE"));
    if (apiBase == null) {
      apiBase = DEFAULT_API_BASE;
    } else {
      apiBase = apiBase.strip().replaceAll("/+$", "");
      String scheme;
      try {
        scheme = URI.create(apiBase).getScheme();
      } catch (IllegalArgumentException e) {
        scheme = null;
      }
      if (!"https".equals(scheme) && !"http".equals(scheme)) {
        throw new ConfigException("STRIPE_API_BASE", "must be an http(s) URL such as " + DEFAULT_API_BASE
            + ", got '" + apiBase + "'");
      }
    }
    long min = usd(env, "BILLING_TOPUP_MIN_USD", "5");
    long max = usd(env, "BILLING_TOPUP_MAX_USD", "1000");
    if (min <= 0 || max < min) {
      throw new ConfigException("BILLING_TOPUP_MAX_USD", "must be at least BILLING_TOPUP_MIN_USD, and both positive");
    }
    List<Long> presets = usdList(env, "BILLING_TOPUP_PRESETS_USD", "10,25,50,100");
    for (long micros : presets) {
      if (micros < min || micros > max) {
        throw new ConfigException("BILLING_TOPUP_PRESETS_USD", "'" + Money.formatUsd(micros) + "' is outside"
            + " BILLING_TOPUP_MIN_USD..BILLING_TOPUP_MAX_USD");
      }
    }
    int maxPerDay = maxPerDay(env.get("BILLING_AUTO_RECHARGE_MAX_PER_DAY"));
    List<Long> lowBalance = new ArrayList<>(usdList(env, "BILLING_LOW_BALANCE_USD", ""));
    lowBalance.sort(Comparator.reverseOrder());
    if (lowBalance.size() > MAX_LOW_BALANCE_THRESHOLDS || lowBalance.stream().distinct().count() < lowBalance.size()
        || lowBalance.contains(0L)) {
      throw new ConfigException("BILLING_LOW_BALANCE_USD", "must be at most " + MAX_LOW_BALANCE_THRESHOLDS
          + " distinct positive USD amounts, such as 5,1 (empty: no low-balance e-mails)");
    }
    return new BillingSettings(secretKey, webhookSecret, blankToNull(env.get("STRIPE_PUBLISHABLE_KEY")), apiBase,
        min, max, presets, maxPerDay, List.copyOf(lowBalance));
  }

  private static int maxPerDay(String text) {
    if (text == null || text.isBlank()) {
      return 3;
    }
    try {
      return (int) WholeNumber.parse(text.strip(), 1, 100);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("BILLING_AUTO_RECHARGE_MAX_PER_DAY", "must be a whole number from 1 to 100: '"
          + text + "' " + e.getMessage());
    }
  }

  /** Comma-separated USD amounts in whole cents; {@code fallback} when unset or blank. */
  private static List<Long> usdList(Env env, String name, String fallback) {
    String text = env.get(name);
    List<Long> amounts = new ArrayList<>();
    for (String p : (text == null ? fallback : text).split(",")) {
      if (!p.isBlank()) {
        amounts.add(cents(name, p.strip()));
      }
    }
    return List.copyOf(amounts);
  }

  private static long usd(Env env, String name, String fallback) {
    String v = env.get(name);
    return cents(name, v == null ? fallback : v.strip());
  }

  /** An amount through THE money parser, in whole cents (what Stripe can charge). */
  private static long cents(String name, String text) {
    long micros;
    try {
      micros = Money.parseUsd(text, false);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(name, "must be USD amounts such as 10 or 2.50: '" + text + "': " + e.getMessage());
    }
    if (micros % MICROS_PER_CENT != 0) {
      throw new ConfigException(name, "must be whole cents, got '" + text + "'");
    }
    return micros;
  }

  private static String blankToNull(String v) {
    return v == null || v.isBlank() ? null : v.strip();
  }
}
