package ai.gpt.api.status;

import ai.gpt.api.config.StatusSettings;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The status page's background work on every replica, off the request path: every {@code STATUS_SAMPLE_MS} a
 * sample of the live state is recorded into the uptime history and checked for automatic incidents; every
 * {@code STATUS_CACHE_MS} the /api/status document is rebuilt from the latest sample, the uptime history and the
 * recent incidents, and kept as bytes that every request is answered with. When PostgreSQL does not answer, the
 * live parts stay fresh and the history and incidents are the last ones read.
 */
public final class StatusMonitor extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(StatusMonitor.class);
  static final Duration INCIDENT_WINDOW = Duration.ofDays(14);

  private final LiveStatus live;
  private final MinuteRecorder recorder;
  private final AutoIncidents autoIncidents;
  private final UptimeHistory history;
  private final Incidents incidents;
  private final StatusSettings settings;
  private volatile Buffer page;
  private LiveSample latest;
  private UptimeHistory.Snapshot uptime;
  private List<JsonObject> recentIncidents = List.of();
  private boolean sampling;
  private boolean refreshing;

  StatusMonitor(LiveStatus live, MinuteRecorder recorder, AutoIncidents autoIncidents, UptimeHistory history,
      Incidents incidents, StatusSettings settings) {
    this.live = live;
    this.recorder = recorder;
    this.autoIncidents = autoIncidents;
    this.history = history;
    this.incidents = incidents;
    this.settings = settings;
  }

  /** The latest /api/status document, or null before the first one is built. */
  Buffer page() {
    return page;
  }

  /**
   * Starts sampling at once without waiting for it: the gateway's start must not depend on a query that a loaded
   * database answers slowly. Until the first page is built (one sample and one refresh) /api/status answers 503.
   */
  @Override
  public Future<?> start() {
    vertx.setPeriodic(0, settings.sampleMs(), id -> sample());
    vertx.setPeriodic(settings.cacheMs(), id -> refresh());
    return Future.succeededFuture();
  }

  private Future<Void> sample() {
    if (sampling) {
      return Future.succeededFuture();
    }
    sampling = true;
    return live.sample().compose(sample -> {
      boolean first = latest == null;
      latest = sample;
      if (first) {
        refresh();
      }
      Future<Void> recorded = recorder.record(sample)
          .onFailure(err -> LOG.warn("Could not record the status sample (kept for the next one): {}",
              err.toString()));
      Future<Void> decided = autoIncidents.observe(sample)
          .onFailure(err -> LOG.warn("Could not check automatic incidents: {}", err.toString()));
      return Future.join(recorded, decided).<Void>mapEmpty();
    }).otherwiseEmpty().onComplete(ar -> sampling = false);
  }

  private Future<Void> refresh() {
    if (refreshing || latest == null) {
      return Future.succeededFuture();
    }
    refreshing = true;
    Instant now = Instant.now();
    Future<UptimeHistory.Snapshot> u = history.load(now).onSuccess(s -> uptime = s);
    Future<List<JsonObject>> i = incidents.recent(now.minus(INCIDENT_WINDOW))
        .onSuccess(list -> recentIncidents = list);
    return Future.join(u, i).otherwiseEmpty().map(v -> {
      // Before the history could ever be read, the page still shows the live state, with no uptime figures.
      UptimeHistory.Snapshot shown = uptime != null ? uptime
          : new UptimeHistory.Snapshot(now.atOffset(ZoneOffset.UTC).toLocalDate(), Map.of(), Map.of());
      page = StatusPage.build(latest, shown, recentIncidents).toBuffer();
      return (Void) null;
    }).onComplete(ar -> refreshing = false);
  }
}
