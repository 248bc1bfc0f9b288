package ai.gpt.api.limits;

import ai.gpt.api.billing.Money;
import ai.gpt.api.testing.Sleep;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.usage.UsageStreams;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A {@link RateLimiter} on the test Redis, with one random organization per fixture (so tests never share keys and
 * need no FLUSHDB) and raw reads of the keys the scripts write. Tests run on the JUnit thread and {@code await()}.
 * {@link #close} deletes what the fixture created, including its outbox and the copies in the shard stream.
 */
final class LimiterFixture implements AutoCloseable {
  static final long IN_PRICE = 250_000;   // gpt-fast: $0.25 / 1M input tokens
  static final long OUT_PRICE = 500_000;  // $0.50 / 1M output tokens

  final Vertx vertx;
  final Redis redis;
  final RateLimiter limiter;
  final LimiterSettings settings;
  final long org;
  final long key;
  private final List<String> created = new ArrayList<>();
  private final List<String> streamIds = new ArrayList<>();

  private LimiterFixture(Vertx vertx, Redis redis, RateLimiter limiter, LimiterSettings settings, long org) {
    this.vertx = vertx;
    this.redis = redis;
    this.limiter = limiter;
    this.settings = settings;
    this.org = org;
    this.key = org * 10 + 1;
  }

  static LimiterFixture start(Vertx vertx, LimiterSettings settings, BalanceLoader loader) {
    Redis redis = Redis.createClient(vertx, new RedisOptions().setConnectionString(TestServices.REDIS_URL)
        .setMaxPoolSize(16).setMaxPoolWaiting(4096));
    long org = ThreadLocalRandom.current().nextLong(1_000_000, 1_000_000_000);
    RateLimiter limiter = RateLimiter.create(vertx, redis, loader, settings).await();
    return new LimiterFixture(vertx, redis, limiter, settings, org);
  }

  static LimiterFixture start(Vertx vertx, LimiterSettings settings) {
    return start(vertx, settings, orgId -> Future.failedFuture("no balance loader in this test"));
  }

  String newRequestId() {
    String id = "req-" + UUID.randomUUID();
    created.add(RedisKeys.request(org, id));
    return id;
  }

  /** A request reserving {@code prompt + max} tokens and holding their maximum cost at gpt-fast prices. */
  AdmissionRequest request(long keyId, Limits orgLimits, Limits keyLimits, long prompt, long max) {
    return AdmissionRequest.of(newRequestId(), org, keyId, orgLimits, keyLimits, prompt, prompt, max, IN_PRICE, OUT_PRICE);
  }

  AdmissionResult admit(AdmissionRequest r) {
    return limiter.admit(r).await();
  }

  SettleResult settle(SettledUsage u) {
    SettleResult res = limiter.settle(u).await();
    track(res);
    return res;
  }

  void track(SettleResult res) {
    if (res.outboxEntryId() != null) {
      synchronized (streamIds) {
        streamIds.add(res.outboxEntryId());
      }
    }
  }

  /** The usage of an admitted request at gpt-fast prices. */
  SettledUsage usage(AdmissionRequest r, long prompt, long completion) {
    return new SettledUsage(r.requestId(), r.orgId(), r.keyId(), "gpt-fast", 7, "/v1/chat/completions", prompt,
        completion, 0, Money.requestCost(prompt, completion, IN_PRICE, OUT_PRICE), 200, false, 120, 15);
  }

  void setBalance(long micros) {
    send(Request.cmd(Command.SET).arg(RedisKeys.balance(org)).arg(micros));
  }

  Long balance() {
    Response r = send(Request.cmd(Command.GET).arg(RedisKeys.balance(org)));
    return r == null ? null : r.toLong();
  }

  /** The key holding the bucket (one per scope). */
  String bucketKey(long keyId, Bucket b) {
    return RedisKeys.limits(org, keyId, b.scope());
  }

  /** The bucket's stored level, or null when it has none (a full bucket). */
  Double level(long keyId, Bucket b) {
    Response packed = send(Request.cmd(Command.GET).arg(bucketKey(keyId, b)));
    return ScopeBuckets.decode(packed == null ? null : packed.toBytes()).storedLevel(b, System.currentTimeMillis());
  }

  /** A raw string value (a packed value as hex), or null. */
  String raw(String key) {
    Response r = send(Request.cmd(Command.GET).arg(key));
    return r == null ? null : java.util.HexFormat.of().formatHex(r.toBytes());
  }

  /** The org's holds: request id -> micros and "_total", without the "_renew" and "_sweep" bookkeeping fields. */
  Map<String, String> holds() {
    Map<String, String> h = hgetall(RedisKeys.holds(org));
    h.remove("_renew");
    h.remove("_sweep");
    return h;
  }

  Map<String, String> hgetall(String key) {
    Response r = send(Request.cmd(Command.HGETALL).arg(key));
    Map<String, String> out = new TreeMap<>();
    if (r == null) {
      return out;
    }
    if (!r.getKeys().isEmpty()) {
      for (String k : r.getKeys()) {
        out.put(k, r.get(k).toString());
      }
    } else {
      for (int i = 0; i + 1 < r.size(); i += 2) {
        out.put(r.get(i).toString(), r.get(i + 1).toString());
      }
    }
    return out;
  }

  Map<String, String> zrange(String key) {
    Response r = send(Request.cmd(Command.ZRANGE).arg(key).arg(0).arg(-1).arg("WITHSCORES"));
    Map<String, String> out = new TreeMap<>();
    for (int i = 0; i < r.size(); i++) {
      Response item = r.get(i);
      if (item.size() == 2) { // RESP3: [member, score]
        out.put(item.get(0).toString(), item.get(1).toString());
      } else { // RESP2: member, score, member, score
        out.put(item.toString(), r.get(++i).toString());
      }
    }
    return out;
  }

  /** A hold placed as a script would, expiring at {@code expiryMs}: as if its gateway had died after placing it. */
  void abandonedHold(String holdId, long micros, long expiryMs) {
    send(Request.cmd(Command.HSET).arg(RedisKeys.holds(org)).arg(holdId).arg(micros));
    send(Request.cmd(Command.HINCRBY).arg(RedisKeys.holds(org)).arg("_total").arg(micros));
    send(Request.cmd(Command.ZADD).arg(RedisKeys.holdExpiries(org)).arg(expiryMs).arg(holdId));
  }

  long pttl(String key) {
    return send(Request.cmd(Command.PTTL).arg(key)).toLong();
  }

  boolean exists(String key) {
    return send(Request.cmd(Command.EXISTS).arg(key)).toInteger() == 1;
  }

  /** Every state key of this org and these keys: values as strings, for before/after comparison. */
  Map<String, Object> snapshot(long... keyIds) {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("balance", balance());
    s.put("holds", hgetall(RedisKeys.holds(org)));
    s.put("holdexp", zrange(RedisKeys.holdExpiries(org)));
    for (long k : keyIds) {
      s.put("conc:" + k, zrange(RedisKeys.concurrency(org, k)));
      for (Bucket.Scope scope : Bucket.Scope.values()) {
        s.put(RedisKeys.limits(org, k, scope), String.valueOf(raw(RedisKeys.limits(org, k, scope))));
      }
    }
    return s;
  }

  /** Outbox entries of one request: entry id -> fields in stream order. */
  Map<String, Map<String, String>> events(String requestId) {
    return entries(RedisKeys.outbox(org), requestId);
  }

  /** Entries of one request in its shard's usage stream (the gateway's copies of its outbox entry). */
  Map<String, Map<String, String>> shardCopies(String requestId) {
    return entries(UsageStreams.keyForOrg(org), requestId);
  }

  private Map<String, Map<String, String>> entries(String stream, String requestId) {
    Response r = send(Request.cmd(Command.XRANGE).arg(stream).arg("-").arg("+"));
    Map<String, Map<String, String>> out = new LinkedHashMap<>();
    for (Response entry : r) {
      Map<String, String> fields = new LinkedHashMap<>();
      Response flat = entry.get(1);
      for (int i = 0; i + 1 < flat.size(); i += 2) {
        fields.put(flat.get(i).toString(), flat.get(i + 1).toString());
      }
      if (requestId.equals(fields.get("request_id"))) {
        out.put(entry.get(0).toString(), fields);
      }
    }
    return out;
  }

  Response send(Request req) {
    return redis.send(req).await();
  }

  @Override
  public void close() {
    List<String> keys = new ArrayList<>(created);
    keys.add(RedisKeys.balance(org));
    keys.add(RedisKeys.holds(org));
    keys.add(RedisKeys.balanceGeneration(org));
    keys.add(RedisKeys.holdExpiries(org));
    keys.add(RedisKeys.limits(org, Bucket.Scope.ORG, org));
    for (long k : new long[] {key, key + 1, key + 2}) {
      keys.add(RedisKeys.concurrency(org, k));
      keys.add(RedisKeys.limits(org, k, Bucket.Scope.KEY));
    }
    for (int i = 0; i < keys.size(); i += 500) {
      Request del = Request.cmd(Command.DEL);
      keys.subList(i, Math.min(keys.size(), i + 500)).forEach(del::arg);
      send(del);
    }
    send(Request.cmd(Command.DEL).arg(RedisKeys.outbox(org)));
    // The copies in the shard stream (made without waiting for them: let the last ones land first).
    Sleep.ms(100);
    Set<String> settled = new HashSet<>(streamIds);
    List<String> copies = new ArrayList<>();
    for (Response entry : send(Request.cmd(Command.XRANGE).arg(UsageStreams.keyForOrg(org)).arg("-").arg("+"))) {
      Response flat = entry.get(1);
      for (int i = 0; i + 1 < flat.size(); i += 2) {
        if (flat.get(i).toString().equals(UsageStreams.OUTBOX_ID) && settled.contains(flat.get(i + 1).toString())) {
          copies.add(entry.get(0).toString());
        }
      }
    }
    for (int i = 0; i < copies.size(); i += 500) {
      Request xdel = Request.cmd(Command.XDEL).arg(UsageStreams.keyForOrg(org));
      copies.subList(i, Math.min(copies.size(), i + 500)).forEach(xdel::arg);
      send(xdel);
    }
    redis.close();
  }
}
