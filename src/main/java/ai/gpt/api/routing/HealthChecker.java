package ai.gpt.api.routing;

import ai.gpt.api.http.BoundedBody;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Polls every backend's {@code /health} and {@code /slots}. 200 puts a backend in rotation and refreshes its
 * busy-slot count; 503 (llama-server loading its model) keeps it out without penalty; anything else
 * quarantines it, with the probe interval doubling per failure up to 30 s.
 */
public final class HealthChecker extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(HealthChecker.class);
  private static final long PROBE_TIMEOUT_MS = 1_500;
  private static final long TICK_MS = 100;
  /**
   * /health is a few bytes and /slots about 2 KB a slot (a 4,000-slot server answers about 8 MB); a probe answer
   * past this, room for some 16,000 slots, fails the probe (a faulty backend, or something else behind its URL)
   * instead of filling the heap.
   */
  private static final int MAX_PROBE_BYTES = 32 * 1024 * 1024;

  private final BackendRegistry registry;
  private final long intervalMs;
  private HttpClient client;

  public HealthChecker(BackendRegistry registry, long intervalMs) {
    this.registry = registry;
    this.intervalMs = intervalMs;
  }

  @Override
  public Future<?> start() {
    client = vertx.createHttpClient(
        new HttpClientOptions().setConnectTimeout((int) PROBE_TIMEOUT_MS).setKeepAlive(false),
        new PoolOptions().setHttp1MaxSize(16));
    // Tick often and let each backend keep its own schedule, so a newly added backend is probed at once.
    vertx.setPeriodic(0, Math.min(intervalMs, TICK_MS), id -> checkAll());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    return client.close();
  }

  private void checkAll() {
    long now = System.currentTimeMillis();
    for (ModelPool pool : registry.pools()) {
      for (Backend backend : pool.backends()) {
        if (backend.startProbe(now)) {
          check(pool, backend);
        }
      }
    }
  }

  private void check(ModelPool pool, Backend backend) {
    Backend.Health before = backend.health();
    long start = System.nanoTime();
    get(backend, "/health").compose(health -> {
      if (health.statusCode() == 503) {
        backend.markLoading();
        return Future.succeededFuture();
      }
      if (health.statusCode() != 200) {
        return Future.failedFuture("/health answered " + health.statusCode());
      }
      return get(backend, "/slots").map(slots -> {
        int total = 0;
        int busy = 0;
        // /slots may be off (--no-slots answers 501): then only our own in-flight count is known.
        if (slots.statusCode() == 200) {
          JsonArray array = slots.body.toJsonArray();
          total = array.size();
          for (int i = 0; i < array.size(); i++) {
            JsonObject slot = array.getJsonObject(i);
            if (slot.getBoolean("is_processing", false)) {
              busy++;
            }
          }
        }
        backend.markHealthy(total, busy, backend.inFlightSnapshot());
        return null;
      });
    }).onComplete(ar -> {
      long now = System.currentTimeMillis();
      if (ar.failed() && LocalFailures.isLocal(ar.cause())) {
        // The probe never left this process (out of descriptors): the backend keeps its state.
        LOG.warn("Could not probe {}: {}", backend, ar.cause().getMessage());
      } else if (ar.failed() && LocalFailures.timedOutLate(ar.cause(), start, 2 * PROBE_TIMEOUT_MS)) {
        // Handled long after its deadline: this process's event loops lagged (a burst), so the timeout says
        // nothing about the backend.
        LOG.warn("Probe of {} timed out while this process lagged; not counted", backend);
      } else if (ar.failed() && LocalFailures.isTimeout(ar.cause())
          && LocalFailures.answeredWithin(backend, Math.max(intervalMs, PROBE_TIMEOUT_MS) + PROBE_TIMEOUT_MS)) {
        // A burst of this gateway's own requests slows /health and /slots past the probe timeout, but the backend
        // answered one of those requests since the last probe: busy, not dead. A hung one answers none.
        LOG.warn("Probe of {} timed out, but it answers this gateway's requests; not counted", backend);
      } else if (ar.failed()) {
        backend.markFailed(now, intervalMs);
      }
      backend.probeDone(now, intervalMs);
      Backend.Health after = backend.health();
      if (after != before) {
        if (after == Backend.Health.QUARANTINED) {
          pool.countQuarantine();
        }
        if (ar.failed()) {
          LOG.warn("{} is {}: {}", backend, after, ar.cause().getMessage());
        } else {
          LOG.info("{} is {}", backend, after);
        }
      }
      pool.capacityChanged();
    });
  }

  private record Reply(int statusCode, Buffer body) {}

  private Future<Reply> get(Backend backend, String path) {
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.GET)
        .setHost(backend.host())
        .setPort(backend.port())
        .setSsl(backend.ssl())
        .setURI(backend.path(path))
        .setTimeout(PROBE_TIMEOUT_MS);
    if (backend.apiKey() != null) {
      options.putHeader(HttpHeaders.AUTHORIZATION, "Bearer " + backend.apiKey());
    }
    return client.request(options)
        .compose(req -> req.send())
        .compose(resp -> BoundedBody.read(resp, MAX_PROBE_BYTES).map(body -> new Reply(resp.statusCode(), body)));
  }
}
