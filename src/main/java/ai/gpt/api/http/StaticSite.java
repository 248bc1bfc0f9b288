package ai.gpt.api.http;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the web app built into {@code webroot/} of the jar (src/main/frontend). Hashed files under /assets are
 * immutable for a year and sent precompressed (brotli or gzip, as the client accepts); the app's routes get
 * index.html, never cached, so a deploy is picked up on the next load; anything else is a 404.
 */
public final class StaticSite {
  private static final Logger LOG = LoggerFactory.getLogger(StaticSite.class);
  static final String ROOT = "webroot";
  /** Vite writes this where a nonce goes (html.cspNonce in vite.config.ts); each response gets a fresh one. */
  static final String NONCE_PLACEHOLDER = "__CSP_NONCE__";
  /**
   * The web app loads nothing from elsewhere and is never framed; it talks only to its own origin. No inline
   * script or style at all: React and Motion set styles through the CSSOM, which CSP allows, and the few
   * {@code <style>} elements libraries write (Radix's scroll lock, Select) carry the page's nonce.
   */
  static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'%s; img-src 'self' data:; "
      + "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
      + "object-src 'none'";
  /**
   * The first path segments of the app's client-side routes (src/main/frontend/src/routes.tsx). Only these get
   * index.html: a mistyped /dashbord, /favicon.ico or /x.js is a real 404, not a page served as the wrong type.
   */
  static final List<String> APP_ROUTES = List.of("dashboard", "admin", "status", "docs", "verify", "reset",
      "reset-password", "forgot-password", "invite", "signin", "signup", "oauth");
  /** What a build with -Dskip.web=true serves in place of the app. */
  private static final String NOT_BUILT = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>GPT API"
      + "</title></head><body><h1>GPT API</h1><p>This build has no web app (it was built with -Dskip.web=true). The API "
      + "is at <code>/v1</code>; its reference is at <a href=\"/api/docs\">/api/docs</a>.</p></body></html>";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** index.html cut at each nonce placeholder (Vite writes one on every script and stylesheet tag too). */
  private final List<Buffer> indexParts;
  private final WebAssets assets;

  private StaticSite(String indexHtml, WebAssets assets) {
    this.indexParts = Arrays.stream(indexHtml.split(Pattern.quote(NONCE_PLACEHOLDER), -1)).map(Buffer::buffer)
        .toList();
    this.assets = assets;
  }

  /** Reads index.html and every asset once, asynchronously, so no request touches the file system. */
  public static Future<StaticSite> load(Vertx vertx) {
    return load(vertx, ROOT);
  }

  static Future<StaticSite> load(Vertx vertx, String root) {
    Future<String> index = vertx.fileSystem().readFile(root + "/index.html")
        .map(b -> b.toString(StandardCharsets.UTF_8))
        .otherwise(err -> {
          LOG.warn("No web app in this build ({}/index.html is missing): serving a notice instead", root);
          return NOT_BUILT;
        });
    return Future.all(index, WebAssets.load(vertx, root))
        .map(all -> new StaticSite(index.result(), all.resultAt(1)));
  }

  public void mount(Router router) {
    router.route().handler(ctx -> {
      ctx.response()
          .putHeader("Content-Security-Policy", String.format(CSP, ""))
          .putHeader("X-Content-Type-Options", "nosniff")
          .putHeader("X-Frame-Options", "DENY")
          .putHeader("Referrer-Policy", "strict-origin-when-cross-origin");
      ctx.next();
    });
    router.route().method(HttpMethod.GET).method(HttpMethod.HEAD).handler(this::serve);
  }

  private void serve(RoutingContext ctx) {
    String path = ctx.normalizedPath();
    WebAssets.Asset asset = assets.get(path);
    if (asset != null) {
      sendAsset(ctx, path, asset);
    } else if (isAppRoute(path)) {
      sendIndex(ctx);
    } else {
      ctx.next(); // a missing file or an unknown API path: 404 JSON, never the page
    }
  }

  private void sendAsset(RoutingContext ctx, String path, WebAssets.Asset asset) {
    HttpServerResponse response = ctx.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, asset.contentType())
        // Files under /assets have a content hash in their name: a new build makes new names.
        .putHeader(HttpHeaders.CACHE_CONTROL, path.startsWith("/assets/")
            ? "public, max-age=31536000, immutable" : "public, max-age=3600");
    Buffer body = asset.identity();
    if (asset.gzip() != null || asset.brotli() != null) {
      response.putHeader(HttpHeaders.VARY, "Accept-Encoding");
      String accepted = ctx.request().getHeader(HttpHeaders.ACCEPT_ENCODING);
      if (asset.brotli() != null && AcceptEncoding.accepts(accepted, "br")) {
        response.putHeader(HttpHeaders.CONTENT_ENCODING, "br");
        body = asset.brotli();
      } else if (asset.gzip() != null && AcceptEncoding.accepts(accepted, "gzip")) {
        response.putHeader(HttpHeaders.CONTENT_ENCODING, "gzip");
        body = asset.gzip();
      }
    }
    end(ctx, body);
  }

  private void sendIndex(RoutingContext ctx) {
    byte[] bytes = new byte[18];
    RANDOM.nextBytes(bytes);
    String nonce = Base64.getEncoder().encodeToString(bytes);
    Buffer page = Buffer.buffer();
    for (int i = 0; i < indexParts.size(); i++) {
      page.appendBuffer(i == 0 ? indexParts.get(0) : Buffer.buffer(nonce).appendBuffer(indexParts.get(i)));
    }
    String csp = String.format(CSP, indexParts.size() > 1 ? " 'nonce-" + nonce + "'" : "");
    ctx.response()
        .putHeader("Content-Security-Policy", csp)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache");
    end(ctx, page);
  }

  private static void end(RoutingContext ctx, Buffer body) {
    if (ctx.request().method() == HttpMethod.HEAD) {
      ctx.response().putHeader(HttpHeaders.CONTENT_LENGTH, String.valueOf(body.length())).end();
    } else {
      ctx.response().end(body);
    }
  }

  /**
   * A client-side route of the web app: the root, or a path whose first segment is one of {@link #APP_ROUTES}
   * and whose last segment has no file extension (/dashboard/logo.png names a file, which does not exist).
   */
  static boolean isAppRoute(String path) {
    if (path.equals("/")) {
      return true;
    }
    String first = path.substring(1).split("/", 2)[0];
    String last = path.substring(path.lastIndexOf('/') + 1);
    return APP_ROUTES.contains(first) && !last.contains(".");
  }
}
