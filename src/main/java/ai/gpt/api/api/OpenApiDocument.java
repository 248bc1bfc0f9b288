package ai.gpt.api.api;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The OpenAPI document of the whole API, merged at start from one JSON fragment per feature under
 * {@code openapi/} on the classpath. {@code openapi/index.json} lists the fragments in order (a classpath folder
 * cannot be listed from a jar); the first is the base (openapi, info, servers, security schemes, common schemas).
 * Each further fragment may hold {@code tags}, {@code paths} and {@code components}; they are added to the base,
 * and a path+method or component defined twice is an error at start, so two features never silently overwrite
 * each other. Files are read with the asynchronous file system, never blocking an event loop.
 */
public final class OpenApiDocument {
  public static final String FOLDER = "openapi/";
  public static final String INDEX = FOLDER + "index.json";

  private OpenApiDocument() {}

  /** Reads the index and every fragment it lists, and merges them. */
  public static Future<JsonObject> load(Vertx vertx) {
    return vertx.fileSystem().readFile(INDEX).compose(index -> {
      JsonArray names = new JsonObject(index).getJsonArray("fragments");
      if (names == null || names.isEmpty()) {
        return Future.failedFuture(new IllegalStateException(INDEX + " lists no fragments"));
      }
      List<Future<Buffer>> reads = new ArrayList<>();
      for (Object name : names) {
        reads.add(vertx.fileSystem().readFile(FOLDER + name));
      }
      return Future.all(reads).map(all -> {
        List<JsonObject> fragments = new ArrayList<>();
        for (int i = 0; i < reads.size(); i++) {
          try {
            fragments.add(new JsonObject(reads.get(i).result()));
          } catch (RuntimeException e) {
            throw new IllegalStateException(FOLDER + names.getString(i) + " is not a JSON object: " + e.getMessage(),
                e);
          }
        }
        return merge(fragments, names.getList());
      });
    });
  }

  /** The first fragment is the base; the others are merged into a copy of it. */
  static JsonObject merge(List<JsonObject> fragments, List<?> names) {
    JsonObject doc = fragments.get(0).copy();
    for (int i = 1; i < fragments.size(); i++) {
      JsonObject fragment = fragments.get(i);
      String name = String.valueOf(names.get(i));
      for (String field : fragment.fieldNames()) {
        if (!field.equals("tags") && !field.equals("paths") && !field.equals("components")) {
          throw new IllegalStateException(FOLDER + name + ": a fragment may hold only tags, paths and components, not '"
              + field + "'");
        }
      }
      JsonArray tags = doc.getJsonArray("tags", new JsonArray());
      fragment.getJsonArray("tags", new JsonArray()).forEach(tags::add);
      doc.put("tags", tags);

      JsonObject paths = doc.getJsonObject("paths", new JsonObject());
      fragment.getJsonObject("paths", new JsonObject()).forEach(e -> {
        JsonObject into = paths.getJsonObject(e.getKey(), new JsonObject());
        ((JsonObject) e.getValue()).forEach(op -> {
          if (into.containsKey(op.getKey())) {
            throw new IllegalStateException(FOLDER + name + ": " + op.getKey() + " " + e.getKey()
                + " is already defined by an earlier fragment");
          }
          into.put(op.getKey(), op.getValue());
        });
        paths.put(e.getKey(), into);
      });
      doc.put("paths", paths);

      JsonObject components = doc.getJsonObject("components", new JsonObject());
      fragment.getJsonObject("components", new JsonObject()).forEach(section -> {
        JsonObject into = components.getJsonObject(section.getKey(), new JsonObject());
        ((JsonObject) section.getValue()).forEach(c -> {
          if (into.containsKey(c.getKey())) {
            throw new IllegalStateException(FOLDER + name + ": components." + section.getKey() + "." + c.getKey()
                + " is already defined by an earlier fragment");
          }
          into.put(c.getKey(), c.getValue());
        });
        components.put(section.getKey(), into);
      });
      doc.put("components", components);
    }
    return doc;
  }
}
