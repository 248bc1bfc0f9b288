package ai.gpt.api.status;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.InProcessCli;
import ai.gpt.api.testing.InProcessCli.Result;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Incidents through the admin API and the CLI, announced by e-mail to subscribers who confirmed (GreenMail). */
@ExtendWith(VertxExtension.class)
class IncidentsApiTest {
  private static final Pattern UNSUBSCRIBE = Pattern.compile("/status/unsubscribe\\?token=([0-9]+-[0-9a-f]+)");
  private ApiClient api;
  private String admin;
  /** The last audit row before this test: the append-only audit keeps earlier tests' rows, incident ids restart. */
  private long auditBefore;

  @BeforeEach
  void setUp(Vertx vertx) throws Exception {
    StatusTables.clean(vertx);
    api = ApiClient.start(vertx, StatusApiTest.FAST);
    admin = api.signUpAndSignIn("root@example.com");
    api.gateway().pool().query("UPDATE users SET is_admin = true WHERE email = 'root@example.com'").execute()
        .await();
    auditBefore = api.gateway().pool().query("SELECT COALESCE(max(id), 0) FROM admin_audit").execute().await()
        .iterator().next().getLong(0);
  }

  @AfterEach
  void tearDown() {
    api.close();
  }

  private HttpResponse<Buffer> post(String path, String token, JsonObject body) {
    return api.call(HttpMethod.POST, path, token, body);
  }

  private void badRequest(JsonObject body, String param) {
    HttpResponse<Buffer> r = post("/api/admin/incidents", admin, body);
    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertEquals(param, r.bodyAsJsonObject().getJsonObject("error").getString("param"), r.bodyAsString());
  }

  private static JsonObject valid() {
    return new JsonObject().put("title", "Slow completions").put("severity", "medium")
        .put("message", "We are looking into slow answers.").put("services", new JsonArray().add("chat_completions"))
        .put("models", new JsonArray().add("gpt-fast"));
  }

  /** Subscribes and confirms through the e-mailed link. */
  private void subscribe(String email) {
    assertEquals(202, post("/api/status/subscribe", null, new JsonObject().put("email", email)).statusCode());
    String token = api.tokenFromMail(email, "Confirm your GPT API status subscription");
    assertEquals(200, post("/api/status/confirm", null, new JsonObject().put("token", token)).statusCode());
    assertEquals(400, post("/api/status/confirm", null, new JsonObject().put("token", token)).statusCode(),
        "a confirmation link works once");
  }

