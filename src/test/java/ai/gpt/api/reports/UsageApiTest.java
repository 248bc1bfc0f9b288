package ai.gpt.api.reports;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.auth.ApiKeyFormat;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The usage reports through real HTTP, as a signed-in member: usage rows are inserted straight into the table with
 * known values (two organizations, several days, models and keys), and every answer is checked against sums
 * computed here from the same rows.
 */
@ExtendWith(VertxExtension.class)
class UsageApiTest {
  private static final String PASSWORD = "correct horse battery";
  private static final String WEIRD_MODEL = "weird,\"model\"";

  /** One usage row as inserted. */
  record U(String requestId, OffsetDateTime createdAt, long keyId, String keyPublic, String model, int prompt,
      int completion, long cost, int status, boolean estimated, Integer latency, Integer ttft) {}

  /** A signed-in user and their personal organization. */
  record Member(String accessToken, long orgId) {}

  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private final LocalDate today = LocalDate.now(ZoneOffset.UTC);

  @BeforeEach
  void start(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
  }

  @AfterEach
  void stop() {
    gw.close();
    if (fake != null) {
      fake.close().await();
    }
  }

  @Test
  @DisplayName("summary by day, model and key: exact sums, costs and p50 latency; bad dates are 400 with the param")
  void summary() {
    Member a = member("ann@example.com");
    Member b = member("bea@example.com");
    List<U> rows = seed(a.orgId(), 60);
    seed(b.orgId(), 7);

    String range = "from=" + today.minusDays(2) + "&to=" + today;
    JsonObject byDay = ok(get(a, "/api/orgs/" + a.orgId() + "/usage/summary?group_by=day&" + range));
    assertEquals("day", byDay.getString("group_by"));
    checkGroups(byDay, "day", rows, u -> u.createdAt().toLocalDate().toString());
    assertEquals(3, byDay.getJsonArray("rows").size());

    JsonObject byModel = ok(get(a, "/api/orgs/" + a.orgId() + "/usage/summary?group_by=model&" + range));
    checkGroups(byModel, "model", rows, U::model);
    JsonObject byKey = ok(get(a, "/api/orgs/" + a.orgId() + "/usage/summary?group_by=key&" + range));
    checkGroups(byKey, "key_id", rows, U::keyPublic);

    // One hand-checked number: the total cost, as integer micros and as an exact USD string.
    long cost = rows.stream().mapToLong(U::cost).sum();
    JsonObject total = byDay.getJsonObject("total");
    assertEquals(cost, total.getLong("cost_micros"));
    assertEquals(new java.math.BigDecimal(cost).movePointLeft(6).toPlainString(), total.getString("cost_usd"));
    assertEquals(rows.size(), total.getLong("requests"));

    // A narrower range sees only its day; the default is the last 30 days, which holds all of it.
    JsonObject oneDay = ok(get(a, "/api/orgs/" + a.orgId() + "/usage/summary?from=" + today.minusDays(1)
        + "&to=" + today.minusDays(1)));
    assertEquals(rows.stream().filter(u -> u.createdAt().toLocalDate().equals(today.minusDays(1))).count(),
        oneDay.getJsonObject("total").getLong("requests"));
    JsonObject dflt = ok(get(a, "/api/orgs/" + a.orgId() + "/usage/summary"));
    assertEquals(today.minusDays(29).toString(), dflt.getString("from"));
    assertEquals(today.toString(), dflt.getString("to"));
    assertEquals(rows.size(), dflt.getJsonObject("total").getLong("requests"));
    // An empty range: zeros, no rows.
    JsonObject empty = ok(get(a, "/api/orgs/" + a.orgId() + "/usage/summary?from=2020-01-01&to=2020-01-31"));
    assertEquals(0, empty.getJsonArray("rows").size());
    assertEquals(0L, empty.getJsonObject("total").getLong("requests"));
    assertEquals("0.000000", empty.getJsonObject("total").getString("cost_usd"));

    assertBad(get(a, "/api/orgs/" + a.orgId() + "/usage/summary?from=2025-13-01"), "from");
    assertBad(get(a, "/api/orgs/" + a.orgId() + "/usage/summary?to=yesterday"), "to");
    assertBad(get(a, "/api/orgs/" + a.orgId() + "/usage/summary?from=2025-02-01&to=2025-01-01"), "from");
    assertBad(get(a, "/api/orgs/" + a.orgId() + "/usage/summary?from=2024-01-01&to=2025-01-01"), "to");
    assertEquals(200, get(a, "/api/orgs/" + a.orgId() + "/usage/summary?from=2024-01-01&to=2024-12-31")
        .statusCode(), "366 days (a leap year) is allowed");
    assertBad(get(a, "/api/orgs/" + a.orgId() + "/usage/summary?group_by=hour"), "group_by");
  }

