package ai.gpt.api.chaos;

import ai.gpt.api.testing.Sleep;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongToIntFunction;
import java.util.function.Supplier;

/**
 * Credit transfers between the run's organizations through the real API ({@code POST /api/orgs/{org}/credits/transfer}
 * with an Idempotency-Key), on its own thread while the requests run: top-ups of the low organizations, transfers
 * among them and among the rich ones, "sweeps" that move a low organization's whole ledger balance out while its
 * requests are in flight (the case of issue 8, item 1), and deliberate retries of earlier transfers with the same key.
 * A transfer whose answer was lost (a replica died, PostgreSQL was cut) is retried with its key, a bounded number of
 * times.
 */
final class ChaosTransfers {
  enum Result { APPLIED_201, REPLAYED_200, INSUFFICIENT_402, CONFLICT_409, FAILED }

  /** One transfer as the client asked for it; the header is its Idempotency-Key. */
  record Transfer(String header, long from, long to, long micros) {
    /** The idempotency key of its ledger rows, plus ":from" / ":to" (the API scopes keys to the sender). */
    String ledgerKey() {
      return "api-transfer:" + from + ":" + header;
    }
  }

  private static final int ATTEMPTS = 4;

  private final WebClient web;
  private final Pool pool;
  private final List<ChaosOrg> rich;
  private final List<ChaosOrg> low;
  private final AtomicIntegerArray ports;
  /** Organization id -> its requests in flight (from the load). */
  private final LongToIntFunction inFlight;
  /** Signs the owner of every organization in again; returns the access token. */
  private final Supplier<String> signIn;
  private final Map<Result, AtomicLong> results = new EnumMap<>(Result.class);
  /** Every transfer the API confirmed (201 or 200), by Idempotency-Key. */
  private final Map<String, Transfer> confirmed = new ConcurrentHashMap<>();
  private final List<Transfer> history = new ArrayList<>();
  private final AtomicLong sameKeyRetries = new AtomicLong();
  private final AtomicLong sweeps = new AtomicLong();
  private final AtomicBoolean stop = new AtomicBoolean();
  private String token;

  ChaosTransfers(Vertx vertx, Pool pool, List<ChaosOrg> rich, List<ChaosOrg> low, AtomicIntegerArray ports,
      LongToIntFunction inFlight, String token, Supplier<String> signIn) {
    this.inFlight = inFlight;
    this.token = token;
    this.web = WebClient.create(vertx);
    this.pool = pool;
    this.rich = rich;
    this.low = low;
    this.ports = ports;
    this.signIn = signIn;
    for (Result r : Result.values()) {
      results.put(r, new AtomicLong());
    }
  }

  /** Runs until {@link #stop()} or the deadline; call on a thread of its own (it blocks). */
  void run(long deadlineMillis, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    for (int n = 0; !stop.get() && System.currentTimeMillis() < deadlineMillis && n < 1_000_000; n++) {
      Sleep.ms(40 + random.nextInt(80));
      double op = random.nextDouble();
      Transfer t;
      if (op < 0.15 && !history.isEmpty()) {
        // The same transfer again, with its key: applied at most once whatever the first attempt's fate.
        sameKeyRetries.incrementAndGet();
        t = history.get(random.nextInt(history.size()));
      } else if (op < 0.35) {
        // The low organization with most requests in flight: its holds are what a sweep must not spend.
        ChaosOrg from = low.stream().max(Comparator.comparingInt(o -> inFlight.applyAsInt(o.id())))
            .orElseThrow();
        long balance = ledgerBalance(from.id());
        if (balance <= 0) {
          continue;
        }
        sweeps.incrementAndGet();
        // The API also subtracts usage still queued for the writer: ask for the ledger balance, then for less.
        ChaosOrg to = pick(rich, random);
        Result swept = Result.INSUFFICIENT_402;
        for (int part = 0; part < 3 && swept == Result.INSUFFICIENT_402; part++) {
          t = new Transfer("sweep-" + n + "-" + part, from.id(), to.id(), Math.max(1, balance >> part));
          history.add(t);
          swept = send(t, random);
          results.get(swept).incrementAndGet();
        }
        continue;
      } else if (op < 0.70) {
        t = new Transfer("topup-" + n, pick(rich, random).id(), pick(low, random).id(), 2_000 + random.nextInt(18_000));
      } else if (op < 0.85) {
        ChaosOrg from = pick(low, random);
        ChaosOrg to = pick(low, random);
        if (from == to) {
          continue;
        }
        t = new Transfer("low-" + n, from.id(), to.id(), 500 + random.nextInt(5_000));
      } else {
        ChaosOrg from = pick(rich, random);
        ChaosOrg to = pick(rich, random);
        if (from == to) {
          continue;
        }
        t = new Transfer("rich-" + n, from.id(), to.id(), 1_000 + random.nextInt(1_000_000));
      }
      history.add(t);
      results.get(send(t, random)).incrementAndGet();
    }
  }

  void stop() {
    stop.set(true);
  }

  void close() {
    web.close();
  }

  long count(Result r) {
    return results.get(r).get();
  }

  long sameKeyRetries() {
    return sameKeyRetries.get();
  }

  long sweeps() {
    return sweeps.get();
  }

  Map<String, Transfer> confirmed() {
    return confirmed;
  }

  /** Sends with retries on a lost answer; the replica is chosen at random each time (B may be down). */
  private Result send(Transfer t, SplittableRandom random) {
    JsonObject body = new JsonObject().put("to_org_id", t.to())
        .put("usd", BigDecimal.valueOf(t.micros(), 6).toPlainString()).put("reason", "chaos " + t.header());
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      int replica = random.nextInt(2);
      HttpResponse<Buffer> resp;
      try {
        resp = web.post(ports.get(replica), "127.0.0.1", "/api/orgs/" + t.from() + "/credits/transfer")
            .putHeader("Idempotency-Key", t.header()).bearerTokenAuthentication(token).timeout(10_000)
            .sendJsonObject(body).await();
      } catch (Exception lost) { // the replica is down or the answer never came: the key makes a retry safe
        Sleep.ms(100);
        continue;
      }
      switch (resp.statusCode()) {
        case 201, 200 -> {
          confirmed.put(t.header(), t);
          return resp.statusCode() == 201 ? Result.APPLIED_201 : Result.REPLAYED_200;
        }
        case 402 -> {
          return Result.INSUFFICIENT_402;
        }
        case 409 -> {
          return Result.CONFLICT_409;
        }
        case 401 -> token = signIn.get(); // the access token expired (long runs)
        default -> Sleep.ms(100); // 5xx while PostgreSQL or Redis is cut
      }
    }
    return Result.FAILED;
  }

  private long ledgerBalance(long orgId) {
    return pool.preparedQuery("SELECT COALESCE(SUM(amount_micros), 0) FROM credit_ledger WHERE org_id = $1")
        .execute(Tuple.of(orgId)).await().iterator().next().getLong(0);
  }

  private static ChaosOrg pick(List<ChaosOrg> orgs, SplittableRandom random) {
    return orgs.get(random.nextInt(orgs.size()));
  }
}
