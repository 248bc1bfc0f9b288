package ai.gpt.api.config;

/**
 * The status page, its uptime history and automatic incidents.
 *
 * @param sampleMs             STATUS_SAMPLE_MS: how often each replica samples the live state, records it into the
 *                             minute rows and checks for automatic incidents (default 10 s)
 * @param cacheMs              STATUS_CACHE_MS: how long a replica serves the same /api/status answer (default 5 s)
 * @param errorRate            STATUS_ERROR_RATE: the 5xx share of proxied requests at or above which a model (or a
 *                             service) is in partial outage; at or above 50 % it is a major outage (default 0.05)
 * @param minRequests          STATUS_MIN_REQUESTS: fewer requests than this in a window say nothing about the
 *                             error share (default 10)
 * @param incidentAfterSeconds STATUS_INCIDENT_AFTER_SECONDS: how long a subject must be bad before an automatic
 *                             incident is opened, and good before it is resolved (default 120)
 * @param incidentUpdateMinutes STATUS_INCIDENT_UPDATE_MINUTES: an automatic incident still open gets an update this
 *                             often (default 30)
 * @param retentionDays        STATUS_RETENTION_DAYS: minute rows are kept this long (default 100, at least 90)
 * @param usageLagSeconds      STATUS_USAGE_LAG_SECONDS: usage writer lag above which billing is degraded and an
 *                             automatic incident may open (default 120)
 * @param usagePending         STATUS_USAGE_PENDING: usage events waiting in Redis above which the same holds
 *                             (default 100000)
 * @param mailRetryBaseMs      STATUS_MAIL_RETRY_BASE_MS: a subscriber e-mail that SMTP refused is retried after this,
 *                             doubling up to an hour, for a day (default 30 s)
 * @param billingWindowSeconds STATUS_BILLING_WINDOW_SECONDS: the recent window over which Stripe webhook processing
 *                             and Stripe API calls are judged, cluster-wide (default 300)
 * @param billingFailureRate   STATUS_BILLING_FAILURE_RATE: the share of failed Stripe webhook events (or of failed
 *                             Stripe API calls) in the window at or above which billing is in partial outage and an
 *                             automatic incident may open (default 0.2)
 * @param billingMinFailures   STATUS_BILLING_MIN_FAILURES: fewer failures than this in the window say nothing
 *                             (default 3)
 */
public record StatusSettings(long sampleMs, long cacheMs, double errorRate, long minRequests,
    long incidentAfterSeconds, long incidentUpdateMinutes, int retentionDays, long usageLagSeconds,
    long usagePending, long mailRetryBaseMs, long billingWindowSeconds, double billingFailureRate,
    long billingMinFailures) {

  static final int MIN_RETENTION_DAYS = 90;

  static StatusSettings from(Env env) {
    int retention = (int) GatewayConfig.positiveLong(env, "STATUS_RETENTION_DAYS", 100);
    if (retention < MIN_RETENTION_DAYS) {
      throw new ConfigException("STATUS_RETENTION_DAYS", "must be at least " + MIN_RETENTION_DAYS
          + " (the status page shows 90 days), got '" + retention + "'");
    }
    return new StatusSettings(
        GatewayConfig.positiveLong(env, "STATUS_SAMPLE_MS", 10_000),
        GatewayConfig.positiveLong(env, "STATUS_CACHE_MS", 5_000),
        share(env, "STATUS_ERROR_RATE", 0.05),
        GatewayConfig.positiveLong(env, "STATUS_MIN_REQUESTS", 10),
        GatewayConfig.positiveLong(env, "STATUS_INCIDENT_AFTER_SECONDS", 120),
        GatewayConfig.positiveLong(env, "STATUS_INCIDENT_UPDATE_MINUTES", 30),
        retention,
        GatewayConfig.positiveLong(env, "STATUS_USAGE_LAG_SECONDS", 120),
        GatewayConfig.positiveLong(env, "STATUS_USAGE_PENDING", 100_000),
        GatewayConfig.positiveLong(env, "STATUS_MAIL_RETRY_BASE_MS", 30_000),
        GatewayConfig.positiveLong(env, "STATUS_BILLING_WINDOW_SECONDS", 300),
        share(env, "STATUS_BILLING_FAILURE_RATE", 0.2),
        GatewayConfig.positiveLong(env, "STATUS_BILLING_MIN_FAILURES", 3));
  }

  public static StatusSettings defaults() {
    return from(Env.of(java.util.Map.of()));
  }

  /** A fraction strictly between 0 and 1, written as a plain decimal such as 0.05. */
  private static double share(Env env, String name, double fallback) {
    String v = env.get(name);
    if (v == null) {
      return fallback;
    }
    if (!v.matches("0?\\.[0-9]{1,6}")) {
      throw new ConfigException(name, "must be a fraction between 0 and 1 such as 0.05, got '" + v + "'");
    }
    double d = Double.parseDouble(v);
    if (d <= 0) {
      throw new ConfigException(name, "must be above 0, got '" + v + "'");
    }
    return d;
  }
}
