package ai.gpt.api.config;

/**
 * Webhook delivery (see README "Webhooks"). Durations are in milliseconds so tests can shrink them.
 *
 * @param allowLoopback    WEBHOOK_ALLOW_LOOPBACK: also deliver to loopback addresses, over plain http too (local
 *                         development and tests); every other refused address class stays refused
 * @param retryBaseMs      WEBHOOK_RETRY_BASE_MS: the first retry's delay; each further one doubles it (with jitter)
 * @param retryMaxMs       WEBHOOK_RETRY_MAX_MS: the longest delay between two attempts
 * @param giveUpAfterMs    WEBHOOK_GIVE_UP_AFTER_MS: a message still undelivered this long after it was made is failed
 * @param disableAfterMs   WEBHOOK_DISABLE_AFTER_MS: an endpoint failing without a single success this long is
 *                         disabled and its organization's owners are e-mailed
 * @param rotationGraceMs  WEBHOOK_ROTATION_GRACE_MS: how long the previous secret still signs after a rotation
 * @param retentionDays    WEBHOOK_RETENTION_DAYS: delivered and failed messages are deleted this long after
 * @param leaseMs          WEBHOOK_LEASE_MS: how long a claimed message is reserved for the replica sending it; a
 *                         replica that dies mid-delivery delays the retry by at most this
 * @param pollMs           WEBHOOK_POLL_MS: how often an idle replica looks for due messages and new events
 * @param concurrency      WEBHOOK_CONCURRENCY: requests in flight at once per replica
 * @param caFile           WEBHOOK_CA_FILE: a PEM file of CA certificates trusted IN ADDITION to the system's (a
 *                         receiver behind a private CA); null: the system CAs only. There is no way to trust all.
 */
public record WebhookSettings(boolean allowLoopback, long retryBaseMs, long retryMaxMs, long giveUpAfterMs,
    long disableAfterMs, long rotationGraceMs, int retentionDays, long leaseMs, long pollMs, int concurrency,
    String caFile) {

  /** Settings trusting the system CAs only (tests that build a worker themselves). */
  public WebhookSettings(boolean allowLoopback, long retryBaseMs, long retryMaxMs, long giveUpAfterMs,
      long disableAfterMs, long rotationGraceMs, int retentionDays, long leaseMs, long pollMs, int concurrency) {
    this(allowLoopback, retryBaseMs, retryMaxMs, giveUpAfterMs, disableAfterMs, rotationGraceMs, retentionDays,
        leaseMs, pollMs, concurrency, null);
  }

  /** The request timeout of one delivery: longer than this and the attempt failed. */
  public static final long TIMEOUT_MS = 10_000;

  public static WebhookSettings defaults() {
    return from(Env.of(java.util.Map.of()));
  }

  static WebhookSettings from(Env env) {
    String loopback = env.get("WEBHOOK_ALLOW_LOOPBACK");
    if (loopback != null && !loopback.equals("true") && !loopback.equals("false")) {
      throw new ConfigException("WEBHOOK_ALLOW_LOOPBACK", "must be true or false, got '" + loopback + "'");
    }
    long base = GatewayConfig.positiveLong(env, "WEBHOOK_RETRY_BASE_MS", 5_000);
    long max = GatewayConfig.positiveLong(env, "WEBHOOK_RETRY_MAX_MS", 3_600_000);
    if (max < base) {
      throw new ConfigException("WEBHOOK_RETRY_MAX_MS", "must be at least WEBHOOK_RETRY_BASE_MS");
    }
    long lease = GatewayConfig.positiveLong(env, "WEBHOOK_LEASE_MS", 30_000);
    if (lease <= TIMEOUT_MS) {
      // A lease shorter than one attempt would let a second replica send a message the first is still sending.
      throw new ConfigException("WEBHOOK_LEASE_MS", "must be longer than the " + TIMEOUT_MS + " ms delivery timeout");
    }
    long retention = GatewayConfig.positiveLong(env, "WEBHOOK_RETENTION_DAYS", 7);
    long concurrency = GatewayConfig.positiveLong(env, "WEBHOOK_CONCURRENCY", 64);
    if (retention > 3650 || concurrency > 10_000) {
      throw new ConfigException(retention > 3650 ? "WEBHOOK_RETENTION_DAYS" : "WEBHOOK_CONCURRENCY", "is too large");
    }
    String caFile = env.get("WEBHOOK_CA_FILE");
    if (caFile != null && !java.nio.file.Files.isReadable(java.nio.file.Path.of(caFile))) {
      throw new ConfigException("WEBHOOK_CA_FILE", "is not a readable file: '" + caFile + "'");
    }
    return new WebhookSettings("true".equals(loopback), base, max,
        GatewayConfig.positiveLong(env, "WEBHOOK_GIVE_UP_AFTER_MS", 24 * 3_600_000L),
        GatewayConfig.positiveLong(env, "WEBHOOK_DISABLE_AFTER_MS", 3 * 24 * 3_600_000L),
        GatewayConfig.positiveLong(env, "WEBHOOK_ROTATION_GRACE_MS", 24 * 3_600_000L),
        (int) retention, lease, GatewayConfig.positiveLong(env, "WEBHOOK_POLL_MS", 200), (int) concurrency,
        caFile);
  }

  /** The same settings with another lease (tests of a replica dying mid-delivery). */
  public WebhookSettings withLeaseMs(long ms) {
    return new WebhookSettings(allowLoopback, retryBaseMs, retryMaxMs, giveUpAfterMs, disableAfterMs, rotationGraceMs,
        retentionDays, ms, pollMs, concurrency, caFile);
  }
}
