package ai.gpt.api.reports;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.billing.Money;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.orgs.Memberships;
import ai.gpt.api.orgs.Role;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * Usage reports of an organization, for any of its members: summaries by day, model or key, the request log
 * (keyset-paginated), a CSV export, a monitor of today and this month, and the limits with what is left of them.
 * Every query is bounded by {@code org_id} and {@code created_at}, so it is an index scan of
 * {@code usage (org_id, created_at)} over the partitions of the range (or {@code (key_id, created_at)} for a key).
 */
public final class UsageRoutes implements ApiRoutes {
  static final int DEFAULT_PAGE = 50;
  static final int MAX_PAGE = 200;
  static final int CSV_PAGE = 1_000;
  private static final DateTimeFormatter ISO = DateTimeFormatter.ISO_OFFSET_DATE_TIME;

  private final Pool pool;
  private final Memberships memberships;
  private final LimitsReport limits;

  public UsageRoutes(Pool pool, LimitsReport limits) {
    this.pool = pool;
    this.memberships = new Memberships(pool);
    this.limits = limits;
  }

  @Override
  public void mountSignedIn(Router api) {
    api.get("/orgs/:orgId/usage/summary").handler(ctx -> member(ctx, this::summary));
    api.get("/orgs/:orgId/usage/requests").handler(ctx -> member(ctx, this::requests));
    api.get("/orgs/:orgId/usage/export.csv").handler(ctx -> member(ctx, this::export));
    api.get("/orgs/:orgId/usage/monitor").handler(ctx -> member(ctx, this::monitor));
    api.get("/orgs/:orgId/limits").handler(ctx -> member(ctx, this::limits));
  }

  private interface OrgHandler {
    void handle(RoutingContext ctx, long orgId);
  }

