package ai.gpt.api.chaos;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The clients of the chaos run: {@code clients} loops, each with one chat request in flight at a time, against
 * either gateway replica, until {@code total} requests were sent or the time is up. Some clients disconnect on
 * purpose: a stream after k events, a whole answer a few milliseconds after sending. Every request ends in exactly
 * one {@link Outcome}; the request id of every answer a client received whole is kept, with its organization.
 */
final class ChaosLoad {
  /** Nothing received for this long is a hang (no fault of the run lasts more than a few seconds). */
  static final long IDLE_TIMEOUT_MS = 20_000;
  private static final double STREAM_SHARE = 0.5;
  private static final double STREAM_CUT_SHARE = 0.15;
  private static final double WHOLE_CUT_SHARE = 0.05;
  private static final double LOW_ORG_SHARE = 0.2;

  private final Vertx vertx;
  private final HttpClient http;
  private final List<ChaosOrg> rich;
  private final List<ChaosOrg> low;
  /** Current port of replica A (0) and B (1); B's changes when it is restarted. */
  private final AtomicIntegerArray ports;
  private final long total;
  /** Requests taken by the loops; the last loops to look may overshoot the total by one each (not sent). */
  private final AtomicLong taken = new AtomicLong();
  private final Map<Outcome, AtomicLong> outcomes = new EnumMap<>(Outcome.class);
  /** Answers other than 200, by status and OpenAI error code: "503 backend_unavailable" -> count. */
  private final Map<String, AtomicLong> refusals = new ConcurrentHashMap<>();
  /** Request id of every answer received whole -> its organization. */
  private final Map<String, Long> completed = new ConcurrentHashMap<>();
  private final AtomicBoolean stop = new AtomicBoolean();
  private volatile long startMillis;
  private volatile long minLoadMs;
  /** Organization id -> its requests sent and not yet ended (admitted or not: the client cannot tell). */
  private final Map<Long, AtomicInteger> inFlight = new ConcurrentHashMap<>();

