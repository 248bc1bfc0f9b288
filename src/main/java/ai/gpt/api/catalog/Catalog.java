package ai.gpt.api.catalog;

import java.util.List;
import java.util.Map;

/**
 * The models on sale, replaced as a whole on every reload so readers on any event loop see a consistent
 * snapshot without locks.
 */
public final class Catalog {
  private volatile Map<String, ModelInfo> models = Map.of();

  public ModelInfo model(String id) {
    return models.get(id);
  }

  /** Active models, in id order. */
  public List<ModelInfo> activeModels() {
    return models.values().stream().filter(ModelInfo::active)
        .sorted((a, b) -> a.id().compareTo(b.id())).toList();
  }

  void replace(Map<String, ModelInfo> next) {
    models = Map.copyOf(next);
  }
}
