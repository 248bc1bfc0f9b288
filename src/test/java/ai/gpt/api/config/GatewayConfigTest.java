package ai.gpt.api.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class GatewayConfigTest {
  private static final Map<String, String> BASE = Map.of(
      "DATABASE_URL", "postgresql://u:p@db:5432/gptapi", "REDIS_URL", "redis://cache:6379", "KEY_PEPPER", "0123456789abcdef",
      "JWT_SECRET", "0123456789abcdef0123456789abcdef", "SECRETS_KEY", "fedcba9876543210fedcba9876543210");

  private static GatewayConfig with(String name, String value) {
    Map<String, String> env = new HashMap<>(BASE);
    env.put(name, value);
    return GatewayConfig.from(Env.of(env));
  }

  private static void rejects(String name, String value) {
    ConfigException e = assertThrows(ConfigException.class, () -> with(name, value));
    assertTrue(e.getMessage().contains(name), e.getMessage());
  }

  @Test
  @DisplayName("defaults apply when only the required variables are set")
  void defaults() {
    GatewayConfig c = GatewayConfig.from(Env.of(BASE));
    assertEquals(8080, c.port());
    assertEquals(9090, c.metricsPort());
    assertEquals(4L * 1024 * 1024, c.maxBodyBytes());
    assertEquals(2000, c.healthIntervalMs());
    assertEquals(false, c.embedded());
  }

  @Test
  @DisplayName("REDIS_URL: one URL is a standalone Redis, a comma-separated list the seed nodes of a Redis Cluster")
  void redisCluster() {
    assertEquals(List.of("redis://cache:6379"), RedisClients.nodes(with("REDIS_URL", "redis://cache:6379").redisUrl()));
    assertFalse(RedisClients.cluster("redis://cache:6379"));
    String nodes = "redis://a:7000, redis://b:7001,redis://c:7002";
    assertEquals(List.of("redis://a:7000", "redis://b:7001", "redis://c:7002"),
        RedisClients.nodes(with("REDIS_URL", nodes).redisUrl()));
    assertTrue(RedisClients.cluster(nodes));
  }

  @Test
  @DisplayName("a malformed variable is rejected with a message naming it")
  void invalidValues() {
    rejects("PORT", "eighty");
    rejects("PORT", "70000");
    rejects("METRICS_PORT", "-1");
    rejects("DATABASE_URL", "mysql://x/y");
    rejects("REDIS_URL", "http://cache");
    rejects("REDIS_URL", "redis://node-a:6379,http://node-b:6379"); // every node of a cluster list is checked
    rejects("KEY_PEPPER", "short");
    rejects("MAX_BODY_BYTES", "0");
    rejects("QUEUE_SIZE", "lots");
    rejects("LOG_FORMAT", "xml");
    rejects("BACKENDS", "gpt-fast");
  }

  @Test
  @DisplayName("KEY_PEPPER is required with a real database; BACKENDS parses model=url pairs")
  void pepperAndBackends() {
    Map<String, String> env = new HashMap<>(BASE);
    env.remove("KEY_PEPPER");
    assertThrows(ConfigException.class, () -> GatewayConfig.from(Env.of(env)));
    GatewayConfig c = with("BACKENDS", "gpt-fast=http://a:8081, embed=https://b/x");
    assertEquals(2, c.backends().size());
    assertEquals("embed", c.backends().get(1).model());
    assertEquals("https://b/x", c.backends().get(1).url());
  }

  @Test
  @DisplayName("BACKEND_API_KEYS gives BACKENDS entries their model's key; BACKEND_DNS parses model=host:port")
  void backendKeysAndDiscovery() {
    Map<String, String> env = new HashMap<>(BASE);
    env.put("BACKENDS", "gpt-full=https://a-8080.proxy.runpod.net,gpt-full=https://b-8080.proxy.runpod.net,"
        + "embed=http://e:8083");
    env.put("BACKEND_API_KEYS", "gpt-full=rp-secret");
    GatewayConfig c = GatewayConfig.from(Env.of(env));
    assertEquals("rp-secret", c.backends().get(1).apiKey());
    assertNull(c.backends().get(2).apiKey());
    env.put("BACKEND_API_KEYS", "gpt-fulll=rp-secret");
    ConfigException typo = assertThrows(ConfigException.class, () -> GatewayConfig.from(Env.of(env)));
    assertTrue(typo.getMessage().contains("gpt-fulll"), typo.getMessage());
    env.put("BACKEND_API_KEYS", "gpt-full:rp-secret");
    assertFalse(assertThrows(ConfigException.class, () -> GatewayConfig.from(Env.of(env))).getMessage()
        .contains("rp-secret"), "a malformed entry is not echoed");

    DiscoverySettings d = with("BACKEND_DNS", "gpt-fast=llama-gpt-fast.ai.svc.cluster.local:8080, embed=e.ai:80")
        .discovery();
    assertEquals(new DiscoverySettings.Target("gpt-fast", "llama-gpt-fast.ai.svc.cluster.local", 8080),
        d.targets().get(0));
    assertEquals(5_000, d.intervalMs());
    assertFalse(with("PORT", "8080").discovery().enabled());
    rejects("BACKEND_DNS", "gpt-fast=http://x:80");
    rejects("BACKEND_DNS", "gpt-fast=x");
    rejects("BACKEND_DNS", "gpt-fast=x:0");
    rejects("BACKEND_DNS", "gpt-fast=x:80,gpt-fast=x:80");
    rejects("BACKEND_DNS_SERVER", "10.0.0.10");

    assertTrue(with("PORT", "8080").migrateOnStart());
    assertFalse(with("MIGRATE_ON_START", "false").migrateOnStart());
    rejects("MIGRATE_ON_START", "no");

    assertEquals(0, with("PORT", "8080").usageRetentionMonths(), "usage is kept forever unless asked");
    assertEquals(13, with("USAGE_RETENTION_MONTHS", "13").usageRetentionMonths());
    rejects("USAGE_RETENTION_MONTHS", "-1");
    rejects("USAGE_RETENTION_MONTHS", "1y");
  }

  @Test
  @DisplayName("account settings: JWT_SECRET required and long, SMTP_FROM required with SMTP_HOST, PUBLIC_URL a URL")
  void accountSettings() {
    Map<String, String> env = new HashMap<>(BASE);
    env.remove("JWT_SECRET");
    assertThrows(ConfigException.class, () -> GatewayConfig.from(Env.of(env)));
    rejects("JWT_SECRET", "too-short");
    rejects("PUBLIC_URL", "gpt.ai");
    rejects("SMTP_HOST", "smtp.example.com");
    rejects("TRUSTED_PROXIES", "proxy.example.com");
    rejects("TRUSTED_PROXIES", "10.0.0.0/40");
    assertNull(with("PORT", "8080").accounts().smtp(), "no SMTP: e-mails go to the log");
    assertEquals("https://gpt.ai", with("PUBLIC_URL", "https://gpt.ai/").accounts().publicUrl());
  }

  @Test
  @DisplayName("SECRETS_KEY: required with DATABASE_URL and at least 32 characters; a dev value for the local run")
  void secretsKey() {
    Map<String, String> env = new HashMap<>(BASE);
    env.remove("SECRETS_KEY");
    ConfigException missing = assertThrows(ConfigException.class, () -> GatewayConfig.from(Env.of(env)));
    assertTrue(missing.getMessage().contains("SECRETS_KEY"), missing.getMessage());
    rejects("SECRETS_KEY", "0123456789abcdef0123456789abcde");
    assertEquals("fedcba9876543210fedcba9876543210", with("PORT", "8080").accounts().secretsKey());
    Map<String, String> local = new HashMap<>(env);
    local.remove("DATABASE_URL");
    local.remove("REDIS_URL");
    assertEquals(AccountConfig.DEV_SECRETS_KEY, GatewayConfig.from(Env.of(local)).accounts().secretsKey());
  }

  @Test
  @DisplayName("HTTP limits: deadlines, a connection cap derived from the descriptor limit, the operator address")
  void httpSettings() {
    HttpSettings defaults = GatewayConfig.from(Env.of(BASE)).http();
    assertEquals("0.0.0.0", defaults.metricsHost());
    assertEquals(10_000, defaults.headerTimeoutMs());
    assertEquals(60_000, defaults.bodyTimeoutMs());
    assertEquals(75_000, defaults.keepAliveTimeoutMs());
    assertTrue(defaults.maxConnections() > 0);
    assertEquals(15_000, HttpSettings.defaultMaxConnections(20_000), "a quarter of the descriptors kept in reserve");
    assertEquals(512, HttpSettings.defaultMaxConnections(1024), "at least 512 kept in reserve");
    assertEquals(HttpSettings.FALLBACK_MAX_CONNECTIONS, HttpSettings.defaultMaxConnections(-1));
    assertEquals("127.0.0.1", with("METRICS_HOST", "127.0.0.1").http().metricsHost());
    assertEquals(100, with("MAX_CONNECTIONS", "100").http().maxConnections());
    rejects("MAX_CONNECTIONS", "0");
    rejects("HTTP_HEADER_TIMEOUT_MS", "soon");
    rejects("HTTP_BODY_TIMEOUT_MS", "-5");
    rejects("HTTP_KEEPALIVE_TIMEOUT_MS", "0");
  }

  @Test
  @DisplayName("tracing: off by default; endpoint, headers, service name and sample ratio parsed strictly")
  void tracingSettings() {
    assertFalse(GatewayConfig.from(Env.of(BASE)).tracing().enabled());
    Map<String, String> env = new HashMap<>(BASE);
    env.putAll(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/",
        "OTEL_EXPORTER_OTLP_HEADERS", "api-key=abc, x-team=ops",
        "OTEL_SERVICE_NAME", "gpt-api-eu",
        "OTEL_TRACES_SAMPLER_ARG", "0.25"));
    TracingSettings t = GatewayConfig.from(Env.of(env)).tracing();
    assertEquals("http://collector:4318", t.endpoint());
    assertEquals(Map.of("api-key", "abc", "x-team", "ops"), t.headers());
    assertEquals("gpt-api-eu", t.serviceName());
    assertEquals(0.25, t.sampleRatio());
    rejects("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318");
    rejects("OTEL_EXPORTER_OTLP_HEADERS", "no-equals-sign");
    rejects("OTEL_TRACES_SAMPLER_ARG", "1.5");
    rejects("OTEL_TRACES_SAMPLER_ARG", "NaN");
  }

  @Test
  @DisplayName("graceful stop: no delay and 30 s of grace by default, whole seconds up to a day, 0 allowed")
  void shutdownSettings() {
    HttpSettings defaults = GatewayConfig.from(Env.of(BASE)).http();
    assertEquals(0, defaults.shutdownDelayMs());
    assertEquals(30_000, defaults.shutdownGraceMs());
    assertEquals(5_000, with("SHUTDOWN_DELAY_SECONDS", "5").http().shutdownDelayMs());
    assertEquals(0, with("SHUTDOWN_GRACE_SECONDS", "0").http().shutdownGraceMs());
    rejects("SHUTDOWN_DELAY_SECONDS", "-1");
    rejects("SHUTDOWN_GRACE_SECONDS", "30000"); // milliseconds by mistake
    rejects("SHUTDOWN_GRACE_SECONDS", "1.5");
  }

  @Test
  @DisplayName(".env values are read, real environment variables win")
  void dotEnv() throws Exception {
    java.nio.file.Path file = java.nio.file.Files.createTempFile("env", ".env");
    java.nio.file.Files.writeString(file, "# comment\nexport PORT=9000\nLOG_FORMAT=\"json\"\n\nBAD LINE\n");
    Map<String, String> parsed = Env.readDotEnv(file);
    assertEquals("9000", parsed.get("PORT"));
    assertEquals("json", parsed.get("LOG_FORMAT"));
    assertEquals(2, parsed.size());
  }

  @Test
  @DisplayName("billing: off without STRIPE_SECRET_KEY; the webhook secret required with it; top-up amounts through"
      + " the money parser, in whole cents, min <= presets <= max")
  void billingSettings() {
    BillingSettings off = GatewayConfig.from(Env.of(BASE)).billing();
    assertFalse(off.enabled());
    assertEquals(BillingSettings.DEFAULT_API_BASE, off.apiBase());
    assertEquals(5_000_000L, off.topUpMinMicros());
    assertEquals(1_000_000_000L, off.topUpMaxMicros());
    assertEquals(java.util.List.of(10_000_000L, 25_000_000L, 50_000_000L, 100_000_000L), off.presetsMicros());
    ConfigException noSecret = assertThrows(ConfigException.class, () -> with("STRIPE_SECRET_KEY", "sk_test_x"));
    assertTrue(noSecret.getMessage().contains("STRIPE_WEBHOOK_SECRET"), noSecret.getMessage());
    Map<String, String> env = new HashMap<>(BASE);
    env.putAll(Map.of("STRIPE_SECRET_KEY", "sk_test_x", "STRIPE_WEBHOOK_SECRET", "whsec_x",
        "STRIPE_API_BASE", "http://127.0.0.1:12111/", "BILLING_TOPUP_MIN_USD", "2.50", "BILLING_TOPUP_PRESETS_USD",
        "2.5, 20"));
    BillingSettings on = GatewayConfig.from(Env.of(env)).billing();
    assertTrue(on.enabled());
    assertEquals("http://127.0.0.1:12111", on.apiBase());
    assertEquals(2_500_000L, on.topUpMinMicros());
    assertEquals(java.util.List.of(2_500_000L, 20_000_000L), on.presetsMicros());
    rejects("BILLING_TOPUP_MIN_USD", "1.005");
    rejects("BILLING_TOPUP_MIN_USD", "1e3");
    rejects("BILLING_TOPUP_MAX_USD", "-5");
    rejects("BILLING_TOPUP_MAX_USD", "4");
    rejects("BILLING_TOPUP_PRESETS_USD", "2000");
    rejects("STRIPE_API_BASE", "ftp://stripe");
  }

  @Test
  @DisplayName("auto-recharge cap (default 3 a day, 1..100) and low-balance thresholds (default none: off; highest"
      + " first, whole cents, distinct and positive)")
  void autoRechargeAndLowBalance() {
    BillingSettings defaults = GatewayConfig.from(Env.of(BASE)).billing();
    assertEquals(3, defaults.autoRechargeMaxPerDay());
    assertEquals(java.util.List.of(), defaults.lowBalanceMicros());
    assertEquals(java.util.List.of(5_000_000L, 1_000_000L),
        with("BILLING_LOW_BALANCE_USD", "5,1").billing().lowBalanceMicros());
    assertEquals(7, with("BILLING_AUTO_RECHARGE_MAX_PER_DAY", "7").billing().autoRechargeMaxPerDay());
    assertEquals(java.util.List.of(20_000_000L, 2_500_000L, 10_000L),
        with("BILLING_LOW_BALANCE_USD", "2.50, 0.01,20").billing().lowBalanceMicros());
    assertEquals(java.util.List.of(), with("BILLING_LOW_BALANCE_USD", "").billing().lowBalanceMicros());
    rejects("BILLING_AUTO_RECHARGE_MAX_PER_DAY", "0");
    rejects("BILLING_AUTO_RECHARGE_MAX_PER_DAY", "101");
    rejects("BILLING_AUTO_RECHARGE_MAX_PER_DAY", "three");
    rejects("BILLING_LOW_BALANCE_USD", "5,5");
    rejects("BILLING_LOW_BALANCE_USD", "0");
    rejects("BILLING_LOW_BALANCE_USD", "-1");
    rejects("BILLING_LOW_BALANCE_USD", "1.001");
    rejects("BILLING_LOW_BALANCE_USD", "9,8,7,6,5,4,3,2,1");
  }

  @Test
  @DisplayName("status settings: defaults, overrides, and bad values refused naming the variable")
  void statusSettings() {
    StatusSettings d = GatewayConfig.from(Env.of(BASE)).status();
    assertEquals(10_000, d.sampleMs());
    assertEquals(5_000, d.cacheMs());
    assertEquals(0.05, d.errorRate());
    assertEquals(10, d.minRequests());
    assertEquals(120, d.incidentAfterSeconds());
    assertEquals(30, d.incidentUpdateMinutes());
    assertEquals(100, d.retentionDays());
    assertEquals(120, d.usageLagSeconds());
    assertEquals(100_000, d.usagePending());
    StatusSettings s = with("STATUS_ERROR_RATE", "0.2").status();
    assertEquals(0.2, s.errorRate());
    assertEquals(90, with("STATUS_RETENTION_DAYS", "90").status().retentionDays());
    assertEquals(5, with("STATUS_INCIDENT_AFTER_SECONDS", "5").status().incidentAfterSeconds());
    rejects("STATUS_RETENTION_DAYS", "30");
    rejects("STATUS_ERROR_RATE", "5%");
    rejects("STATUS_ERROR_RATE", "1.5");
    rejects("STATUS_ERROR_RATE", "0.0");
    rejects("STATUS_SAMPLE_MS", "0");
    rejects("STATUS_CACHE_MS", "soon");
    rejects("STATUS_INCIDENT_AFTER_SECONDS", "-1");
    rejects("STATUS_USAGE_PENDING", "1e5");
  }

  @Test
  @DisplayName("webhooks: loopback off by default, back-off and horizons in ms, a lease longer than the timeout")
  void webhookSettings() {
    WebhookSettings d = GatewayConfig.from(Env.of(BASE)).webhooks();
    assertFalse(d.allowLoopback());
    assertEquals(5_000, d.retryBaseMs());
    assertEquals(3_600_000, d.retryMaxMs());
    assertEquals(24 * 3_600_000L, d.giveUpAfterMs());
    assertEquals(3 * 24 * 3_600_000L, d.disableAfterMs());
    assertEquals(24 * 3_600_000L, d.rotationGraceMs());
    assertEquals(7, d.retentionDays());
    assertEquals(30_000, d.leaseMs());
    assertEquals(200, d.pollMs());
    assertEquals(64, d.concurrency());
    assertTrue(with("WEBHOOK_ALLOW_LOOPBACK", "true").webhooks().allowLoopback());
    assertEquals(250, with("WEBHOOK_RETRY_BASE_MS", "250").webhooks().retryBaseMs());
    rejects("WEBHOOK_ALLOW_LOOPBACK", "yes");
    rejects("WEBHOOK_RETRY_BASE_MS", "0");
    rejects("WEBHOOK_RETRY_MAX_MS", "1000");
    rejects("WEBHOOK_LEASE_MS", "10000");
    rejects("WEBHOOK_GIVE_UP_AFTER_MS", "1d");
    rejects("WEBHOOK_DISABLE_AFTER_MS", "-1");
    rejects("WEBHOOK_ROTATION_GRACE_MS", "soon");
    rejects("WEBHOOK_RETENTION_DAYS", "5000");
    rejects("WEBHOOK_POLL_MS", "0");
    rejects("WEBHOOK_CONCURRENCY", "100000");
  }
}