  ChaosLoad(Vertx vertx, List<ChaosOrg> rich, List<ChaosOrg> low, AtomicIntegerArray ports, long total, int clients) {
    this.vertx = vertx;
    this.rich = rich;
    this.low = low;
    this.ports = ports;
    this.total = total;
    this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(clients));
    for (Outcome o : Outcome.values()) {
      outcomes.put(o, new AtomicLong());
    }
  }

  /**
   * Starts the client loops; the future completes when every loop has ended (all requests answered or cut). The
   * requests are spread over at least {@code minLoadMs}: on an idle machine 10,000 take 25 s, too short for every
   * kind of fault to happen several times.
   */
  Future<Void> run(int clients, long minLoadMs, long deadlineMillis, long seed) {
    this.startMillis = System.currentTimeMillis();
    this.minLoadMs = minLoadMs;
    List<Future<Void>> loops = new ArrayList<>();
    SplittableRandom seeds = new SplittableRandom(seed);
    for (int c = 0; c < clients; c++) {
      Promise<Void> done = Promise.promise();
      SplittableRandom random = seeds.split();
      vertx.runOnContext(v -> next(random, deadlineMillis, done));
      loops.add(done.future());
    }
    return Future.join(loops).mapEmpty();
  }

  /** Requests sent so far. */
  long sent() {
    return Math.min(taken.get(), total);
  }

  long count(Outcome o) {
    return outcomes.get(o).get();
  }

  Map<String, AtomicLong> refusals() {
    return refusals;
  }

  Map<String, Long> completed() {
    return completed;
  }

  /** The organization's requests in flight as the clients see them. */
  int inFlight(long orgId) {
    AtomicInteger n = inFlight.get(orgId);
    return n == null ? 0 : n.get();
  }

  /** Ends the loops after their current request (the time cap of the run). */
  void stop() {
    stop.set(true);
  }

  Future<Void> close() {
    return http.close();
  }

  private void next(SplittableRandom random, long deadlineMillis, Promise<Void> done) {
    long n;
    if (stop.get() || System.currentTimeMillis() > deadlineMillis || (n = taken.getAndIncrement()) >= total) {
      done.complete();
      return;
    }
    long wait = startMillis + n * minLoadMs / total - System.currentTimeMillis();
    if (wait > 0) {
      vertx.setTimer(wait, t -> send(random, deadlineMillis, done));
    } else {
      send(random, deadlineMillis, done);
    }
  }

  private void send(SplittableRandom random, long deadlineMillis, Promise<Void> done) {
    one(random).onComplete(ar -> {
      outcomes.get(ar.succeeded() ? ar.result() : Outcome.NO_ANSWER).incrementAndGet();
      next(random, deadlineMillis, done);
    });
  }

  /** One request with a random organization, replica, mode (stream or not) and disconnect plan. */
  private Future<Outcome> one(SplittableRandom random) {
    ChaosOrg org = random.nextDouble() < LOW_ORG_SHARE
        ? low.get(random.nextInt(low.size())) : rich.get(random.nextInt(rich.size()));
    int replica = random.nextInt(2);
    boolean stream = random.nextDouble() < STREAM_SHARE;
    // Stream: cut after this many SSE events (0 = read to the end). Whole answer: cut this many ms after sending.
    int cutAfterEvents = stream && random.nextDouble() < STREAM_CUT_SHARE ? 1 + random.nextInt(6) : 0;
    long cutAfterMs = !stream && random.nextDouble() < WHOLE_CUT_SHARE ? 1 + random.nextInt(20) : 0;
    JsonObject body = new JsonObject().put("model", org.model()).put("stream", stream)
        .put("max_tokens", org.minTokens() + random.nextInt(org.maxTokens() - org.minTokens() + 1))
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user")
            .put("content", "chaos " + random.nextLong())));
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
        .setPort(ports.get(replica)).setURI("/v1/chat/completions").setIdleTimeout(IDLE_TIMEOUT_MS)
        .putHeader("Authorization", "Bearer " + org.keys()[replica].fullKey())
        .putHeader("Content-Type", "application/json");
    Promise<Outcome> outcome = Promise.promise();
    AtomicInteger orgInFlight = inFlight.computeIfAbsent(org.id(), id -> new AtomicInteger());
    orgInFlight.incrementAndGet();
    outcome.future().onComplete(ar -> orgInFlight.decrementAndGet());
    AtomicBoolean cut = new AtomicBoolean();
    http.request(options).compose(req -> {
      if (cutAfterMs > 0) {
        vertx.setTimer(cutAfterMs, t -> {
          if (!outcome.future().isComplete() && cut.compareAndSet(false, true)) {
            req.connection().close();
          }
        });
      }
      return req.send(body.toBuffer());
    }).onComplete(ar -> {
      if (ar.failed()) {
        outcome.tryComplete(failure(ar.cause(), cut.get()));
      } else {
        read(ar.result(), stream, cutAfterEvents, cut, org, outcome);
      }
    });
    return outcome.future();
  }

  private void read(HttpClientResponse resp, boolean stream, int cutAfterEvents, AtomicBoolean cut, ChaosOrg org,
      Promise<Outcome> outcome) {
    Buffer body = Buffer.buffer();
    int[] events = {0};
    resp.handler(buf -> {
      body.appendBuffer(buf);
      if (cutAfterEvents > 0 && resp.statusCode() == 200) {
        events[0] += occurrences(buf.toString(), "data: ");
        // A client that already saw [DONE] has the whole answer; cutting then would prove nothing.
        if (events[0] >= cutAfterEvents && !body.toString().contains("data: [DONE]")
            && cut.compareAndSet(false, true)) {
          resp.request().connection().close();
        }
      }
    });
    resp.exceptionHandler(e -> {
      Outcome seen = failure(e, cut.get());
      outcome.tryComplete(seen == Outcome.NO_ANSWER && resp.statusCode() == 200 ? Outcome.BROKEN_AFTER_200 : seen);
    });
    resp.endHandler(v -> {
      int status = resp.statusCode();
      String text = body.toString();
      if (status == 200 && whole(text, stream)) {
        completed.put(resp.getHeader("x-request-id"), org.id());
        outcome.tryComplete(Outcome.COMPLETED);
      } else if (cut.get()) {
        outcome.tryComplete(Outcome.CUT_BY_CLIENT);
      } else {
        if (status != 200) {
          refusals.computeIfAbsent(status + " " + errorCode(text), s -> new AtomicLong()).incrementAndGet();
        }
        outcome.tryComplete(switch (status) {
          case 200 -> Outcome.BROKEN_AFTER_200;
          case 402 -> Outcome.INSUFFICIENT_QUOTA_402;
          case 429 -> Outcome.RATE_LIMITED_429;
          case 503 -> Outcome.UNAVAILABLE_503;
          default -> Outcome.OTHER_STATUS;
        });
      }
    });
  }

  /** A JSON body with usage, or a stream that ended with [DONE] and carried no error event. */
  private static boolean whole(String text, boolean stream) {
    if (stream) {
      return text.endsWith("data: [DONE]\n\n") && !text.contains("\"error\"");
    }
    try {
      return new JsonObject(text).getJsonObject("usage") != null;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static String errorCode(String body) {
    try {
      return String.valueOf(new JsonObject(body).getJsonObject("error").getValue("code"));
    } catch (RuntimeException notOpenAiJson) {
      return "(no OpenAI error)";
    }
  }

  private static Outcome failure(Throwable e, boolean cutByClient) {
    if (cutByClient) {
      return Outcome.CUT_BY_CLIENT;
    }
    boolean timeout = e instanceof TimeoutException || String.valueOf(e.getMessage()).contains("timeout period");
    return timeout ? Outcome.TIMED_OUT : Outcome.NO_ANSWER;
  }

  private static int occurrences(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length())) {
      n++;
    }
    return n;
  }
}
