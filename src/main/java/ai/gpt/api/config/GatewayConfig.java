package ai.gpt.api.config;

import ai.gpt.api.metering.FailurePolicy;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Every setting of the gateway, read once from the environment and validated at start.
 * Handlers get what they need through constructors; nothing else reads the environment.
 *
 * @param databaseUrl  postgresql://user:pass@host:port/db, or null for the embedded local servers
 * @param redisUrl     redis://host:port[/db], a comma-separated list of Redis Cluster nodes ({@link RedisClients}),
 *                     or null for the embedded local servers
 * @param backends     BACKENDS entries (model=url) registered at start, with their model's key from BACKEND_API_KEYS
 * @param failurePolicy what admission does while Redis is unreachable (METERING_FAILURE_POLICY)
 * @param replicaName  this replica's name as a usage-stream consumer (REPLICA_NAME, else HOSTNAME)
 * @param accounts     the account API's settings (sessions, e-mail)
 * @param http         connection limits and timeouts of the public server, and the operator port's address
 * @param billing      Stripe billing (off without STRIPE_SECRET_KEY)
 * @param status       the status page, uptime history and automatic incidents
 * @param webhooks     webhook delivery (retries, address policy, leases)
 * @param tracing      OpenTelemetry span export (off without OTEL_EXPORTER_OTLP_ENDPOINT)
 * @param discovery    llama.cpp backends found by DNS (BACKEND_DNS), re-resolved periodically
 * @param migrateOnStart MIGRATE_ON_START: whether {@code serve} applies the migrations before starting (false when
 *                     a Kubernetes hook Job runs {@code migrate} once per release, so pods never race)
 * @param usageRetentionMonths USAGE_RETENTION_MONTHS: monthly partitions of {@code usage} older than the current
 *                     month and this many before it are dropped; 0 (the default) keeps every month
 * @param metered      METERING: on (the default) admits, limits, charges and records every request; off only
 *                     authenticates and proxies ({@link ai.gpt.api.metering.Unmetered})
 * @param allotments   METERING_ALLOTMENTS: on (the default) lets a busy key's requests be admitted from blocks taken
 *                     from Redis at once ({@code ai.gpt.api.metering.Allotments}); off admits every request with its
 *                     own Redis call
 */