  @Test
  @DisplayName("admin API: open, update, resolve with strict validation, audit, the status page and subscriber mail")
  void lifecycle() {
    subscribe("alice@example.com");
    assertEquals(202, post("/api/status/subscribe", null, new JsonObject().put("email", "bob@example.com"))
        .statusCode(), "bob never confirms");
    String member = api.signUpAndSignIn("member@example.com");
    assertEquals(404, post("/api/admin/incidents", member, valid()).statusCode(), "hidden from non-admins");

    badRequest(valid().put("severity", "urgent"), "severity");
    badRequest(valid().put("status", "resolved"), "status");
    badRequest(valid().put("title", "x".repeat(201)), "title");
    badRequest(valid().put("title", "two\u0000lines"), "title");
    badRequest(valid().put("message", " "), "message");
    badRequest(valid().put("services", new JsonArray().add("everything")), "services");
    badRequest(valid().put("services", "chat_completions"), "services");
    badRequest(valid().put("models", new JsonArray().add("gpt-9")), "models");
    badRequest(valid().put("started_at", "yesterday"), "started_at");
    badRequest(valid().put("started_at", Instant.now().plusSeconds(3600).toString()), "started_at");
    badRequest(valid().put("impact", "big"), "impact");
    assertEquals(0, countIncidents(), "nothing stored by a refused request");

    String startedAt = "2026-01-02T03:04:05Z";
    HttpResponse<Buffer> opened = post("/api/admin/incidents", admin, valid().put("started_at", startedAt));
    assertEquals(201, opened.statusCode(), opened.bodyAsString());
    JsonObject incident = opened.bodyAsJsonObject();
    long id = incident.getLong("id");
    assertEquals("investigating", incident.getString("status"));
    assertEquals(startedAt, incident.getString("started_at"));
    assertFalse(incident.getBoolean("automatic"));
    assertEquals(1, incident.getJsonArray("updates").size());
    assertTrue(api.mailTo("alice@example.com", "[GPT API status] New incident: Slow completions")
        .contains("We are looking into slow answers."));

    HttpResponse<Buffer> updated = post("/api/admin/incidents/" + id + "/updates", admin, new JsonObject()
        .put("status", "identified").put("message", "A backend is overloaded.").put("severity", "high"));
    assertEquals(201, updated.statusCode(), updated.bodyAsString());
    assertEquals("high", updated.bodyAsJsonObject().getString("severity"));
    assertEquals(2, updated.bodyAsJsonObject().getJsonArray("updates").size());
    assertEquals(400, post("/api/admin/incidents/" + id + "/updates", admin, new JsonObject()
        .put("status", "fixed").put("message", "x")).statusCode());
    assertEquals(404, post("/api/admin/incidents/999999/updates", admin, new JsonObject()
        .put("status", "monitoring").put("message", "x")).statusCode());
    assertEquals(404, post("/api/admin/incidents/abc/updates", admin, new JsonObject()
        .put("status", "monitoring").put("message", "x")).statusCode());
    awaitTrue("the page shows the open incident", () -> {
      JsonArray open = api.call(HttpMethod.GET, "/api/status", null, null).bodyAsJsonObject()
          .getJsonObject("incidents").getJsonArray("open");
      return open.size() == 1 && open.getJsonObject(0).getJsonArray("updates").size() == 2;
    });

    assertEquals(400, post("/api/admin/incidents/" + id + "/resolve", admin,
        new JsonObject().put("resolved_at", "2025-01-01T00:00:00Z")).statusCode(), "before it started");
    HttpResponse<Buffer> resolved = post("/api/admin/incidents/" + id + "/resolve", admin, null);
    assertEquals(200, resolved.statusCode(), resolved.bodyAsString());
    assertEquals("resolved", resolved.bodyAsJsonObject().getString("status"));
    HttpResponse<Buffer> again = post("/api/admin/incidents/" + id + "/updates", admin, new JsonObject()
        .put("status", "monitoring").put("message", "x"));
    assertEquals(409, again.statusCode());
    assertEquals("incident_resolved", ApiClient.code(again));
    String resolvedMail = api.mailTo("alice@example.com", "[GPT API status] Resolved: Slow completions");
    assertEquals(0, api.mailCountTo("bob@example.com") - 1, "bob got his confirmation link only");

    JsonObject list = api.call(HttpMethod.GET, "/api/admin/incidents?state=resolved", admin, null)
        .bodyAsJsonObject();
    assertEquals(id, list.getJsonArray("data").getJsonObject(0).getLong("id"));
    assertEquals(0, api.call(HttpMethod.GET, "/api/admin/incidents?state=open", admin, null).bodyAsJsonObject()
        .getJsonArray("data").size());
    assertEquals(400, api.call(HttpMethod.GET, "/api/admin/incidents?state=all", admin, null).statusCode());
    List<String> actions = api.gateway().pool().preparedQuery("SELECT action FROM admin_audit WHERE target_type ="
        + " 'incident' AND target_id = $1 AND id > $2 ORDER BY id").execute(Tuple.of(String.valueOf(id), auditBefore))
        .await().stream()
        .map(r -> r.getString(0)).toList();
    assertEquals(List.of("incident.open", "incident.update", "incident.resolve"), actions);

    // Unsubscribing with the link of any announcement: once, twice (same answer); a forged token is refused.
    Matcher m = UNSUBSCRIBE.matcher(resolvedMail);
    assertTrue(m.find(), resolvedMail);
    String token = m.group(1);
    assertEquals(400, post("/api/status/unsubscribe", null, new JsonObject()
        .put("token", token.substring(0, token.length() - 1) + (token.endsWith("0") ? "1" : "0"))).statusCode());
    assertEquals(200, post("/api/status/unsubscribe", null, new JsonObject().put("token", token)).statusCode());
    assertEquals(200, post("/api/status/unsubscribe", null, new JsonObject().put("token", token)).statusCode());
    int before = api.mailCount();
    Result cli = InProcessCli.run("incident", "open", "--title", "Embeddings down", "--severity", "critical", "--message",
        "Investigating.", "--services", "embeddings");
    assertEquals(0, cli.code(), cli.err());
    assertEquals(before, api.mailCount(), "nobody is subscribed any more");
    assertTrue(api.gateway().pool().query("SELECT count(*) FROM status_subscribers WHERE email = 'alice@example.com'")
        .execute().await().iterator().next().getLong(0) == 0);
  }