  /** Runs the handler once the caller is known to be a member (404 otherwise, as for an unknown id). */
  private void member(RoutingContext ctx, OrgHandler handler) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.MEMBER).onSuccess(role -> {
      try {
        handler.handle(ctx, orgId);
      } catch (RuntimeException e) {
        ctx.fail(e);
      }
    }).onFailure(ctx::fail);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Summary
  // ---------------------------------------------------------------------------------------------------------

  private void summary(RoutingContext ctx, long orgId) {
    DateRange range = DateRange.of(ctx);
    String groupBy = ctx.request().getParam("group_by", "day");
    String group = switch (groupBy) {
      case "day" -> "to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
      case "model" -> "u.model";
      case "key" -> "k.public_id";
      default -> throw ApiError.invalidRequest("'group_by' must be day, model or key.", "group_by");
    };
    String sql = "SELECT " + group + " AS g, " + (groupBy.equals("key") ? "max(k.name)" : "NULL::text") + " AS label, "
        + "count(*) AS requests, COALESCE(sum(u.prompt_tokens), 0)::bigint AS prompt_tokens, "
        + "COALESCE(sum(u.completion_tokens), 0)::bigint AS completion_tokens, "
        + "COALESCE(sum(u.cost_micros), 0)::bigint AS cost_micros, "
        + "percentile_cont(0.5) WITHIN GROUP (ORDER BY u.latency_ms) AS p50_latency_ms "
        + "FROM usage u LEFT JOIN api_keys k ON k.id = u.key_id "
        + "WHERE u.org_id = $1 AND u.created_at >= $2 AND u.created_at < $3 "
        + "GROUP BY GROUPING SETS ((" + group + "), ()) ORDER BY GROUPING(" + group + "), g NULLS LAST";
    pool.preparedQuery(sql).execute(Tuple.of(orgId, range.start(), range.end())).onSuccess(rows -> {
      JsonArray out = new JsonArray();
      JsonObject total = null;
      int index = 0;
      for (Row r : rows) {
        // GROUPING sorts the grand total (the empty grouping set, present even without rows) last.
        boolean isTotal = index++ == rows.size() - 1;
        JsonObject row = new JsonObject()
            .put("requests", r.getLong("requests"))
            .put("prompt_tokens", r.getLong("prompt_tokens"))
            .put("completion_tokens", r.getLong("completion_tokens"))
            .put("total_tokens", r.getLong("prompt_tokens") + r.getLong("completion_tokens"));
        cost(row, r.getLong("cost_micros"));
        Double p50 = r.getDouble("p50_latency_ms");
        row.put("p50_latency_ms", p50);
        if (isTotal) {
          total = row;
          continue;
        }
        String g = r.getString("g");
        switch (groupBy) {
          case "day" -> row = new JsonObject().put("day", g).mergeIn(row);
          case "model" -> row = new JsonObject().put("model", g).mergeIn(row);
          default -> row = new JsonObject().put("key_id", g).put("key_name", r.getString("label")).mergeIn(row);
        }
        out.add(row);
      }
      if (total == null) {
        total = new JsonObject().put("requests", 0L).put("prompt_tokens", 0L).put("completion_tokens", 0L)
            .put("total_tokens", 0L).put("p50_latency_ms", null);
        cost(total, 0);
      }
      Json.send(ctx, 200, new JsonObject().put("org_id", orgId).put("from", range.from().toString())
          .put("to", range.to().toString()).put("group_by", groupBy).put("timezone", "UTC")
          .put("rows", out).put("total", total));
    }).onFailure(ctx::fail);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Request log
  // ---------------------------------------------------------------------------------------------------------

  private void requests(RoutingContext ctx, long orgId) {
    int limit = pageSize(ctx);
    String before = ctx.request().getParam("before");
    RequestCursor cursor = before == null || before.isEmpty() ? null : RequestCursor.decode(before);
    String keyId = ctx.request().getParam("key_id");
    String model = ctx.request().getParam("model");
    List<Object> args = new ArrayList<>();
    args.add(orgId);
    StringBuilder where = new StringBuilder("u.org_id = $1");
    if (keyId != null && !keyId.isEmpty()) {
      args.add(keyId);
      where.append(" AND u.key_id = (SELECT id FROM api_keys WHERE org_id = $1 AND public_id = $")
          .append(args.size()).append(')');
    }
    if (model != null && !model.isEmpty()) {
      args.add(model);
      where.append(" AND u.model = $").append(args.size());
    }
    if (cursor != null) {
      args.add(cursor.createdAt());
      int t = args.size();
      args.add(cursor.requestId());
      int id = args.size();
      // Spelled out rather than as a row comparison, so created_at bounds the index scan.
      where.append(" AND u.created_at <= $").append(t).append(" AND (u.created_at < $").append(t)
          .append(" OR u.request_id < $").append(id).append(')');
    }
    args.add(limit + 1);
    String sql = "SELECT u.request_id, u.created_at, k.public_id, u.model, u.endpoint, u.prompt_tokens, "
        + "u.completion_tokens, u.cached_tokens, u.cost_micros, u.status, u.estimated, u.latency_ms, u.ttft_ms "
        + "FROM usage u LEFT JOIN api_keys k ON k.id = u.key_id WHERE " + where
        + " ORDER BY u.created_at DESC, u.request_id DESC LIMIT $" + args.size();
    pool.preparedQuery(sql).execute(Tuple.from(args)).onSuccess(rows -> {
      JsonArray data = new JsonArray();
      RequestCursor last = null;
      for (Row r : rows) {
        if (data.size() == limit) {
          break;
        }
        OffsetDateTime created = r.getOffsetDateTime("created_at");
        last = new RequestCursor(created, r.getString("request_id"));
        JsonObject row = new JsonObject()
            .put("request_id", r.getString("request_id"))
            .put("created_at", iso(created))
            .put("key_id", r.getString("public_id"))
            .put("model", r.getString("model"))
            .put("endpoint", r.getString("endpoint"))
            .put("prompt_tokens", r.getInteger("prompt_tokens"))
            .put("completion_tokens", r.getInteger("completion_tokens"))
            .put("cached_tokens", r.getInteger("cached_tokens"))
            .put("total_tokens", r.getInteger("prompt_tokens") + r.getInteger("completion_tokens"));
        cost(row, r.getLong("cost_micros"));
        row.put("status", r.getInteger("status"))
            .put("estimated", r.getBoolean("estimated"))
            .put("latency_ms", r.getInteger("latency_ms"))
            .put("ttft_ms", r.getInteger("ttft_ms"));
        data.add(row);
      }
      boolean more = rows.size() > limit;
      Json.send(ctx, 200, new JsonObject().put("data", data).put("has_more", more)
          .put("next_cursor", more ? last.encode() : null));
    }).onFailure(ctx::fail);
  }

  private static int pageSize(RoutingContext ctx) {
    return (int) Json.queryNumber(ctx, "limit", DEFAULT_PAGE, MAX_PAGE);
  }


  // ---------------------------------------------------------------------------------------------------------
  // CSV export
  // ---------------------------------------------------------------------------------------------------------

  static final String CSV_HEADER = "request_id,created_at,key_id,model,endpoint,prompt_tokens,completion_tokens,"
      + "cached_tokens,cost_micros,cost_usd,status,estimated,latency_ms,ttft_ms\r\n";

  /**
   * Streams every request of the range, oldest first, in keyset pages of {@link #CSV_PAGE} rows: memory stays flat
   * whatever the size, the next page is read only once the client has taken the last one, and no database
   * connection is held between pages (a slow download cannot starve the pool the request path shares).
   */
  private void export(RoutingContext ctx, long orgId) {
    DateRange range = DateRange.of(ctx);
    String filename = "usage-org" + orgId + "-" + range.from() + "-to-" + range.to() + ".csv";
    exportPage(ctx, orgId, range, null, () -> ctx.response().setStatusCode(200).setChunked(true)
        .putHeader("content-type", "text/csv; charset=utf-8")
        .putHeader("content-disposition", "attachment; filename=\"" + filename + "\"")
        .write(CSV_HEADER));
  }

  private static final String CSV_SELECT = "SELECT u.request_id, u.created_at, k.public_id, u.model, u.endpoint, "
      + "u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.cost_micros, u.status, u.estimated, u.latency_ms, "
      + "u.ttft_ms FROM usage u LEFT JOIN api_keys k ON k.id = u.key_id WHERE u.org_id = $1 AND u.created_at < $3 ";
  private static final String CSV_FIRST = CSV_SELECT
      + "AND u.created_at >= $2 ORDER BY u.created_at, u.request_id LIMIT $4";
  private static final String CSV_NEXT = CSV_SELECT
      + "AND u.created_at >= $2 AND (u.created_at > $2 OR u.request_id > $5) ORDER BY u.created_at, u.request_id LIMIT $4";

  private void exportPage(RoutingContext ctx, long orgId, DateRange range, RequestCursor after, Runnable head) {
    HttpServerResponse resp = ctx.response();
    var query = after == null
        ? pool.preparedQuery(CSV_FIRST).execute(Tuple.of(orgId, range.start(), range.end(), CSV_PAGE))
        : pool.preparedQuery(CSV_NEXT).execute(Tuple.of(orgId, after.createdAt(), range.end(), CSV_PAGE,
            after.requestId()));
    query.onSuccess(rows -> {
      if (resp.closed()) {
        return; // the client went away
      }
      if (head != null) {
        head.run();
      }
      StringBuilder chunk = new StringBuilder(rows.size() * 160);
      RequestCursor last = null;
      for (Row r : rows) {
        chunk.append(csvLine(r));
        last = new RequestCursor(r.getOffsetDateTime("created_at"), r.getString("request_id"));
      }
      if (rows.size() < CSV_PAGE) {
        resp.end(chunk.toString());
        return;
      }
      resp.write(chunk.toString());
      RequestCursor next = last;
      if (resp.writeQueueFull()) {
        resp.drainHandler(v -> exportPage(ctx, orgId, range, next, null));
      } else {
        exportPage(ctx, orgId, range, next, null);
      }
    }).onFailure(err -> {
      if (resp.headWritten()) {
        // The 200 is already sent: cut the connection, so the client sees a broken download, not a short file.
        if (!resp.closed()) {
          resp.reset();
        }
      } else {
        ctx.fail(err);
      }
    });
  }

  static String csvLine(Row r) {
    long cost = r.getLong("cost_micros");
    return String.join(",",
        Csv.text(r.getString("request_id")),
        iso(r.getOffsetDateTime("created_at")),
        Csv.text(r.getString("public_id")),
        Csv.text(r.getString("model")),
        Csv.text(r.getString("endpoint")),
        Csv.value(r.getInteger("prompt_tokens")),
        Csv.value(r.getInteger("completion_tokens")),
        Csv.value(r.getInteger("cached_tokens")),
        Csv.value(cost),
        Money.decimalUsd(cost),
        Csv.value(r.getInteger("status")),
        Csv.value(r.getBoolean("estimated")),
        Csv.value(r.getInteger("latency_ms")),
        Csv.value(r.getInteger("ttft_ms"))) + "\r\n";
  }

  // ---------------------------------------------------------------------------------------------------------
  // Monitor
  // ---------------------------------------------------------------------------------------------------------

  private static final String MONITOR_TOTALS = """
      SELECT count(*) FILTER (WHERE created_at >= $3) AS day_requests,
             COALESCE(sum(prompt_tokens + completion_tokens) FILTER (WHERE created_at >= $3), 0)::bigint AS day_tokens,
             COALESCE(sum(cost_micros) FILTER (WHERE created_at >= $3), 0)::bigint AS day_cost,
             count(*) AS month_requests,
             COALESCE(sum(prompt_tokens + completion_tokens), 0)::bigint AS month_tokens,
             COALESCE(sum(cost_micros), 0)::bigint AS month_cost
        FROM usage WHERE org_id = $1 AND created_at >= $2""";
  private static final String MONITOR_TOP_MODEL = """
      SELECT model, count(*) AS requests, COALESCE(sum(prompt_tokens + completion_tokens), 0)::bigint AS tokens
        FROM usage WHERE org_id = $1 AND created_at >= $2
       GROUP BY model ORDER BY count(*) DESC, model LIMIT 1""";
  private static final String MONITOR_LAST = """
      SELECT u.request_id, u.created_at, u.model, u.status, k.public_id
        FROM usage u LEFT JOIN api_keys k ON k.id = u.key_id
       WHERE u.org_id = $1 ORDER BY u.created_at DESC, u.request_id DESC LIMIT 1""";

  private void monitor(RoutingContext ctx, long orgId) {
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    OffsetDateTime dayStart = today.atStartOfDay().atOffset(ZoneOffset.UTC);
    OffsetDateTime monthStart = today.withDayOfMonth(1).atStartOfDay().atOffset(ZoneOffset.UTC);
    var totals = pool.preparedQuery(MONITOR_TOTALS).execute(Tuple.of(orgId, monthStart, dayStart));
    var top = pool.preparedQuery(MONITOR_TOP_MODEL).execute(Tuple.of(orgId, monthStart));
    var last = pool.preparedQuery(MONITOR_LAST).execute(Tuple.of(orgId));
    Future.all(totals, top, last).onSuccess(all -> {
      Row t = totals.result().iterator().next();
      JsonObject day = new JsonObject().put("date", today.toString())
          .put("requests", t.getLong("day_requests")).put("tokens", t.getLong("day_tokens"));
      cost(day, t.getLong("day_cost"));
      JsonObject month = new JsonObject().put("month", today.toString().substring(0, 7))
          .put("requests", t.getLong("month_requests")).put("tokens", t.getLong("month_tokens"));
      cost(month, t.getLong("month_cost"));
      JsonObject topModel = null;
      if (top.result().size() > 0) {
        Row m = top.result().iterator().next();
        topModel = new JsonObject().put("model", m.getString("model")).put("requests", m.getLong("requests"))
            .put("tokens", m.getLong("tokens"));
      }
      JsonObject lastRequest = null;
      if (last.result().size() > 0) {
        Row l = last.result().iterator().next();
        lastRequest = new JsonObject().put("request_id", l.getString("request_id"))
            .put("created_at", iso(l.getOffsetDateTime("created_at"))).put("model", l.getString("model"))
            .put("status", l.getInteger("status")).put("key_id", l.getString("public_id"));
      }
      month.put("top_model", topModel);
      Json.send(ctx, 200, new JsonObject().put("org_id", orgId).put("timezone", "UTC").put("today", day)
          .put("this_month", month).put("last_request", lastRequest));
    }).onFailure(ctx::fail);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Limits
  // ---------------------------------------------------------------------------------------------------------

  private void limits(RoutingContext ctx, long orgId) {
    String keyId = ctx.request().getParam("key_id");
    limits.report(orgId, keyId == null || keyId.isEmpty() ? null : keyId)
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  // ---------------------------------------------------------------------------------------------------------

  /** Money both ways: exact integer micro-USD, and the same amount as a decimal USD string. */
  static JsonObject cost(JsonObject into, long micros) {
    return into.put("cost_micros", micros).put("cost_usd", Money.decimalUsd(micros));
  }

  static String iso(OffsetDateTime t) {
    return t == null ? null : t.withOffsetSameInstant(ZoneOffset.UTC).format(ISO);
  }
}
