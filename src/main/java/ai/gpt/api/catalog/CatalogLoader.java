package ai.gpt.api.catalog;

import ai.gpt.api.routing.BackendRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.pubsub.PgSubscriber;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@link Catalog} and {@link BackendRegistry} in step with the database. A trigger on the models and
 * backends tables sends NOTIFY gptapi_catalog, so {@code backend add/drain} applies within milliseconds
 * without a restart; a slow periodic reload covers notifications lost while the listener reconnects.
 */
public final class CatalogLoader extends VerticleBase {
  public static final String CHANNEL = "gptapi_catalog";
  private static final Logger LOG = LoggerFactory.getLogger(CatalogLoader.class);
  private static final long PERIODIC_RELOAD_MS = 30_000;
  private static final String MODELS = """
      SELECT id, display_name, kind, input_price_micros_per_m, output_price_micros_per_m, default_max_tokens,
             max_max_tokens, context_length, extract(epoch FROM created_at)::bigint AS created, active
        FROM models""";
  private static final String BACKENDS = """
      SELECT id, model_id, base_url, api_key, slots, weight, state FROM backends ORDER BY id""";

  private final Pool pool;
  private final PgConnectOptions connectOptions;
  private final Catalog catalog;
  private final BackendRegistry registry;
  private PgSubscriber subscriber;

  public CatalogLoader(Pool pool, PgConnectOptions connectOptions, Catalog catalog, BackendRegistry registry) {
    this.pool = pool;
    this.connectOptions = connectOptions;
    this.catalog = catalog;
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    subscriber = PgSubscriber.subscriber(vertx, connectOptions)
        .reconnectPolicy(attempt -> 1_000L); // keep trying forever, once a second
    subscriber.channel(CHANNEL)
        .subscribeHandler(v -> reload()) // (re)subscribed: we may have missed changes meanwhile
        .handler(payload -> reload());
    vertx.setPeriodic(PERIODIC_RELOAD_MS, id -> reload());
    return reload().compose(v -> subscriber.connect());
  }

  @Override
  public Future<?> stop() {
    return subscriber.close();
  }

  public Future<Void> reload() {
    return pool.query(MODELS).execute().compose(modelRows -> {
      Map<String, ModelInfo> models = new HashMap<>();
      for (Row r : modelRows) {
        models.put(r.getString("id"), toModel(r));
      }
      return pool.query(BACKENDS).execute().map(backendRows -> {
        List<BackendDefinition> defs = new ArrayList<>();
        for (Row r : backendRows) {
          defs.add(new BackendDefinition(r.getLong("id"), r.getString("model_id"), r.getString("base_url"),
              r.getString("api_key"), r.getInteger("slots"), r.getInteger("weight"),
              "draining".equals(r.getString("state"))));
        }
        catalog.replace(models);
        registry.apply(defs);
        return (Void) null;
      });
    }).onFailure(err -> LOG.warn("Catalog reload failed: {}", err.getMessage()));
  }

  private static ModelInfo toModel(Row r) {
    return new ModelInfo(r.getString("id"), r.getString("display_name"),
        "embedding".equals(r.getString("kind")) ? ModelInfo.Kind.EMBEDDING : ModelInfo.Kind.CHAT,
        r.getLong("input_price_micros_per_m"), r.getLong("output_price_micros_per_m"),
        r.getInteger("default_max_tokens"), r.getInteger("max_max_tokens"), r.getInteger("context_length"),
        r.getLong("created"), r.getBoolean("active"));
  }
}
