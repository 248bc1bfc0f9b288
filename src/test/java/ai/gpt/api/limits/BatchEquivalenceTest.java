package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.RedisServers;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Group commit must not change what metering decides or stores: the requests of one script call keep state they
 * share in Lua memory (scope_cache.lua, the org's holds, leases), and each must still see exactly what the ones
 * before it left, as if each had been a script call of its own. The same random admissions and settlements run
 * twice on a private Redis, as batches of up to 12 in database 0 and one request per call in database 1, with
 * TIME replaced by a clock the test sets (a batch's requests share one TIME; one per call they would not), and
 * every reply and every key left must be identical. The workload mixes request and token limits of both scopes,
 * plans that change between requests of one batch, tight credit, concurrency limits, duplicate request ids,
 * settlements above and below the reservation, and settlements of requests never admitted.
 */
class BatchEquivalenceTest {
  private static final String CLOCK = "test:clock";
  private static final double[] WINDOWS = {60_000, 3_600_000, 86_400_000};

  private static RedisServers server;
  private static Vertx vertx;
  private static Redis batched;
  private static Redis single;
  private static String admitSha;
  private static String settleSha;

  @BeforeAll
  static void start() throws Exception {
    server = RedisServers.standalone();
    vertx = Vertx.vertx();
    batched = Redis.createClient(vertx, new RedisOptions().setConnectionString(server.urls().get(0) + "/0"));
    single = Redis.createClient(vertx, new RedisOptions().setConnectionString(server.urls().get(0) + "/1"));
    admitSha = load("lua/admit_v6.lua");
    settleSha = load(Settlement.SCRIPT);
  }

  @AfterAll
  static void stop() {
    batched.close();
    single.close();
    vertx.close().await();
    server.close();
  }

  /** The script with its one TIME read from the test's clock (seconds only: the clock moves in whole seconds). */
  private static String load(String resource) throws Exception {
    String text = RedisScript.compose(resource);
    String clocked = text.replace("redis.call('TIME')", "{redis.call('GET', '" + CLOCK + "'), '0'}");
    assertNotEquals(text, clocked, resource + " reads TIME as batch.lua does");
    return batched.send(Request.cmd(Command.SCRIPT).arg("LOAD").arg(clocked)).await().toString();
  }

  /** One request's script call: the header (settle_v8's organization keys and arguments; admission has none), then its own. */
  private record Call(String sha, List<String> headerKeys, List<Object> headerArgs, List<String> keys,
      List<Object> args) {
    Request alone() {
      List<String> k = new ArrayList<>(headerKeys);
      k.addAll(keys);
      List<Object> a = new ArrayList<>(headerArgs);
      a.addAll(args);
      return RedisScript.request(Command.EVALSHA, sha, k, a);
    }
  }

  @Test
  @DisplayName("a batch's requests get exactly the replies and leave exactly the keys of one call each")
  void batchesAreExactlyOneCallEach() {
    Random random = new Random(20261202);
    Map<Long, double[][]> plans = new TreeMap<>();
    for (long key = 0; key < 6; key++) {
      plans.put(key, new double[][] {plan(random), plan(random)});
    }
    for (Redis r : List.of(batched, single)) {
      r.send(Request.cmd(Command.SET).arg(RedisKeys.balance(1)).arg("500000000")).await();
      r.send(Request.cmd(Command.SET).arg(RedisKeys.balance(2)).arg("400000")).await();
    }
    Map<Long, List<String[]>> admitted = new TreeMap<>(Map.of(1L, new ArrayList<>(), 2L, new ArrayList<>()));
    // Requests admitted from an allotment ("u…") already settled, settled again now and then (duplicates).
    Map<Long, List<String[]>> allotted = new TreeMap<>(Map.of(1L, new ArrayList<>(), 2L, new ArrayList<>()));
    Map<String, Integer> outcomes = new TreeMap<>();
    long seconds = 1_796_000_000L;
    int n = 0;
    for (int step = 0; step < 800; step++) {
      seconds += List.of(0, 0, 1, 4, 30, 700).get(random.nextInt(6));
      for (Redis r : List.of(batched, single)) {
        r.send(Request.cmd(Command.SET).arg(CLOCK).arg(Long.toString(seconds))).await();
      }
      if (step == 600) {
        // Org 2's hot balance is dropped (a gateway's start, say): its settlements then charge nothing and bump the
        // balance's generation, its admissions ask for a load.
        for (Redis r : List.of(batched, single)) {
          r.send(Request.cmd(Command.DEL).arg(RedisKeys.balance(2))).await();
        }
      }
      long org = 1 + random.nextInt(2);
      List<String[]> pool = admitted.get(org);
      boolean admit = random.nextInt(10) < 6;
      int size = 1 + random.nextInt(12);
      List<Call> calls = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        long key = (org - 1) * 3 + random.nextInt(3);
        if (admit) {
          String id = !pool.isEmpty() && random.nextInt(20) == 0 ? pool.get(random.nextInt(pool.size()))[0] : "r" + n++;
          double[] plan = plans.get(key)[random.nextInt(7) == 0 ? 1 : 0];
          calls.add(admission(org, key, id, plan, random));
        } else {
          String id;
          long owner = key;
          if (!pool.isEmpty() && random.nextInt(10) != 0) {
            String[] a = random.nextInt(10) == 0 ? pool.get(random.nextInt(pool.size()))
                : pool.remove(random.nextInt(pool.size()));
            id = a[0];
            owner = Long.parseLong(a[1]);
          } else if (!allotted.get(org).isEmpty() && random.nextInt(8) == 0) {
            String[] a = allotted.get(org).get(random.nextInt(allotted.get(org).size()));
            id = a[0];
            owner = Long.parseLong(a[1]);
          } else {
            id = "u" + n++;
            allotted.get(org).add(new String[] {id, Long.toString(key)});
          }
          calls.add(settlement(org, owner, id, random));
        }
      }
      List<Response> one = oneCall(calls);
      for (int i = 0; i < calls.size(); i++) {
        Call c = calls.get(i);
        Response alone = single.send(c.alone()).await().get(0);
        String expected = reply(alone);
        assertEquals(expected, reply(one.get(i)), "step " + step + ", request " + i + " of " + calls.size());
        outcomes.merge((admit ? "admit " : "settle ") + outcome(alone), 1, Integer::sum);
        if (admit && "ok".equals(alone.get(0).toString())) {
          pool.add(new String[] {c.args.get(0).toString(), c.args.get(2).toString()});
        }
      }
    }
    for (String outcome : List.of("admit ok", "admit rate_limit", "admit insufficient_quota", "admit concurrency",
        "admit duplicate", "admit no_balance", "settle settled", "settle duplicate")) {
      assertTrue(outcomes.getOrDefault(outcome, 0) >= 5, "the workload reaches '" + outcome + "': " + outcomes);
    }
    Map<String, String> left = keys(batched);
    assertTrue(left.size() > 500, "keys compared: " + left.size());
    assertTrue(left.containsKey(RedisKeys.balanceGeneration(2)), "settlements without a hot balance bumped it");
    assertEquals(keys(single), left);
  }

  /** One batch of the calls (all of one organization), as ScriptBatches sends them: one reply per request. */
  private static List<Response> oneCall(List<Call> calls) {
    List<String> keys = new ArrayList<>(calls.get(0).headerKeys);
    List<Object> args = new ArrayList<>(calls.get(0).headerArgs);
    for (Call c : calls) {
      keys.addAll(c.keys);
      args.addAll(c.args);
    }
    Response all = batched.send(RedisScript.request(Command.EVALSHA, calls.get(0).sha, keys, args)).await();
    List<Response> replies = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      replies.add(all.get(i));
    }
    assertEquals(calls.size(), replies.size());
    return replies;
  }

  /** A reply's outcome: a table's first element; settle_v8 answers a string, "D" or "S,…" (settled). */
  private static String outcome(Response r) {
    if (r.type() == ResponseType.MULTI) {
      return r.get(0).toString();
    }
    return "D".equals(r.toString()) ? "duplicate" : "settled";
  }

  /** A reply as text; a settlement's outbox entry id (XADD *, the server's real clock) is left out. */
  private static String reply(Response r) {
    if (r.type() != ResponseType.MULTI) {
      String[] f = r.toString().split(",", -1);
      if (f.length == 6) {
        f[4] = "<id>";
      }
      return String.join(",", f);
    }
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < r.size(); i++) {
      parts.add("settled".equals(r.get(0).toString()) && i == 4 ? "<id>" : String.valueOf(r.get(i)));
    }
    return String.join(" ", parts);
  }

  /** Every metering key with its type, value (a stream: its entries' fields) and whether it expires. */
  private static Map<String, String> keys(Redis r) {
    Map<String, String> out = new TreeMap<>();
    TreeSet<String> names = new TreeSet<>();
    r.send(Request.cmd(Command.KEYS).arg("gptapi:*")).await().forEach(k -> names.add(k.toString()));
    for (String k : names) {
      String type = r.send(Request.cmd(Command.TYPE).arg(k)).await().toString();
      Response v = switch (type) {
        case "string" -> r.send(Request.cmd(Command.GET).arg(k)).await();
        case "hash" -> r.send(Request.cmd(Command.HKEYS).arg(k)).await();
        case "zset" -> r.send(Request.cmd(Command.ZRANGE).arg(k).arg(0).arg(-1).arg("WITHSCORES")).await();
        default -> r.send(Request.cmd(Command.XRANGE).arg(k).arg("-").arg("+")).await();
      };
      String value = switch (type) {
        case "string" -> HexFormat.of().formatHex(v.toBytes());
        case "hash" -> {
          Map<String, String> fields = new TreeMap<>();
          v.forEach(f -> fields.put(f.toString(),
              r.send(Request.cmd(Command.HGET).arg(k).arg(f.toString())).await().toString()));
          yield fields.toString();
        }
        case "stream" -> {
          List<String> entries = new ArrayList<>();
          v.forEach(e -> entries.add(e.get(1).toString()));
          yield entries.toString();
        }
        default -> v.toString();
      };
      long ttl = r.send(Request.cmd(Command.PTTL).arg(k)).await().toLong();
      out.put(k, type + " " + value + (ttl > 0 ? " expires" : " persists"));
    }
    return out;
  }

  /** 12 capacities (each limited one time in five; request limits small enough to be reached) and the windows. */
  private static double[] plan(Random random) {
    double[] p = new double[15];
    for (int i = 0; i < 12; i++) {
      if (random.nextInt(5) == 0) {
        p[i] = i % 6 < 3 ? List.of(3, 10, 40, 200, 1000).get(random.nextInt(5))
            : List.of(1000, 5000, 20_000, 200_000).get(random.nextInt(4));
      }
    }
    System.arraycopy(WINDOWS, 0, p, 12, 3);
    return p;
  }

  private static Call admission(long org, long key, String id, double[] plan, Random random) {
    ByteBuffer packed = ByteBuffer.allocate(15 * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (double d : plan) {
      packed.putDouble(d);
    }
    List<Object> args = List.of(id, Long.toString(org), Long.toString(key),
        List.of("0", "50", "2500", "40000").get(random.nextInt(4)),
        List.of("10", "100", "600", "2500").get(random.nextInt(4)),
        List.of("0", "0", "3").get(random.nextInt(3)), "3600000", "86400000", "", "", packed.array());
    return new Call(admitSha, List.of(), List.of(), List.of(RedisKeys.balance(org), RedisKeys.holds(org), RedisKeys.holdExpiries(org),
        RedisKeys.request(org, id), RedisKeys.concurrency(org, key), RedisKeys.balanceGeneration(org),
        RedisKeys.limits(org, key, Bucket.Scope.ORG), RedisKeys.limits(org, key, Bucket.Scope.KEY)), args);
  }

  private static Call settlement(long org, long key, String id, Random random) {
    String prompt = List.of("5", "50", "400").get(random.nextInt(3));
    String completion = List.of("0", "16", "300", "3000").get(random.nextInt(4));
    String cost = List.of("0", "7", "130", "2600").get(random.nextInt(4));
    String usage = String.join(",", Long.toString(key), "7", "/v1/chat/completions", prompt, completion, "0", cost,
        "200", "0", "3", "2", "gpt-fast");
    // A request never admitted is settled as one admitted from an allotment would be (no hold or lease looked for).
    List<Object> args = List.of(id, Long.toString(key), prompt, completion, cost, usage, id.startsWith("u") ? "1" : "0");
    return new Call(settleSha, Settlement.headerKeys(org), List.of(Long.toString(org), "86400000"),
        Settlement.requestKeys(org, key, id), args);
  }
}
