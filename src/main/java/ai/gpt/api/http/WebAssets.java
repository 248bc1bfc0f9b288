package ai.gpt.api.http;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The web app's files, read into memory once at start (asynchronously) from the list the build writes
 * ({@code files.json}), with the gzip and brotli copies the build made next to them. Requests never touch the
 * file system, and nothing is compressed on the fly.
 */
final class WebAssets {
  /** One file, with its precompressed copies (null when the build made none). */
  record Asset(String contentType, Buffer identity, Buffer gzip, Buffer brotli) {}

  private static final Map<String, String> TYPES = Map.ofEntries(
      Map.entry("js", "text/javascript; charset=utf-8"), Map.entry("mjs", "text/javascript; charset=utf-8"),
      Map.entry("css", "text/css; charset=utf-8"), Map.entry("html", "text/html; charset=utf-8"),
      Map.entry("json", "application/json"), Map.entry("map", "application/json"),
      Map.entry("webmanifest", "application/manifest+json"), Map.entry("txt", "text/plain; charset=utf-8"),
      Map.entry("xml", "application/xml"), Map.entry("svg", "image/svg+xml"), Map.entry("png", "image/png"),
      Map.entry("jpg", "image/jpeg"), Map.entry("webp", "image/webp"), Map.entry("ico", "image/x-icon"),
      Map.entry("woff2", "font/woff2"), Map.entry("woff", "font/woff"));

  private final Map<String, Asset> byPath;

  private WebAssets(Map<String, Asset> byPath) {
    this.byPath = byPath;
  }

  static WebAssets none() {
    return new WebAssets(Map.of());
  }

  /** Reads {@code root/files.json} and every file it lists; a build without the web app has no list: no files. */
  static Future<WebAssets> load(Vertx vertx, String root) {
    return vertx.fileSystem().readFile(root + "/files.json")
        .map(Buffer::toJsonObject)
        .otherwise(err -> new JsonObject().put("files", new JsonArray()))
        .compose(list -> {
          List<Future<Map.Entry<String, Asset>>> reads = new ArrayList<>();
          for (Object o : list.getJsonArray("files")) {
            JsonObject f = (JsonObject) o;
            reads.add(read(vertx, root, f.getString("path"), f.getBoolean("gzip", false),
                f.getBoolean("br", false)));
          }
          return Future.all(reads).map(all -> new WebAssets(reads.stream().map(Future::result)
              .collect(Collectors.toUnmodifiableMap(Map.Entry::getKey, Map.Entry::getValue))));
        });
  }

  private static Future<Map.Entry<String, Asset>> read(Vertx vertx, String root, String path, boolean gzip,
      boolean brotli) {
    if (path.contains("..") || path.startsWith("/")) {
      return Future.failedFuture(new IllegalStateException("files.json names a path outside the web root: " + path));
    }
    Function<String, Future<Buffer>> file = name -> vertx.fileSystem().readFile(root + "/" + name);
    Future<Buffer> identity = file.apply(path);
    Future<Buffer> gz = gzip ? file.apply(path + ".gz") : Future.succeededFuture();
    Future<Buffer> br = brotli ? file.apply(path + ".br") : Future.succeededFuture();
    return Future.all(identity, gz, br).map(all -> Map.entry("/" + path,
        new Asset(contentType(path), identity.result(), gz.result(), br.result())));
  }

  Asset get(String path) {
    return byPath.get(path);
  }

  static String contentType(String path) {
    String ext = path.substring(path.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
    return TYPES.getOrDefault(ext, "application/octet-stream");
  }
}
