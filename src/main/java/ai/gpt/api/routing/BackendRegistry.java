package ai.gpt.api.routing;

import ai.gpt.api.catalog.BackendDefinition;
import ai.gpt.api.metrics.GatewayMetrics;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * All backends by model: those of the {@code backends} table and those found by DNS ({@link DnsDiscovery}, with
 * negative ids). Reloads keep the {@link Backend} objects of unchanged ids, so in-flight counts and health survive a
 * reload and requests already running on a removed backend finish normally.
 */
public final class BackendRegistry {
  private static final Logger LOG = LoggerFactory.getLogger(BackendRegistry.class);

  private final Vertx vertx;
  private final RoutingSettings settings;
  private final GatewayMetrics metrics;
  private final ConcurrentHashMap<String, ModelPool> pools = new ConcurrentHashMap<>();
  private Map<Long, Backend> byId = Map.of();
  private List<BackendDefinition> fromDatabase = List.of();
  private List<BackendDefinition> fromDns = List.of();

  public BackendRegistry(Vertx vertx, RoutingSettings settings, GatewayMetrics metrics) {
    this.vertx = vertx;
    this.settings = settings;
    this.metrics = metrics;
  }

  /** The pool for a model; a model with no backends gets an empty pool, which answers 503. */
  public ModelPool pool(String model) {
    return pools.computeIfAbsent(model, m -> new ModelPool(m, vertx, settings, metrics));
  }

  public List<ModelPool> pools() {
    return List.copyOf(pools.values());
  }

  /** The backends of the {@code backends} table, as the catalog loader read them. */
  public synchronized void apply(List<BackendDefinition> definitions) {
    fromDatabase = List.copyOf(definitions);
    rebuild();
  }

  /** The backends DNS discovery currently sees. */
  synchronized void applyDiscovered(List<BackendDefinition> definitions) {
    fromDns = List.copyOf(definitions);
    rebuild();
  }

  private void rebuild() {
    List<BackendDefinition> definitions = new ArrayList<>(fromDatabase);
    definitions.addAll(fromDns);
    Map<Long, Backend> next = new HashMap<>();
    Map<String, List<Backend>> perModel = new HashMap<>();
    for (BackendDefinition def : definitions) {
      Backend b = byId.get(def.id());
      if (b == null || !b.definition().baseUrl().equals(def.baseUrl())) {
        b = new Backend(def);
        metrics.registerBackend(b);
        LOG.info("Routing {} (slots {}, {})", b, def.slots(), def.draining() ? "draining" : "enabled");
      } else if (!b.definition().equals(def)) {
        LOG.info("Updated {}: slots {}, weight {}, {}", b, def.slots(), def.weight(),
            def.draining() ? "draining" : "enabled");
        b.redefine(def);
      }
      next.put(def.id(), b);
      perModel.computeIfAbsent(def.model(), m -> new ArrayList<>()).add(b);
    }
    for (Backend old : byId.values()) {
      if (next.get(old.id()) != old) {
        metrics.unregisterBackend(old);
        if (!next.containsKey(old.id())) {
          LOG.info("Removed {}", old);
        }
      }
    }
    byId = next;
    for (String model : pools.keySet()) {
      perModel.putIfAbsent(model, List.of());
    }
    perModel.forEach((model, list) -> pool(model).replaceBackends(list));
  }
}