  @Test
  @DisplayName("request log: keyset pages newest first, no duplicates or gaps even with ties and new rows; filters")
  void requestLog() {
    Member a = member("ann@example.com");
    Member b = member("bea@example.com");
    List<U> rows = seed(a.orgId(), 60);
    seed(b.orgId(), 7);
    List<String> expected = rows.stream()
        .sorted(Comparator.comparing(U::createdAt).thenComparing(U::requestId).reversed())
        .map(U::requestId).toList();

    List<String> seen = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      JsonObject page = ok(get(a, "/api/orgs/" + a.orgId() + "/usage/requests?limit=7"
          + (cursor == null ? "" : "&before=" + cursor)));
      JsonArray data = page.getJsonArray("data");
      assertTrue(data.size() <= 7);
      for (int i = 0; i < data.size(); i++) {
        seen.add(data.getJsonObject(i).getString("request_id"));
      }
      if (pages == 0) {
        // A request arriving meanwhile is newer than every page: it shifts nothing.
        insert(List.of(row(a.orgId(), "zz-new", OffsetDateTime.now(ZoneOffset.UTC), rows.get(0).keyId(),
            rows.get(0).keyPublic(), "gpt-fast", 1)));
        JsonObject first = data.getJsonObject(0);
        U newest = rows.stream().filter(u -> u.requestId().equals(first.getString("request_id"))).findFirst()
            .orElseThrow();
        assertEquals(newest.keyPublic(), first.getString("key_id"));
        assertEquals(newest.model(), first.getString("model"));
        assertEquals(newest.prompt(), first.getInteger("prompt_tokens"));
        assertEquals(newest.completion(), first.getInteger("completion_tokens"));
        assertEquals(newest.cost(), first.getLong("cost_micros"));
        assertEquals(newest.status(), first.getInteger("status"));
        assertEquals(newest.estimated(), first.getBoolean("estimated"));
        assertEquals(newest.latency(), first.getInteger("latency_ms"));
        assertEquals(newest.ttft(), first.getInteger("ttft_ms"));
        assertEquals(newest.createdAt().toInstant(), OffsetDateTime.parse(first.getString("created_at")).toInstant());
      }
      cursor = page.getString("next_cursor");
      assertEquals(cursor != null, page.getBoolean("has_more"));
      pages++;
    } while (cursor != null && pages < 100);
    assertEquals(expected, seen, "every row exactly once, newest first, ties broken by request id");
    assertEquals(9, pages);

    JsonObject latest = ok(get(a, "/api/orgs/" + a.orgId() + "/usage/requests?limit=1"));
    assertEquals("zz-new", latest.getJsonArray("data").getJsonObject(0).getString("request_id"));
    assertEquals(50, ok(get(a, "/api/orgs/" + a.orgId() + "/usage/requests")).getJsonArray("data").size());

    // Filters: by key (public id) and by model, paged as well.
    String key = rows.get(1).keyPublic();
    assertEquals(rows.stream().filter(u -> u.keyPublic().equals(key)).count(),
        collect(a, "/api/orgs/" + a.orgId() + "/usage/requests?limit=200&key_id=" + key).size());
    assertEquals(rows.stream().filter(u -> u.model().equals("gpt-full")).count(),
        collect(a, "/api/orgs/" + a.orgId() + "/usage/requests?limit=200&model=gpt-full").size());
    assertEquals(0, collect(a, "/api/orgs/" + a.orgId() + "/usage/requests?key_id=nosuchkey").size());

