package ai.gpt.api.catalog;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The models on sale, replaced as a whole on every reload so readers on any event loop see a consistent
 * snapshot without locks.
 */
public final class Catalog {
  private volatile Map<String, ModelInfo> models = Map.of();

  /** A fixed catalog: for {@code train-cds}, which has no database to load one from. */
  public static Catalog of(List<ModelInfo> models) {
    Catalog catalog = new Catalog();
    catalog.replace(models.stream().collect(Collectors.toMap(ModelInfo::id, m -> m)));
    return catalog;
  }

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
