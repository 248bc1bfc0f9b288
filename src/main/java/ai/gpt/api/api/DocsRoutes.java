package ai.gpt.api.api;

import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The API reference, public: the OpenAPI document at {@code /api/openapi.json} and a ReDoc page at
 * {@code /api/docs} that renders it. The page and ReDoc's bundle are served from this origin (the bundle is
 * copied into the jar at build time from the version pinned in {@code src/main/docs/package-lock.json}).
 */
public final class DocsRoutes implements ApiRoutes {
  static final String BUNDLE = "apidocs/redoc.standalone.js";
  /**
   * Like the web app's policy, scripts only from this origin. ReDoc also needs inline styles (styled-components),
   * a blob: worker for its search, and eval for the JSON-schema compiler it bundles; this page shows only the
   * gateway's own document.
   */
  static final String CSP = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
      + "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
      + "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

  private final Buffer document;
  private final Buffer page;
  /** ReDoc's bundle, null when this build has none (built with -Dskip.npm=true): then a 404, never a 500. */
  private final Buffer bundle;

  private DocsRoutes(Buffer document, Buffer page, Buffer bundle) {
    this.document = document;
    this.page = page;
    this.bundle = bundle;
  }

  /**
   * Merges the document and reads the page and the bundle once, asynchronously, so no request touches the file
   * system.
   */
  public static Future<DocsRoutes> load(Vertx vertx) {
    return load(vertx, BUNDLE);
  }

  static Future<DocsRoutes> load(Vertx vertx, String bundlePath) {
    Future<Buffer> document = OpenApiDocument.load(vertx).map(json -> json.toBuffer());
    Future<Buffer> page = vertx.fileSystem().readFile("apidocs/index.html");
    Future<Buffer> bundle = vertx.fileSystem().readFile(bundlePath).otherwise((Buffer) null);
    return Future.all(document, page, bundle)
        .map(all -> new DocsRoutes(document.result(), page.result(), bundle.result()));
  }

  @Override
  public void mountPublic(Router api) {
    api.get("/openapi.json").handler(ctx -> ctx.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader("Access-Control-Allow-Origin", "*")
        .end(document));
    api.get("/docs").handler(this::page);
    api.get("/docs/redoc.standalone.js").handler(ctx -> {
      if (bundle == null) {
        ctx.fail(ApiError.notFound("This build has no API reference bundle (built without npm)."));
        return;
      }
      // The ApiRouter sets no-store; the pinned bundle changes only with a deploy.
      ctx.response()
          .putHeader(HttpHeaders.CONTENT_TYPE, "text/javascript; charset=utf-8")
          .putHeader(HttpHeaders.CACHE_CONTROL, "public, max-age=3600")
          .end(bundle);
    });
  }

  private void page(RoutingContext ctx) {
    ctx.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
        .putHeader("Content-Security-Policy", CSP)
        .end(page);
  }

  @Override
  public void mountSignedIn(Router api) {}
}
