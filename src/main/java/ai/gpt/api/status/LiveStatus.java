package ai.gpt.api.status;

import ai.gpt.api.billing.stripe.StripeHealth;
import ai.gpt.api.catalog.Catalog;
import ai.gpt.api.catalog.ModelInfo;
import ai.gpt.api.config.StatusSettings;
import ai.gpt.api.routing.Backend;
import ai.gpt.api.routing.BackendRegistry;
import ai.gpt.api.routing.ModelPool;
import ai.gpt.api.usage.UsageWriterMetrics;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Derives the levels of this replica's live view (see README "Status page" for the rules):
 * <ul>
 *   <li>a server (backend): healthy or draining = operational, loading (or not yet probed) = degraded performance,
 *       quarantined = major outage;</li>
 *   <li>a model with at least one enabled backend: none healthy = major outage, some = degraded performance, all =
 *       operational; worsened by its 5xx share (see {@link StatusLevel#ofErrors}). A model without enabled backends
 *       is not served and counts for nothing;</li>
 *   <li>chat completions / embeddings: the served models of that kind: all in major outage (or none served) = major
 *       outage, some in major or partial outage = partial outage, some degraded = degraded; worsened by the 5xx
 *       share of all their requests;</li>
 *   <li>dashboard and account API: PostgreSQL unreachable = major outage, Redis unreachable = partial outage;</li>
 *   <li>billing: PostgreSQL unreachable = major outage; Stripe failing (in the recent window, cluster-wide, a share
 *       of the verified Stripe webhook events that failed to process, or of the Stripe API calls that failed, above
 *       STATUS_BILLING_FAILURE_RATE with at least STATUS_BILLING_MIN_FAILURES failures: top-ups and plan changes
 *       do not go through) = partial outage; the usage writer behind (lag or pending events above the thresholds:
 *       charges reach the ledger late) = degraded performance.</li>
 * </ul>
 */
final class LiveStatus {
  private final Catalog catalog;
  private final BackendRegistry registry;
  private final TrafficCounts traffic;
  private final Dependencies dependencies;
  private final UsageWriterMetrics writer;
  private final StripeHealth stripe;
  private final boolean stripeEnabled;
  private final StatusSettings settings;
  private final RecentTraffic lastMinute = new RecentTraffic(java.time.Duration.ofMinutes(1));

  LiveStatus(Catalog catalog, BackendRegistry registry, TrafficCounts traffic, Dependencies dependencies,
      UsageWriterMetrics writer, StripeHealth stripe, boolean stripeEnabled, StatusSettings settings) {
    this.catalog = catalog;
    this.registry = registry;
    this.traffic = traffic;
    this.dependencies = dependencies;
    this.writer = writer;
    this.stripe = stripe;
    this.stripeEnabled = stripeEnabled;
    this.settings = settings;
  }

  Future<LiveSample> sample() {
    Future<Dependencies.Reachable> reachable = dependencies.check();
    // Unknown (null) when Redis does not answer: Redis being down is judged by the API level, not billing's.
    Future<StripeHealth.Counts> payments = stripe == null ? Future.succeededFuture(null)
        : stripe.recent().timeout(Dependencies.TIMEOUT_MS, TimeUnit.MILLISECONDS)
            .otherwise((StripeHealth.Counts) null);
    return Future.all(reachable, payments).map(v -> sample(reachable.result(), payments.result()));
  }

  private LiveSample sample(Dependencies.Reachable reachable, StripeHealth.Counts payments) {
    Instant at = Instant.now();
    // The recorder gets what was counted since the last sample; the live levels weigh the last minute.
    Map<String, TrafficCounts.Counts> delta = traffic.drain();
    Map<String, TrafficCounts.Counts> counts = lastMinute.add(at, delta);
    Map<String, Observation> components = new LinkedHashMap<>();
    Map<String, Trouble> troubles = new HashMap<>();
    JsonArray servers = new JsonArray();
    JsonArray models = new JsonArray();
    Map<ModelInfo.Kind, List<StatusLevel>> servedLevels = new HashMap<>();
    Map<ModelInfo.Kind, TrafficCounts.Counts> kindCounts = new HashMap<>();
    Map<ModelInfo.Kind, TrafficCounts.Counts> kindDelta = new HashMap<>();
    for (ModelInfo model : catalog.activeModels()) {
      List<Backend> backends = backendsOf(model.id());
      int enabled = 0;
      int healthy = 0;
      for (Backend b : backends) {
        StatusLevel level = backendLevel(b);
        components.put("backend:" + b.id(), new Observation(level, 0, 0));
        servers.add(card(b));
        if (!b.definition().draining()) {
          enabled++;
          // As the router sees it: a backend not probed yet is tried, so it serves the model until proven down.
          healthy += b.health() == Backend.Health.HEALTHY || b.health() == Backend.Health.UNKNOWN ? 1 : 0;
        }
      }
      TrafficCounts.Counts c = counts.getOrDefault(model.id(), TrafficCounts.Counts.NONE);
      TrafficCounts.Counts d = delta.getOrDefault(model.id(), TrafficCounts.Counts.NONE);
      kindCounts.merge(model.kind(), c, TrafficCounts.Counts::plus);
      kindDelta.merge(model.kind(), d, TrafficCounts.Counts::plus);
      StatusLevel health = healthy == 0 ? StatusLevel.MAJOR_OUTAGE
          : healthy < enabled ? StatusLevel.DEGRADED_PERFORMANCE : StatusLevel.OPERATIONAL;
      StatusLevel level = new Observation(health, c.requests(), c.errors())
          .level(settings.minRequests(), settings.errorRate());
      Observation seen = new Observation(health, d.requests(), d.errors());
      JsonObject json = new JsonObject().put("id", model.id()).put("name", model.displayName())
          .put("kind", model.kind() == ModelInfo.Kind.CHAT ? "chat" : "embedding")
          .put("servers_healthy", healthy).put("servers_enabled", enabled);
      if (enabled == 0) {
        models.add(json.put("status", "not_served"));
        continue;
      }
      components.put("model:" + model.id(), seen);
      models.add(json.put("status", level.json()));
      servedLevels.computeIfAbsent(model.kind(), k -> new ArrayList<>()).add(level);
      if (level.ordinal() >= StatusLevel.PARTIAL_OUTAGE.ordinal()) {
        troubles.put("model:" + model.id(), modelTrouble(model, healthy, c));
      }
    }
    Map<Service, StatusLevel> levels = new HashMap<>();
    for (ModelInfo.Kind kind : ModelInfo.Kind.values()) {
      Service service = kind == ModelInfo.Kind.CHAT ? Service.CHAT_COMPLETIONS : Service.EMBEDDINGS;
      StatusLevel health = serviceHealth(servedLevels.get(kind));
      TrafficCounts.Counts c = kindCounts.getOrDefault(kind, TrafficCounts.Counts.NONE);
      TrafficCounts.Counts d = kindDelta.getOrDefault(kind, TrafficCounts.Counts.NONE);
      levels.put(service, new Observation(health, c.requests(), c.errors())
          .level(settings.minRequests(), settings.errorRate()));
      components.put(service.component(), new Observation(health, d.requests(), d.errors()));
    }
    components.put(Service.API.component(), new Observation(!reachable.postgres() ? StatusLevel.MAJOR_OUTAGE
        : !reachable.redis() ? StatusLevel.PARTIAL_OUTAGE : StatusLevel.OPERATIONAL, 0, 0));
    boolean writerBehind = writerBehind();
    String stripeFailing = stripeFailing(payments);
    components.put(Service.BILLING.component(), new Observation(!reachable.postgres() ? StatusLevel.MAJOR_OUTAGE
        : stripeFailing != null ? StatusLevel.PARTIAL_OUTAGE
        : writerBehind ? StatusLevel.DEGRADED_PERFORMANCE : StatusLevel.OPERATIONAL, 0, 0));
    if (writerBehind) {
      long lag = writer.lagMillis();
      troubles.put("usage_writer", new Trouble("usage_writer", "Usage and charges are recorded late",
          "The usage writer is behind: " + writer.queueLength() + " usage events waiting, the oldest "
              + lag / 1000 + " s old. Requests are served and will all be billed.",
          "medium", List.of(Service.BILLING.id()), List.of(),
          writer.oldestWaitingAt() == 0 ? null : Instant.ofEpochMilli(writer.oldestWaitingAt())));
    }
    if (stripeFailing != null) {
      troubles.put("billing:stripe", new Trouble("billing:stripe", "Payments are failing",
          stripeFailing + " Top-ups, automatic recharges and plan changes may not go through; API requests are"
              + " served.", "high", List.of(Service.BILLING.id()), List.of(), null));
    }
    JsonArray services = new JsonArray();
    for (Service s : Service.values()) {
      StatusLevel level = levels.getOrDefault(s, components.get(s.component()).health());
      JsonObject json = new JsonObject().put("id", s.id()).put("name", s.title()).put("status", level.json());
      if (s == Service.BILLING) {
        json.put("payments_enabled", stripeEnabled);
      }
      services.add(json);
    }
    return new LiveSample(at, components, services, models, servers, troubles);
  }

  private List<Backend> backendsOf(String model) {
    for (ModelPool pool : registry.pools()) {
      if (pool.model().equals(model)) {
        return pool.backends();
      }
    }
    return List.of();
  }

  /** What fails, when Stripe webhook processing or Stripe API calls fail above the thresholds; else null. */
  private String stripeFailing(StripeHealth.Counts c) {
    if (c == null) {
      return null;
    }
    long seconds = stripe.windowMs() / 1000;
    String webhook = failing(c.webhookFailed(), c.webhookOk()) ? c.webhookFailed() + " of "
        + (c.webhookFailed() + c.webhookOk()) + " Stripe webhook events failed to process in the last " + seconds
        + " s (Stripe retries them)." : null;
    String api = failing(c.apiFailed(), c.apiOk()) ? c.apiFailed() + " of " + (c.apiFailed() + c.apiOk())
        + " calls to Stripe failed in the last " + seconds + " s." : null;
    return webhook == null ? api : api == null ? webhook : webhook + " " + api;
  }

  private boolean failing(long failed, long ok) {
    return failed >= settings.billingMinFailures() && failed >= settings.billingFailureRate() * (failed + ok);
  }

  private boolean writerBehind() {
    return writer != null && (writer.lagMillis() > settings.usageLagSeconds() * 1000
        || writer.queueLength() > settings.usagePending());
  }

  /** A service's level from the levels of its served models (before its own error share). */
  private static StatusLevel serviceHealth(List<StatusLevel> served) {
    if (served == null || served.isEmpty()) {
      return StatusLevel.MAJOR_OUTAGE;
    }
    long major = served.stream().filter(l -> l == StatusLevel.MAJOR_OUTAGE).count();
    StatusLevel worst = served.stream().reduce(StatusLevel.OPERATIONAL, StatusLevel::worst);
    return major == served.size() ? StatusLevel.MAJOR_OUTAGE
        : worst.ordinal() >= StatusLevel.PARTIAL_OUTAGE.ordinal() ? StatusLevel.PARTIAL_OUTAGE : worst;
  }

  private static Trouble modelTrouble(ModelInfo model, int healthy, TrafficCounts.Counts c) {
    String detail = healthy == 0 ? "No server of " + model.id() + " is healthy; requests get 503."
        : c.errors() + " of " + c.requests() + " recent " + model.id() + " requests failed.";
    Service service = model.kind() == ModelInfo.Kind.CHAT ? Service.CHAT_COMPLETIONS : Service.EMBEDDINGS;
    return new Trouble("model:" + model.id(), model.id() + " is unavailable", detail, "high",
        List.of(service.id()), List.of(model.id()), null);
  }

  static StatusLevel backendLevel(Backend b) {
    if (b.definition().draining()) {
      return StatusLevel.OPERATIONAL;
    }
    return switch (b.health()) {
      case HEALTHY -> StatusLevel.OPERATIONAL;
      case LOADING, UNKNOWN -> StatusLevel.DEGRADED_PERFORMANCE;
      case QUARANTINED -> StatusLevel.MAJOR_OUTAGE;
    };
  }

  /** A server card: a public name and the model, never the URL or the key. */
  private JsonObject card(Backend b) {
    String state = b.definition().draining() ? "draining" : switch (b.health()) {
      case HEALTHY -> "healthy";
      case LOADING, UNKNOWN -> "loading";
      case QUARANTINED -> "quarantined";
    };
    int slots = b.slots();
    return new JsonObject().put("id", b.id()).put("name", b.definition().model() + " #" + b.id())
        .put("model", b.definition().model()).put("state", state).put("status", backendLevel(b).json())
        .put("slots_busy", Math.min(slots, b.busySlots())).put("slots_total", slots)
        .put("latency_ms", traffic.recentLatencyMs(b.id()));
  }
}
