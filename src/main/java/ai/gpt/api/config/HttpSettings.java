package ai.gpt.api.config;

import java.lang.management.ManagementFactory;

/**
 * How the public server protects itself from slow and numerous clients, and where the operator port listens.
 *
 * @param metricsHost        address the operator port (/metrics, /health, /ready) binds (METRICS_HOST)
 * @param maxConnections     open client connections allowed on the public port, across all event loops
 *                           (MAX_CONNECTIONS); above it new connections get 503 and are closed
 * @param headerTimeoutMs    a request head must be complete this long after the connection opened, or after the
 *                           first byte of a following request on a kept-alive connection (HTTP_HEADER_TIMEOUT_MS)
 * @param bodyTimeoutMs      a request body must be complete this long after its head (HTTP_BODY_TIMEOUT_MS)
 * @param keepAliveTimeoutMs an idle kept-alive connection is closed after this long without a new request
 *                           (HTTP_KEEPALIVE_TIMEOUT_MS)
 * @param shutdownDelayMs    on SIGTERM, how long /ready answers 503 while the port still takes new requests, so
 *                           load balancers stop sending before the port closes (SHUTDOWN_DELAY_SECONDS)
 * @param shutdownGraceMs    then, how long requests and streams in flight may take to finish before their
 *                           connections are cut (SHUTDOWN_GRACE_SECONDS)
 */
public record HttpSettings(
    String metricsHost, int maxConnections, long headerTimeoutMs, long bodyTimeoutMs, long keepAliveTimeoutMs,
    long shutdownDelayMs, long shutdownGraceMs) {

  /** Used when the process's descriptor limit cannot be read (not a Unix JVM). */
  static final int FALLBACK_MAX_CONNECTIONS = 10_000;

  static HttpSettings from(Env env) {
    String metricsHost = env.get("METRICS_HOST");
    return new HttpSettings(
        metricsHost == null || metricsHost.isBlank() ? "0.0.0.0" : metricsHost.strip(),
        (int) Math.min(Integer.MAX_VALUE, GatewayConfig.positiveLong(env, "MAX_CONNECTIONS",
            defaultMaxConnections(fileDescriptorLimit()))),
        GatewayConfig.positiveLong(env, "HTTP_HEADER_TIMEOUT_MS", 10_000),
        GatewayConfig.positiveLong(env, "HTTP_BODY_TIMEOUT_MS", 60_000),
        GatewayConfig.positiveLong(env, "HTTP_KEEPALIVE_TIMEOUT_MS", 75_000),
        GatewayConfig.seconds(env, "SHUTDOWN_DELAY_SECONDS", 0) * 1000,
        GatewayConfig.seconds(env, "SHUTDOWN_GRACE_SECONDS", 30) * 1000);
  }

  /**
   * Three quarters of the descriptor limit, keeping at least 512 for what must always work: upstream connections
   * to the backends, PostgreSQL and Redis, the operator port, log and jar files.
   */
  static int defaultMaxConnections(long fdLimit) {
    if (fdLimit <= 0) {
      return FALLBACK_MAX_CONNECTIONS;
    }
    long reserve = Math.max(512, fdLimit / 4);
    return (int) Math.min(Integer.MAX_VALUE, Math.max(16, fdLimit - reserve));
  }

  private static long fileDescriptorLimit() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      return unix.getMaxFileDescriptorCount();
    }
    return -1;
  }
}
