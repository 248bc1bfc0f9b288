package ai.gpt.api.routing;

import ai.gpt.api.catalog.BackendDefinition;
import java.net.URI;

/**
 * One llama.cpp server and what this gateway knows about its load and health. Mutable state is guarded
 * by the owning {@link ModelPool}'s lock (in-flight counts) or written only by the health checker
 * (volatile fields), so routing decisions never block.
 */
public final class Backend {
  public enum Health { UNKNOWN, HEALTHY, LOADING, QUARANTINED }

  static final long MAX_BACKOFF_MS = 30_000;

  private volatile BackendDefinition definition;
  private final String host;
  private final int port;
  private final boolean ssl;
  private final String basePath;
  private final String displayUrl;

  /** Requests this gateway has in flight on the backend; guarded by the pool lock. */
  int inFlight;
  /** Slots busy with work this gateway did not send (other replicas), from the last /slots poll. */
  private volatile int othersBusy;
  /** Slot count reported by /slots, or the configured one until the first poll. */
  private volatile int reportedSlots;
  private volatile Health health = Health.UNKNOWN;
  private volatile int consecutiveFailures;
  /** When the health checker should probe next; 0 for a backend never probed, so it is probed at once. */
  private volatile long nextProbeAtMs;
  private volatile boolean probing;

  Backend(BackendDefinition definition) {
    this.definition = definition;
    URI uri = URI.create(definition.baseUrl());
    this.ssl = "https".equals(uri.getScheme());
    this.host = uri.getHost();
    this.port = uri.getPort() > 0 ? uri.getPort() : ssl ? 443 : 80;
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    this.basePath = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    this.displayUrl = (ssl ? "https" : "http") + "://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port
        + basePath;
  }

  public long id() {
    return definition.id();
  }

  public BackendDefinition definition() {
    return definition;
  }

  void redefine(BackendDefinition next) {
    definition = next;
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public boolean ssl() {
    return ssl;
  }

  /** The request path on this backend, keeping any prefix in its base URL (e.g. a RunPod proxy path). */
  public String path(String apiPath) {
    return basePath.isEmpty() ? apiPath : basePath + apiPath;
  }

  /**
   * The base URL for logs and metric labels: scheme, host, port and path only. A base URL may carry credentials
   * (user:password@ or a token in the query) that must never reach a log line or a scrape.
   */
  public String displayUrl() {
    return displayUrl;
  }

  public String apiKey() {
    return definition.apiKey();
  }

  public Health health() {
    return health;
  }

  public int slots() {
    int reported = reportedSlots;
    return reported > 0 ? reported : definition.slots();
  }

  public synchronized int inFlightSnapshot() {
    return inFlight;
  }

  /** Busy slots as far as this gateway knows: its own requests plus other replicas' work from the last poll. */
  public int busySlots() {
    return inFlightSnapshot() + othersBusy;
  }

  int othersBusy() {
    return othersBusy;
  }

  boolean routable() {
    if (definition.draining()) {
      return false;
    }
    Health h = health;
    return h == Health.HEALTHY || h == Health.UNKNOWN;
  }

  /** Load including other replicas' work; comparable across backends of different sizes and weights. */
  double score() {
    return (inFlight + othersBusy) / (double) (slots() * definition.weight());
  }

  boolean hasCapacity() {
    return inFlight + othersBusy < slots();
  }

  /** Claims the next probe if it is due; the health checker calls this from its one thread. */
  boolean startProbe(long nowMs) {
    if (probing || nowMs < nextProbeAtMs) {
      return false;
    }
    probing = true;
    return true;
  }

  void probeDone(long nowMs, long intervalMs) {
    probing = false;
    if (health != Health.QUARANTINED) {
      nextProbeAtMs = nowMs + intervalMs;
    }
  }

  void markHealthy(int slotsSeen, int busySeen, int ownInFlight) {
    consecutiveFailures = 0;
    health = Health.HEALTHY;
    if (slotsSeen > 0) {
      reportedSlots = slotsSeen;
    }
    othersBusy = Math.max(0, busySeen - ownInFlight);
  }

  void markLoading() {
    consecutiveFailures = 0;
    health = Health.LOADING;
  }

  /**
   * A request could not reach the backend: out of rotation until the next probe. Only the first failed request
   * counts as a failure: when a backend dies, every request it had in flight fails at once, and counting each one
   * would double the back-off as many times (a crash with ten requests in flight kept a backend restarted a second
   * later out for the maximum 30 s). The back-off grows with failed probes only.
   */
  void markRequestFailed(long nowMs, long baseIntervalMs) {
    if (health != Health.QUARANTINED) {
      markFailed(nowMs, baseIntervalMs);
    }
  }

  /** Takes the backend out of rotation; each failed probe in a row doubles the wait before it is probed again. */
  void markFailed(long nowMs, long baseIntervalMs) {
    int failures = ++consecutiveFailures;
    long backoff = Math.min(MAX_BACKOFF_MS, baseIntervalMs << Math.min(failures - 1, 10));
    nextProbeAtMs = nowMs + backoff;
    health = Health.QUARANTINED;
  }

  @Override
  public String toString() {
    return "backend " + id() + " (" + definition.model() + " " + displayUrl + ")";
  }
}
