package ai.gpt.api.account;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.TcpProxy;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A session lookup that fails because PostgreSQL is unreachable is not a reason to sign the user out. */
@ExtendWith(VertxExtension.class)
class SessionOutageTest {

  @Test
  @DisplayName("PostgreSQL cut: a valid access token gets 503 service_unavailable, not 401, a sign-in 503, not 500; afterwards 200 again")
  void outageIsNotAnInvalidSession(Vertx vertx) throws Exception {
    TestServices.ensureDatabase();
    URI db = URI.create(TestServices.DATABASE_URL);
    TcpProxy proxy = TcpProxy.start(vertx, db.getHost(), db.getPort()).await();
    String proxied = TestServices.DATABASE_URL.replace(db.getHost() + ":" + db.getPort(), "127.0.0.1:" + proxy.port());
    try (ApiClient api = ApiClient.start(vertx, Map.of("DATABASE_URL", proxied))) {
      String token = api.signUpAndSignIn("outage@example.com");
      assertEquals(200, api.call(HttpMethod.GET, "/api/me", token, null).statusCode());

      proxy.cut();
      HttpResponse<Buffer> during = api.call(HttpMethod.GET, "/api/me", token, null);
      assertEquals(503, during.statusCode(), during.bodyAsString());
      assertEquals("service_unavailable", ApiClient.code(during));
      // Any /api route whose query fails on the cut connection: an outage to retry, never a 500.
      HttpResponse<Buffer> signIn = api.call(HttpMethod.POST, "/api/auth/signin", null,
          new JsonObject().put("email", "outage@example.com").put("password", ApiClient.PASSWORD));
      assertEquals(503, signIn.statusCode(), signIn.bodyAsString());
      assertEquals("1", signIn.getHeader("retry-after"));

      proxy.restore();
      HttpResponse<Buffer> after = api.call(HttpMethod.GET, "/api/me", token, null);
      assertEquals(200, after.statusCode(), after.bodyAsString());
    } finally {
      proxy.close().await();
    }
  }
}
