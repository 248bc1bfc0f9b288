package ai.gpt.api.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.error.FailureHandler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A build without ReDoc's bundle (-Dskip.npm=true) answers its URL with a 404, not a 500 from sendFile. */
@ExtendWith(VertxExtension.class)
class DocsRoutesTest {

  @Test
  void aMissingBundleIsA404(Vertx vertx) {
    DocsRoutes docs = DocsRoutes.load(vertx, "apidocs/no-such-bundle.js").await();
    Router root = Router.router(vertx);
    Router api = Router.router(vertx);
    docs.mountPublic(api);
    api.route().failureHandler(FailureHandler.create());
    root.route("/api/*").subRouter(api);
    HttpServer server = vertx.createHttpServer().requestHandler(root).listen(0, "127.0.0.1").await();
    WebClient client = WebClient.create(vertx);
    try {
      HttpResponse<Buffer> r = client.get(server.actualPort(), "127.0.0.1", "/api/docs/redoc.standalone.js")
          .send().await();
      assertEquals(404, r.statusCode(), r.bodyAsString());
      assertEquals("not_found", r.bodyAsJsonObject().getJsonObject("error").getString("code"));
      HttpResponse<Buffer> page = client.get(server.actualPort(), "127.0.0.1", "/api/docs").send().await();
      assertEquals(200, page.statusCode());
      assertTrue(page.bodyAsString().contains("redoc.standalone.js"));
    } finally {
      client.close();
      server.close().await();
    }
  }
}