    assertBad(get(a, "/api/orgs/" + a.orgId() + "/usage/requests?limit=0"), "limit");
    assertBad(get(a, "/api/orgs/" + a.orgId() + "/usage/requests?limit=abc"), "limit");
    assertBad(get(a, "/api/orgs/" + a.orgId() + "/usage/requests?before=!!!"), "before");
  }

  @Test
  @DisplayName("CSV export: attachment, header row, one line per request oldest first over several pages, quoting")
  void csvExport() {
    Member a = member("ann@example.com");
    Member b = member("bea@example.com");
    // More than two export pages, with timestamp ties across the page boundaries.
    List<U> rows = seed(a.orgId(), 2 * UsageRoutes.CSV_PAGE + 501);
    seed(b.orgId(), 7);
    HttpResponse<Buffer> resp = get(a, "/api/orgs/" + a.orgId() + "/usage/export.csv?from=" + today.minusDays(2)
        + "&to=" + today);
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    assertTrue(resp.getHeader("content-type").startsWith("text/csv"), resp.getHeader("content-type"));
    assertTrue(resp.getHeader("content-disposition").startsWith("attachment; filename=\"usage-org" + a.orgId()),
        resp.getHeader("content-disposition"));
    String body = resp.bodyAsString();
    assertTrue(body.endsWith("\r\n"));
    String[] lines = body.split("\r\n");
    assertEquals(UsageRoutes.CSV_HEADER.trim(), lines[0]);
    assertEquals(rows.size() + 1, lines.length);
    List<U> oldestFirst = rows.stream().sorted(Comparator.comparing(U::createdAt).thenComparing(U::requestId))
        .toList();
    for (int i = 0; i < oldestFirst.size(); i++) {
      U u = oldestFirst.get(i);
      String model = u.model().equals(WEIRD_MODEL) ? "\"weird,\"\"model\"\"\"" : u.model();
      String expected = String.join(",", u.requestId(),
          u.createdAt().format(java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME), u.keyPublic(), model,
          "/v1/chat/completions", String.valueOf(u.prompt()), String.valueOf(u.completion()), "0",
          String.valueOf(u.cost()), new java.math.BigDecimal(u.cost()).movePointLeft(6).setScale(6).toPlainString(),
          String.valueOf(u.status()), String.valueOf(u.estimated()), u.latency() == null ? "" : u.latency().toString(),
          u.ttft() == null ? "" : u.ttft().toString());
      assertEquals(expected, lines[i + 1]);
    }
    assertTrue(body.contains(",\"weird,\"\"model\"\"\","), "a comma and quotes in a field are quoted");

    HttpResponse<Buffer> none = get(a, "/api/orgs/" + a.orgId() + "/usage/export.csv?from=2020-01-01&to=2020-01-02");
    assertEquals(UsageRoutes.CSV_HEADER, none.bodyAsString());
    assertBad(get(a, "/api/orgs/" + a.orgId() + "/usage/export.csv?from=2020-01-01&to=2022-01-01"), "to");
  }

  @Test
  @DisplayName("monitor: today's and this month's totals, the most used model, the last request")
  void monitor() {
    Member a = member("ann@example.com");
    Member b = member("bea@example.com");
    JsonObject nothing = ok(get(a, "/api/orgs/" + a.orgId() + "/usage/monitor"));
    assertEquals(0L, nothing.getJsonObject("today").getLong("requests"));
    assertNull(nothing.getValue("last_request"));
    assertNull(nothing.getJsonObject("this_month").getValue("top_model"));

    List<U> rows = seed(a.orgId(), 60);
    seed(b.orgId(), 7);
    JsonObject m = ok(get(a, "/api/orgs/" + a.orgId() + "/usage/monitor"));
    List<U> day = rows.stream().filter(u -> u.createdAt().toLocalDate().equals(today)).toList();
    List<U> month = rows.stream().filter(u -> !u.createdAt().toLocalDate().isBefore(today.withDayOfMonth(1)))
        .toList();
    assertTotals(day, m.getJsonObject("today"));
    assertTotals(month, m.getJsonObject("this_month"));
    Map<String, Long> perModel = month.stream().collect(Collectors.groupingBy(U::model, TreeMap::new,
        Collectors.counting()));
    String top = perModel.entrySet().stream().max(Map.Entry.<String, Long>comparingByValue()
        .thenComparing(Map.Entry.comparingByKey(Comparator.reverseOrder()))).orElseThrow().getKey();
    assertEquals(top, m.getJsonObject("this_month").getJsonObject("top_model").getString("model"));
    assertEquals(perModel.get(top), m.getJsonObject("this_month").getJsonObject("top_model").getLong("requests"));
    U last = rows.stream().max(Comparator.comparing(U::createdAt).thenComparing(U::requestId)).orElseThrow();
    JsonObject lastJson = m.getJsonObject("last_request");
    assertEquals(last.requestId(), lastJson.getString("request_id"));
    assertEquals(last.model(), lastJson.getString("model"));
    assertEquals(last.status(), lastJson.getInteger("status"));
    assertEquals(last.createdAt().toInstant(), OffsetDateTime.parse(lastJson.getString("created_at")).toInstant());
  }

  @Test
  @DisplayName("limits: plan, override and effective values, and what real requests left in the Redis buckets")
  void limits(Vertx vertx) {
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(4)).await();
    gw.addBackend("gpt-fast", fake);
    Member a = member("ann@example.com");
    Member b = member("bea@example.com");
    gw.credit(a.orgId(), 5_000_000L);
    update("organizations", a.orgId(), "rpd", 10);
    update("organizations", a.orgId(), "tpd", 1_000);
    String fullKey = gw.createKey(a.orgId(), null);
    String publicId = ApiKeyFormat.parse(fullKey).publicId();
    long keyId = gw.pool().preparedQuery("SELECT id FROM api_keys WHERE public_id = $1").execute(Tuple.of(publicId))
        .await().iterator().next().getLong(0);
    update("api_keys", keyId, "rph", 5);
    String otherKey = ApiKeyFormat.parse(gw.createKey(b.orgId(), null)).publicId();

    JsonObject before = ok(get(a, "/api/orgs/" + a.orgId() + "/limits"));
    JsonObject rpdBefore = window(before.getJsonObject("org"), "requests", "day");
    assertEquals(10L, rpdBefore.getLong("limit"));
    assertEquals(10L, rpdBefore.getLong("remaining"), "a bucket never used is full");
    assertEquals(0L, rpdBefore.getLong("reset_ms"));
    assertEquals("ledger", before.getJsonObject("credit").getString("source"));
    assertEquals(5_000_000L, before.getJsonObject("credit").getLong("balance_micros"));

    for (int i = 0; i < 2; i++) {
      HttpResponse<Buffer> r = gw.post("/v1/chat/completions", fullKey, new JsonObject().put("model", "gpt-fast")
          .put("max_tokens", 5).put("messages", new JsonArray().add(new JsonObject().put("role", "user")
              .put("content", "Hello there"))));
      assertEquals(200, r.statusCode(), r.bodyAsString());
    }

    JsonObject org = ok(get(a, "/api/orgs/" + a.orgId() + "/limits"));
    assertEquals("default", org.getJsonObject("plan").getString("id"));
    JsonObject rpd = window(org.getJsonObject("org"), "requests", "day");
    assertEquals(10L, rpd.getLong("override"));
    assertEquals(200_000L, rpd.getLong("plan"));
    assertEquals(8L, rpd.getLong("remaining"), rpd.encode());
    // Two requests out of 10 a day: full again in 2/10 of a day (minus the few ms since).
    long reset = rpd.getLong("reset_ms");
    assertTrue(reset > 17_200_000L && reset <= 17_280_000L, "reset " + reset);
    assertNotNull(rpd.getString("reset_at"));
    JsonObject rpm = window(org.getJsonObject("org"), "requests", "minute");
    assertEquals(600L, rpm.getLong("limit"));
    assertNull(rpm.getValue("override"));
    JsonObject tpd = window(org.getJsonObject("org"), "tokens", "day");
    assertEquals(1_000L, tpd.getLong("limit"));
    // Settlement gave back the unused reservation: what is gone is the tokens the two requests really used.
    assertTrue(tpd.getLong("remaining") < 1_000L && tpd.getLong("remaining") > 900L, tpd.encode());
    assertEquals(32, org.getJsonObject("org").getJsonObject("concurrency_per_key").getInteger("limit"));
    assertNull(org.getValue("key"));
    JsonObject credit = org.getJsonObject("credit");
    assertEquals("redis", credit.getString("source"));
    long balance = credit.getLong("balance_micros");
    assertTrue(balance < 5_000_000L && balance > 4_000_000L, credit.encode());
    assertEquals(balance - credit.getLong("held_micros"), credit.getLong("available_micros"));

    JsonObject withKey = ok(get(a, "/api/orgs/" + a.orgId() + "/limits?key_id=" + publicId));
    JsonObject key = withKey.getJsonObject("key");
    assertEquals(publicId, key.getString("key_id"));
    JsonObject rph = window(key, "requests", "hour");
    assertEquals(5L, rph.getLong("limit"));
    assertEquals(3L, rph.getLong("remaining"), rph.encode());
    assertNull(window(key, "requests", "minute").getValue("limit"), "the key does not narrow rpm");
    assertEquals(32, key.getJsonObject("concurrency").getInteger("limit"));
    assertEquals(0, key.getJsonObject("concurrency").getInteger("in_flight"));

    HttpResponse<Buffer> foreign = get(a, "/api/orgs/" + a.orgId() + "/limits?key_id=" + otherKey);
    assertEquals(404, foreign.statusCode());
    assertEquals("key_id", foreign.bodyAsJsonObject().getJsonObject("error").getString("param"));
    // Nothing leaks between organizations: B's buckets are untouched.
    JsonObject bLimits = ok(get(b, "/api/orgs/" + b.orgId() + "/limits"));
    assertEquals(200_000L, window(bLimits.getJsonObject("org"), "requests", "day").getLong("remaining"));
  }

  @Test
  @DisplayName("tenant isolation: every route with another organization's id is 404; without a session 401")
  void isolation() {
    Member a = member("ann@example.com");
    Member b = member("bea@example.com");
    seed(b.orgId(), 7);
    List<String> routes = List.of("/usage/summary", "/usage/requests", "/usage/export.csv", "/usage/monitor",
        "/limits", "/limits?key_id=x", "/usage/summary?from=bad");
    for (String route : routes) {
      HttpResponse<Buffer> other = get(a, "/api/orgs/" + b.orgId() + route);
      assertEquals(404, other.statusCode(), route + ": " + other.bodyAsString());
      assertEquals("not_found", other.bodyAsJsonObject().getJsonObject("error").getString("code"));
      HttpResponse<Buffer> unknown = get(a, "/api/orgs/999999" + route);
      assertEquals(other.bodyAsString(), unknown.bodyAsString(), "a foreign id looks like a missing one");
      assertEquals(404, get(a, "/api/orgs/abc" + route).statusCode());
      assertEquals(401, get(null, "/api/orgs/" + a.orgId() + route).statusCode());
      // In their own organization the same calls work (or fail on their own merits: an unknown key, a bad date).
      int own = route.contains("key_id") ? 404 : route.contains("bad") ? 400 : 200;
      assertEquals(own, get(a, "/api/orgs/" + a.orgId() + route).statusCode(), route);
    }
    // B's rows never show in A's answers.
    assertEquals(0L, ok(get(a, "/api/orgs/" + a.orgId() + "/usage/summary")).getJsonObject("total")
        .getLong("requests"));
    assertEquals(0, ok(get(a, "/api/orgs/" + a.orgId() + "/usage/requests")).getJsonArray("data").size());
    assertEquals(7L, ok(get(b, "/api/orgs/" + b.orgId() + "/usage/summary")).getJsonObject("total")
        .getLong("requests"));
  }

  // -----------------------------------------------------------------------------------------------------------

  /** Signs up through the API, marks the address verified (the e-mail round trip is AccountApiTest's), signs in. */
  private Member member(String email) {
    HttpResponse<Buffer> up = gw.client().post("/api/auth/signup")
        .sendJsonObject(new JsonObject().put("email", email).put("password", PASSWORD)).await();
    assertEquals(202, up.statusCode(), up.bodyAsString());
    gw.pool().preparedQuery("UPDATE users SET email_verified_at = now() WHERE email = $1").execute(Tuple.of(email))
        .await();
    HttpResponse<Buffer> in = gw.client().post("/api/auth/signin")
        .sendJsonObject(new JsonObject().put("email", email).put("password", PASSWORD)).await();
    assertEquals(200, in.statusCode(), in.bodyAsString());
    String token = in.bodyAsJsonObject().getString("access_token");
    JsonObject me = gw.client().get("/api/me").bearerTokenAuthentication(token).send().await().bodyAsJsonObject();
    return new Member(token, me.getJsonArray("organizations").getJsonObject(0).getLong("id"));
  }

  /**
   * {@code n} rows over the last three days (today's early enough to be in the past), three at each timestamp
   * so pagination must break ties, on two keys and three models, with known tokens, costs and latencies.
   */
  private List<U> seed(long orgId, int n) {
    List<long[]> keys = new ArrayList<>();
    List<String> publics = new ArrayList<>();
    for (int k = 0; k < 2; k++) {
      String publicId = ApiKeyFormat.parse(gw.createKey(orgId, null)).publicId();
      publics.add(publicId);
      keys.add(new long[] {gw.pool().preparedQuery("SELECT id FROM api_keys WHERE public_id = $1")
          .execute(Tuple.of(publicId)).await().iterator().next().getLong(0)});
    }
    String[] models = {"gpt-fast", "gpt-full", WEIRD_MODEL};
    List<U> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      LocalDate day = today.minusDays(2 - (i * 3L / n));
      OffsetDateTime at = day.atStartOfDay().atOffset(ZoneOffset.UTC).plusSeconds(i / 3).plusNanos(123_456_000L);
      int k = i % 2;
      String model = models[(i / 2) % 3];
      rows.add(new U("req-" + orgId + "-" + String.format("%03d", (i * 37) % n), at, keys.get(k)[0], publics.get(k),
          model, 10 + i, 3 * i, 1_000L * i + 7, i % 10 == 9 ? 500 : 200, i % 7 == 0,
          i % 11 == 10 ? null : 100 + (i * 13) % 50, i % 4 == 0 ? null : 5 + i));
    }
    insert(rows);
    return rows;
  }

  private U row(long orgId, String id, OffsetDateTime at, long keyId, String keyPublic, String model, int tokens) {
    return new U(id, at, keyId, keyPublic, model, tokens, tokens, tokens, 200, false, 10, 1);
  }

  private void insert(List<U> rows) {
    List<Tuple> batch = new ArrayList<>();
    for (U u : rows) {
      long org = Long.parseLong(u.requestId().startsWith("req-") ? u.requestId().split("-")[1] : "0");
      batch.add(Tuple.tuple(List.of(u.requestId(), org == 0 ? orgOfKey(u.keyId()) : org, u.keyId(), u.model(),
          "/v1/chat/completions", u.prompt(), u.completion(), u.cost(), u.status(), u.estimated()))
          .addValue(u.latency()).addValue(u.ttft()).addValue(u.createdAt()));
    }
    gw.pool().preparedQuery("INSERT INTO usage (request_id, org_id, key_id, model, endpoint, prompt_tokens, "
        + "completion_tokens, cost_micros, status, estimated, latency_ms, ttft_ms, created_at) "
        + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)").executeBatch(batch).await();
  }

  private long orgOfKey(long keyId) {
    return gw.pool().preparedQuery("SELECT org_id FROM api_keys WHERE id = $1").execute(Tuple.of(keyId)).await()
        .iterator().next().getLong(0);
  }

  private void update(String table, long id, String column, long value) {
    gw.pool().preparedQuery("UPDATE " + table + " SET " + column + " = $2 WHERE id = $1")
        .execute(Tuple.of(id, value)).await();
  }

  /** Compares grouped rows with sums computed here. */
  private static void checkGroups(JsonObject summary, String field, List<U> rows, Function<U, String> key) {
    Map<String, List<U>> groups = rows.stream().collect(Collectors.groupingBy(key, LinkedHashMap::new,
        Collectors.toList()));
    JsonArray out = summary.getJsonArray("rows");
    assertEquals(groups.size(), out.size(), out.encode());
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < out.size(); i++) {
      JsonObject r = out.getJsonObject(i);
      String g = r.getString(field);
      assertTrue(seen.add(g));
      List<U> expected = groups.get(g);
      assertNotNull(expected, "unexpected group " + g);
      assertTotals(expected, r);
      assertEquals(expected.stream().mapToLong(U::prompt).sum(), r.getLong("prompt_tokens"));
      assertEquals(expected.stream().mapToLong(U::completion).sum(), r.getLong("completion_tokens"));
      assertEquals(median(expected), r.getDouble("p50_latency_ms"), 1e-9, g);
    }
    assertTotals(rows, summary.getJsonObject("total"));
    assertEquals(median(rows), summary.getJsonObject("total").getDouble("p50_latency_ms"), 1e-9);
  }

  private static void assertTotals(List<U> expected, JsonObject r) {
    assertEquals(expected.size(), r.getLong("requests"), r.encode());
    assertEquals(expected.stream().mapToLong(u -> u.prompt() + u.completion()).sum(),
        r.containsKey("total_tokens") ? r.getLong("total_tokens") : r.getLong("tokens"), r.encode());
    long cost = expected.stream().mapToLong(U::cost).sum();
    assertEquals(cost, r.getLong("cost_micros"));
    assertEquals(new java.math.BigDecimal(cost).movePointLeft(6).setScale(6).toPlainString(), r.getString("cost_usd"));
  }

  /** percentile_cont(0.5): the middle value, or the mean of the two middle ones; nulls ignored. */
  private static Double median(List<U> rows) {
    List<Integer> l = rows.stream().map(U::latency).filter(x -> x != null).sorted().toList();
    if (l.isEmpty()) {
      return null;
    }
    int n = l.size();
    return n % 2 == 1 ? l.get(n / 2) : (l.get(n / 2 - 1) + l.get(n / 2)) / 2.0;
  }

  private List<String> collect(Member m, String path) {
    List<String> ids = new ArrayList<>();
    String cursor = null;
    do {
      JsonObject page = ok(get(m, path + (cursor == null ? "" : "&before=" + cursor)));
      page.getJsonArray("data").forEach(o -> ids.add(((JsonObject) o).getString("request_id")));
      cursor = page.getString("next_cursor");
    } while (cursor != null);
    assertEquals(ids.size(), new HashSet<>(ids).size());
    return ids;
  }

  private static JsonObject window(JsonObject scope, String kind, String window) {
    JsonArray windows = scope.getJsonArray("windows");
    for (int i = 0; i < windows.size(); i++) {
      JsonObject w = windows.getJsonObject(i);
      if (w.getString("kind").equals(kind) && w.getString("window").equals(window)) {
        return w;
      }
    }
    throw new AssertionError("no window " + kind + "/" + window + " in " + scope.encode());
  }

  private HttpResponse<Buffer> get(Member m, String path) {
    HttpRequest<Buffer> r = gw.client().get(path);
    if (m != null) {
      r.bearerTokenAuthentication(m.accessToken());
    }
    return r.send().await();
  }

  private static JsonObject ok(HttpResponse<Buffer> resp) {
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    return resp.bodyAsJsonObject();
  }

  private static void assertBad(HttpResponse<Buffer> resp, String param) {
    assertEquals(400, resp.statusCode(), resp.bodyAsString());
    assertEquals(param, resp.bodyAsJsonObject().getJsonObject("error").getString("param"), resp.bodyAsString());
  }
}
