package ai.gpt.api.http;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * Serves the web app from {@code webroot/} in the jar. Hashed assets are cached for a year; a GET of a client-side
 * route (such as /dashboard/keys) gets index.html, never cached, so a deploy is picked up on the next load. A
 * missing file is a 404.
 */
public final class StaticSite {
  private static final String ROOT = "webroot";
  /**
   * The web app loads nothing from elsewhere and is never framed; the dashboard talks only to its own origin.
   * Inline styles are allowed because UI libraries set style attributes (Motion animates through them).
   */
  static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
      + "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
      + "form-action 'self'; object-src 'none'";
  private final Buffer indexHtml;

  private StaticSite(Buffer indexHtml) {
    this.indexHtml = indexHtml;
  }

  /** Reads index.html once, asynchronously, so the fallback never touches the file system. */
  public static Future<StaticSite> load(Vertx vertx) {
    return vertx.fileSystem().readFile(ROOT + "/index.html").map(StaticSite::new);
  }

  public void mount(Router router) {
    router.route().handler(ctx -> {
      ctx.response()
          .putHeader("Content-Security-Policy", CSP)
          .putHeader("X-Content-Type-Options", "nosniff")
          .putHeader("X-Frame-Options", "DENY")
          .putHeader("Referrer-Policy", "strict-origin-when-cross-origin");
      ctx.next();
    });
    router.route("/assets/*").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(StaticHandler.create(ROOT)
        .setCachingEnabled(true)
        .setMaxAgeSeconds(365L * 24 * 3600));
    router.route().method(HttpMethod.GET).method(HttpMethod.HEAD)
        .handler(StaticHandler.create(ROOT).setCachingEnabled(false).setIndexPage("index.html"));
    router.route().method(HttpMethod.GET).handler(ctx -> {
      if (!isAppRoute(ctx.normalizedPath())) {
        ctx.next(); // a missing file or an unknown API path: 404, never the page
        return;
      }
      ctx.response()
          .putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
          .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
          .end(indexHtml);
    });
  }

  /**
   * A client-side route of the web app (/dashboard/keys): not the APIs, not under /assets, and with no file
   * extension in its last segment. Anything else that reached here names a file that does not exist
   * (/favicon.ico, /x.js): the page in its place would be served as the wrong type and cached by browsers.
   */
  static boolean isAppRoute(String path) {
    if (path.equals("/v1") || path.startsWith("/v1/") || path.equals("/api") || path.startsWith("/api/")
        || path.startsWith("/assets/")) {
      return false;
    }
    String last = path.substring(path.lastIndexOf('/') + 1);
    return !last.contains(".");
  }
}
