package ai.gpt.api.config;

import ai.gpt.api.billing.Money;
import java.net.URI;
import java.util.ArrayList;
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
 */
public record BillingSettings(String secretKey, String webhookSecret, String publishableKey, String apiBase,
    long topUpMinMicros, long topUpMaxMicros, List<Long> presetsMicros) {

  public static final String DEFAULT_API_BASE = "https://api.stripe.com";
  /** Stripe charges whole cents. */
  public static final long MICROS_PER_CENT = 10_000;

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
    List<Long> presets = new ArrayList<>();
    String presetText = env.get("BILLING_TOPUP_PRESETS_USD");
    for (String p : (presetText == null ? "10,25,50,100" : presetText).split(",")) {
      if (p.isBlank()) {
        continue;
      }
      long micros = cents("BILLING_TOPUP_PRESETS_USD", p.strip());
      if (micros < min || micros > max) {
        throw new ConfigException("BILLING_TOPUP_PRESETS_USD", "'" + p.strip() + "' is outside"
            + " BILLING_TOPUP_MIN_USD..BILLING_TOPUP_MAX_USD");
      }
      presets.add(micros);
    }
    return new BillingSettings(secretKey, webhookSecret, blankToNull(env.get("STRIPE_PUBLISHABLE_KEY")), apiBase,
        min, max, List.copyOf(presets));
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