public record GatewayConfig(
    String databaseUrl,
    String redisUrl,
    String host,
    int port,
    int metricsPort,
    String keyPepper,
    long maxBodyBytes,
    long healthIntervalMs,
    int queueSize,
    long queueTimeoutMs,
    long upstreamConnectTimeoutMs,
    long upstreamIdleTimeoutMs,
    int upstreamPoolSize,
    int eventLoops,
    boolean jsonLogs,
    String dataDir,
    List<BackendSpec> backends,
    FailurePolicy failurePolicy,
    String replicaName,
    AccountConfig accounts,
    HttpSettings http,
    BillingSettings billing,
    StatusSettings status,
    WebhookSettings webhooks,
    TracingSettings tracing,
    DiscoverySettings discovery,
    boolean migrateOnStart,
    int usageRetentionMonths,
    boolean metered,
    boolean allotments) {

  /**
   * A backend named in BACKENDS: {@code gpt-fast=http://127.0.0.1:8081}, and the {@code --api-key} of its model's
   * servers from BACKEND_API_KEYS ({@code gpt-full=secret}, for remote servers such as RunPod), or null.
   */
  public record BackendSpec(String model, String url, String apiKey) {}

  public static final String DEV_PEPPER = "dev-only-pepper-change-me";

  public static GatewayConfig from(Env env) {
    String databaseUrl = env.get("DATABASE_URL");
    if (databaseUrl != null) {
      requireScheme("DATABASE_URL", databaseUrl, "postgresql", "postgres");
    }
    String redisUrl = env.get("REDIS_URL");
    if (redisUrl != null) {
      for (String node : RedisClients.nodes(redisUrl)) {
        requireScheme("REDIS_URL", node, "redis", "rediss");
      }
    }
    String pepper = env.get("KEY_PEPPER");
    if (pepper == null) {
      if (databaseUrl != null) {
        throw new ConfigException("KEY_PEPPER", "is required when DATABASE_URL is set (a long random secret)");
      }
      pepper = DEV_PEPPER; // local run on embedded servers only
    } else if (pepper.length() < 16) {
      throw new ConfigException("KEY_PEPPER", "must be at least 16 characters");
    }
    String logFormat = text(env, "LOG_FORMAT", "text");
    if (!logFormat.equals("text") && !logFormat.equals("json")) {
      throw new ConfigException("LOG_FORMAT", "must be text or json, got '" + logFormat + "'");
    }
    String policy = text(env, "METERING_FAILURE_POLICY", "closed");
    FailurePolicy failurePolicy = FailurePolicy.parse(policy);
    if (failurePolicy == null) {
      throw new ConfigException("METERING_FAILURE_POLICY", "must be closed or open, got '" + policy + "'");
    }
    String metering = text(env, "METERING", "on");
    if (!metering.equals("on") && !metering.equals("off")) {
      throw new ConfigException("METERING", "must be on or off, got '" + metering + "'");
    }
    String allotments = text(env, "METERING_ALLOTMENTS", "on");
    if (!allotments.equals("on") && !allotments.equals("off")) {
      throw new ConfigException("METERING_ALLOTMENTS", "must be on or off, got '" + allotments + "'");
    }
    String migrate = text(env, "MIGRATE_ON_START", "true");
    if (!migrate.equals("true") && !migrate.equals("false")) {
      throw new ConfigException("MIGRATE_ON_START", "must be true or false, got '" + migrate + "'");
    }
    String replica = env.get("REPLICA_NAME") != null ? env.get("REPLICA_NAME") : env.get("HOSTNAME");
    return new GatewayConfig(
        databaseUrl,
        redisUrl,
        text(env, "HOST", "0.0.0.0"),
        port(env, "PORT", 8080),
        port(env, "METRICS_PORT", 9090),
        pepper,
        positiveLong(env, "MAX_BODY_BYTES", 4L * 1024 * 1024),
        positiveLong(env, "HEALTH_INTERVAL_MS", 2000),
        (int) positiveLong(env, "QUEUE_SIZE", 256),
        positiveLong(env, "QUEUE_TIMEOUT_MS", 30_000),
        positiveLong(env, "UPSTREAM_CONNECT_TIMEOUT_MS", 2_000),
        positiveLong(env, "UPSTREAM_IDLE_TIMEOUT_MS", 300_000),
        (int) positiveLong(env, "UPSTREAM_POOL_SIZE", 512),
        (int) positiveLong(env, "EVENT_LOOPS", Runtime.getRuntime().availableProcessors()),
        logFormat.equals("json"),
        text(env, "DATA_DIR", ".gpt-api-data"),
        backends(env.get("BACKENDS"), env.get("BACKEND_API_KEYS")),
        failurePolicy,
        replica == null || replica.isBlank() ? "gateway-" + ProcessHandle.current().pid() : replica,
        AccountConfig.from(env, databaseUrl == null),
        HttpSettings.from(env),
        BillingSettings.from(env),
        StatusSettings.from(env),
        WebhookSettings.from(env),
        TracingSettings.from(env),
        DiscoverySettings.from(env),
        migrate.equals("true"),
        retentionMonths(env, "USAGE_RETENTION_MONTHS"),
        metering.equals("on"),
        allotments.equals("on"));
  }

  public boolean embedded() {
    return databaseUrl == null || redisUrl == null;
  }

  private static String text(Env env, String name, String fallback) {
    String v = env.get(name);
    return v == null ? fallback : v;
  }

  static long positiveLong(Env env, String name, long fallback) {
    String v = env.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      long n = Long.parseLong(v);
      if (n <= 0) {
        throw new ConfigException(name, "must be a positive whole number, got '" + v + "'");
      }
      return n;
    } catch (NumberFormatException e) {
      throw new ConfigException(name, "must be a positive whole number, got '" + v + "'");
    }
  }

  /** Whole months, 0 (keep forever, the default) to 1200. */
  private static int retentionMonths(Env env, String name) {
    String v = env.get(name);
    if (v == null) {
      return 0;
    }
    try {
      int n = Integer.parseInt(v);
      if (n < 0 || n > 1_200) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new ConfigException(name, "must be a whole number of months from 0 (keep forever) to 1200, got '" + v
          + "'");
    }
  }

  /** A duration in whole seconds, 0 allowed, at most an hour (a bigger one is a typo for milliseconds). */
  static long seconds(Env env, String name, long fallback) {
    String v = env.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      long n = Long.parseLong(v);
      if (n < 0 || n > 3_600) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new ConfigException(name, "must be a whole number of seconds from 0 to 3600, got '" + v + "'");
    }
  }

  private static int port(Env env, String name, int fallback) {
    String v = env.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      int p = Integer.parseInt(v);
      if (p < 0 || p > 65535) {
        throw new NumberFormatException();
      }
      return p;
    } catch (NumberFormatException e) {
      throw new ConfigException(name, "must be a port number 0-65535, got '" + v + "'");
    }
  }

  private static void requireScheme(String name, String url, String... schemes) {
    String scheme;
    try {
      scheme = URI.create(url).getScheme();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(name, "is not a valid URL: " + e.getMessage());
    }
    for (String s : schemes) {
      if (s.equals(scheme)) {
        return;
      }
    }
    throw new ConfigException(name, "must start with " + schemes[0] + "://, got '" + url + "'");
  }

  static List<BackendSpec> backends(String value, String apiKeys) {
    List<BackendSpec> out = new ArrayList<>();
    Map<String, String> keys = apiKeys(apiKeys);
    if (value == null) {
      if (!keys.isEmpty()) {
        throw new ConfigException("BACKEND_API_KEYS", "is set but BACKENDS is empty");
      }
      return out;
    }
    for (String entry : value.split(",")) {
      String e = entry.strip();
      if (e.isEmpty()) {
        continue;
      }
      int eq = e.indexOf('=');
      if (eq <= 0 || !e.substring(eq + 1).matches("https?://.+")) {
        throw new ConfigException("BACKENDS", "entries must look like gpt-fast=http://127.0.0.1:8081, got '" + e + "'");
      }
      String model = e.substring(0, eq).strip();
      out.add(new BackendSpec(model, e.substring(eq + 1).strip(), keys.get(model)));
    }
    for (String model : keys.keySet()) {
      if (out.stream().noneMatch(b -> b.model().equals(model))) {
        throw new ConfigException("BACKEND_API_KEYS", "names " + model + ", which has no entry in BACKENDS");
      }
    }
    return List.copyOf(out);
  }

  /** BACKEND_API_KEYS: model=key pairs, comma-separated (a key has no comma, as llama-server's --api-key). */
  private static Map<String, String> apiKeys(String value) {
    Map<String, String> keys = new HashMap<>();
    if (value == null) {
      return keys;
    }
    for (String entry : value.split(",")) {
      String e = entry.strip();
      int eq = e.indexOf('=');
      if (e.isEmpty()) {
        continue;
      }
      if (eq <= 0 || eq == e.length() - 1) {
        // Never echo the entry: it holds a secret.
        throw new ConfigException("BACKEND_API_KEYS", "entries must look like gpt-full=<key>");
      }
      if (keys.put(e.substring(0, eq).strip(), e.substring(eq + 1).strip()) != null) {
        throw new ConfigException("BACKEND_API_KEYS", "names a model twice");
      }
    }
    return keys;
  }
}
