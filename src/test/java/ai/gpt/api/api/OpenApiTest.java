package ai.gpt.api.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The OpenAPI document against the routers the gateway really runs: every route is documented with its method,
 * and every documented operation is a route (no stale docs). The reference page and its bundle are served.
 */
@ExtendWith(VertxExtension.class)
class OpenApiTest {
  /**
   * Prefix routes that are not endpoints: the /api mount (walked into), the /v1 not-found fallback and the web app's
   * hashed assets. Routes without a path (middleware such as request ids, the access log, the session check, the
   * web app's fallback and the not-found answers) are not endpoints either.
   */
  /** Prefix routes that are guards or fallbacks, not endpoints (/api/admin/ is the admin check). */
  private static final Set<String> NOT_ENDPOINTS = Set.of("/api/", "/api/admin/", "/v1/", "/assets/");
  private static final Set<String> OPERATIONS = Set.of("get", "put", "post", "delete", "patch", "head", "options");
  private static final Pattern PARAM = Pattern.compile(":([A-Za-z0-9_]+)");

  private GatewayHarness gw;

  @BeforeEach
  void setUp(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
  }

  @AfterEach
  void tearDown() {
    gw.close();
  }

  @Test
  void everyRouteIsDocumentedAndEveryDocumentedRouteExists() {
    HttpResponse<Buffer> resp = gw.client().get("/api/openapi.json").send().await();
    assertEquals(200, resp.statusCode());
    assertTrue(resp.getHeader("content-type").startsWith("application/json"), resp.getHeader("content-type"));
    JsonObject doc = resp.bodyAsJsonObject();
    assertTrue(doc.getString("openapi").startsWith("3."), "an OpenAPI 3 document");
    JsonObject schemes = doc.getJsonObject("components").getJsonObject("securitySchemes");
    for (String scheme : List.of("ApiKey", "AccessToken", "RefreshCookie", "CsrfHeader")) {
      assertNotNull(schemes.getJsonObject(scheme), "security scheme " + scheme);
    }
    assertNotNull(doc.getJsonObject("components").getJsonObject("schemas").getJsonObject("Error"));

    Set<String> routed = new TreeSet<>();
    collect(gw.router(), "", routed);
    Set<String> documented = new TreeSet<>();
    doc.getJsonObject("paths").forEach(path -> ((JsonObject) path.getValue()).fieldNames().stream()
        .filter(OPERATIONS::contains)
        .forEach(method -> documented.add(method.toUpperCase(Locale.ROOT) + " " + path.getKey())));

    // Sanity: the walk found both the OpenAI routes and the /api sub-router's.
    assertTrue(routed.contains("POST /v1/chat/completions"), routed.toString());
    assertTrue(routed.contains("GET /api/orgs/{orgId}/keys"), routed.toString());

    Set<String> undocumented = new TreeSet<>(routed);
    undocumented.removeAll(documented);
    Set<String> stale = new TreeSet<>(documented);
    stale.removeAll(routed);
    assertEquals(Set.of(), undocumented, "routes missing from src/main/resources/openapi/");
    assertEquals(Set.of(), stale, "documented operations that no route serves");

    // Every operation says who may call it: a security requirement of its own or the document's default.
    doc.getJsonObject("paths").forEach(path -> ((JsonObject) path.getValue()).forEach(op -> {
      if (OPERATIONS.contains(op.getKey())) {
        JsonObject operation = (JsonObject) op.getValue();
        assertTrue(operation.containsKey("security") || doc.containsKey("security"),
            op.getKey() + " " + path.getKey() + " has no security requirement");
        assertNotNull(operation.getJsonObject("responses"), op.getKey() + " " + path.getKey() + " has no responses");
      }
    }));
    JsonObject refresh = doc.getJsonObject("paths").getJsonObject("/api/auth/refresh").getJsonObject("post");
    assertEquals(Map.of("RefreshCookie", List.of(), "CsrfHeader", List.of()),
        refresh.getJsonArray("security").getJsonObject(0).getMap());
  }

  @Test
  void theReferencePageLoadsTheBundleFromThisOrigin() {
    HttpResponse<Buffer> page = gw.client().get("/api/docs").send().await();
    assertEquals(200, page.statusCode());
    assertTrue(page.getHeader("content-type").startsWith("text/html"), page.getHeader("content-type"));
    String html = page.bodyAsString();
    assertTrue(html.contains("<script src=\"/api/docs/redoc.standalone.js\"></script>"), html);
    assertTrue(html.contains("spec-url=\"/api/openapi.json\""), html);
    assertTrue(page.getHeader("content-security-policy").contains("script-src 'self'"));

    HttpResponse<Buffer> bundle = gw.client().get("/api/docs/redoc.standalone.js").send().await();
    assertEquals(200, bundle.statusCode());
    assertTrue(bundle.getHeader("content-type").startsWith("text/javascript"), bundle.getHeader("content-type"));
    assertEquals("nosniff", bundle.getHeader("x-content-type-options"));
    assertTrue(bundle.body().length() > 100_000, "the whole ReDoc bundle");
    assertTrue(bundle.bodyAsString().contains("Redoc"));
  }

  /** Every endpoint of a router as "METHOD /path/{param}", walking into sub-routers. */
  private static void collect(Router router, String prefix, Set<String> out) {
    for (Route route : router.getRoutes()) {
      String path = route.getPath();
      if (route.getSubRouter() != null) {
        collect(route.getSubRouter(), prefix + path.replaceAll("/$", ""), out);
        continue;
      }
      if (path == null || NOT_ENDPOINTS.contains(prefix + path)) {
        continue;
      }
      assertTrue(route.isExactPath(), "a prefix route that is neither an endpoint nor listed: " + prefix + path);
      assertTrue(!route.methods().isEmpty(), "a route for every method: " + prefix + path);
      String openApiPath = PARAM.matcher(prefix + path).replaceAll("{$1}");
      for (HttpMethod method : route.methods()) {
        out.add(method.name() + " " + openApiPath);
      }
    }
  }
}