  @Test
  @DisplayName("CLI: incident open, update, resolve and list, validated like the API and audited without a user")
  void cliLifecycle() {
    Result opened = InProcessCli.run("incident", "open", "--title", "API errors", "--severity", "high", "--message", "Looking.",
        "--services", "api,billing", "--started-at", "2026-03-01T10:00:00Z");
    assertEquals(0, opened.code(), opened.err());
    Matcher m = Pattern.compile("incident ([0-9]+) \\[high, investigating\\] API errors").matcher(opened.out());
    assertTrue(m.find(), opened.out());
    String id = m.group(1);
    Result updated = InProcessCli.run("incident", "update", id, "--status", "monitoring", "--message", "Fixed, watching.");
    assertEquals(0, updated.code(), updated.err());
    assertTrue(updated.out().contains("[high, monitoring]"), updated.out());
    Result resolved = InProcessCli.run("incident", "resolve", id, "--resolved-at", "2026-03-01T11:30:00Z");
    assertEquals(0, resolved.code(), resolved.err());
    assertTrue(resolved.out().contains("resolved 2026-03-01T11:30:00Z"), resolved.out());
    Result list = InProcessCli.run("incident", "list", "--state", "resolved");
    assertTrue(list.out().contains("incident " + id + " [high, resolved] API errors"), list.out());

    Result bad = InProcessCli.run("incident", "open", "--title", "x", "--severity", "urgent", "--message", "m");
    assertEquals(1, bad.code());
    assertTrue(bad.err().contains("'severity' must be one of critical, high, medium, low"), bad.err());
    assertEquals(1, InProcessCli.run("incident", "update", id, "--status", "identified", "--message", "again").code(),
        "a resolved incident takes no update");
    assertTrue(InProcessCli.run("incident", "resolve", "99999").err().contains("No such incident"));
    assertTrue(InProcessCli.run("incident", "resolve", "x1").err().contains("positive whole number"));
    assertTrue(InProcessCli.run("incident", "open", "--title", "t", "--severity", "low", "--message", "m", "--started-at",
        "2026-13-01T00:00:00Z").err().contains("started_at"));
    assertTrue(InProcessCli.run("incident", "list", "--colour", "red").err().contains("Unknown option --colour"));
    long audited = api.gateway().pool().preparedQuery("SELECT count(*) FROM admin_audit WHERE target_type ="
        + " 'incident' AND target_id = $1 AND admin_user_id IS NULL AND details->>'via' = 'cli' AND id > $2")
        .execute(Tuple.of(id, auditBefore)).await().iterator().next().getLong(0);
    assertEquals(3, audited);
  }

  @Test
  @DisplayName("subscribing is limited per client address and checks its input")
  void subscribeLimits() {
    HttpResponse<Buffer> bad = post("/api/status/subscribe", null, new JsonObject().put("email", "not-an-address"));
    assertEquals(400, bad.statusCode());
    assertEquals("email", bad.bodyAsJsonObject().getJsonObject("error").getString("param"));
    assertEquals(400, post("/api/status/subscribe", null, new JsonObject().put("email", "a@b.co").put("x", 1))
        .statusCode());
    assertEquals(400, post("/api/status/confirm", null, new JsonObject().put("token", "nope")).statusCode());
    int refusedAt = -1;
    for (int i = 0; i < 25 && refusedAt < 0; i++) {
      HttpResponse<Buffer> r = post("/api/status/subscribe", null, new JsonObject().put("email", "u" + i + "@ex.com"));
      if (r.statusCode() == 429) {
        refusedAt = i;
        assertEquals("too_many_attempts", ApiClient.code(r));
        assertTrue(r.getHeader("Retry-After") != null);
      } else {
        assertEquals(202, r.statusCode());
      }
    }
    // The sign-ups of setUp count too: the address limit is shared by every route that sends e-mail.
    assertTrue(refusedAt > 0 && refusedAt <= 20, "refused at " + refusedAt);
  }

  private long countIncidents() {
    return api.gateway().pool().query("SELECT count(*) FROM incidents").execute().await().iterator().next()
        .getLong(0);
  }


  /**
   * The newest audit row before a test: incident ids restart with each test's clean tables, but the audit log is
   * append-only and keeps rows of earlier tests' incidents (the browser journey opens one too) under the same ids.
   */}
