package ai.gpt.api.testing;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fake llama.cpp {@code llama-server} that reproduces the real server's wire format byte for byte
 * (see {@code /work/shared/llama-server-samples}): JSON field order, SSE framing, headers, error shapes,
 * and its connection habits (closes the socket after every stream while advertising keep-alive,
 * after {@code maxRequestsPerConnection} requests, and after 5 s idle).
 *
 * <p>Generated text is deterministic: token {@code i} of every completion is {@code WORDS[i % WORDS.length]}
 * (see {@link #expectedContent(int)}). Token counts are deterministic estimates, not a tokenizer:
 * <ul>
 *   <li>chat prompt tokens = total characters of message contents / 4 + 10 (10 = chat template overhead);</li>
 *   <li>completion prompt tokens = characters of the prompt / 4 + 1 (1 = BOS);</li>
 *   <li>embedding input tokens = characters / 4 + 1, or the array length for token-array inputs;</li>
 *   <li>completion tokens = {@code n_predict}, else {@code max_completion_tokens}, else {@code max_tokens}
 *       (llama.cpp's precedence in server-task.cpp; the first one present wins, a negative value means no
 *       limit), finish_reason "length"; without any limit {@link Options#defaultTokens} (finish_reason "stop",
 *       as if the model emitted EOS).</li>
 *   <li>completions per request = {@code n_cmpl}, else {@code n}, else 1 (400 above the slot count, like
 *       llama.cpp), times the number of prompts of a /v1/completions {@code prompt} array that holds no token id
 *       (llama.cpp runs one task per prompt); every completion generates the whole limit, and usage sums them.</li>
 * </ul>
 *
 * <p>All state shared between event loops is atomic or guarded by {@code slotLock}; per-connection state lives
 * in the server instance that owns the connection and is only touched from its event loop.
 */
public final class FakeLlamaServer {

  /** Server state as the gateway can observe it. */
  public enum Health {
    /** Normal operation. */
    OK,
    /** Model still loading: 503 "Loading model" on every endpoint except /models and /v1/models. */
    LOADING,
    /** Every request: the connection is closed before any response byte is written. */
    FAIL,
    /** Completion and embedding endpoints answer 500 server_error; /health and the rest stay OK. */
    ERROR_500
  }

  /**
   * Answers no llama.cpp sends, for the gateway's bounds: each writes {@link #setMisbehaviour its byte count} of
   * filler (with back-pressure, stopping early if the gateway closes the connection), then ends the response.
   */
  public enum Misbehaviour {
    NONE,
    /** A stream's first two tokens, then an event that never ends (no blank line). */
    ENDLESS_EVENT,
    /** A non-stream answer (200, chunked) far larger than any real one. */
    OVERSIZED_BODY,
    /** Every completion/embedding request: an error answer (400, chunked) far larger than llama.cpp's. */
    OVERSIZED_ERROR
  }

  /** Start-up options. Public fields and fluent setters of the same name. */
  public static final class Options {
    /** 0 = random free port. */
    public int port = 0;
    /** Address to listen on: another loopback address (127.0.0.2...) lets several servers share a port, as pods do. */
    public String host = "127.0.0.1";
    /** Number of parallel slots (llama-server {@code --parallel}); requests beyond it are deferred. */
    public int slots = 4;
    /** true: embedding server ({@code --embeddings}); false: /v1/embeddings answers 501. */
    public boolean embeddings = false;
    /** Delay before each streamed token; non-stream responses wait tokens * tokenDelayMs in total. */
    public long tokenDelayMs = 0;
    /** Completion tokens when the request has no max_tokens / n_predict. */
    public int defaultTokens = 8;
    /** When set, every endpoint except /health and /models requires {@code Authorization: Bearer <apiKey>}. */
    public String apiKey = null;
    /** Real llama-server closes the TCP connection after every streamed response. */
    public boolean closeAfterStream = true;
    /** The connection is closed after this many requests (the last response says Connection: close). */
    public int maxRequestsPerConnection = 100;
    /** The model name reported everywhere. */
    public String modelAlias = "tiny-llama.gguf";
    /** Event loops serving the port (extra; not a llama-server option). Tests need 1, the benchmark more. */
    public int instances = 1;

    public Options port(int v) { port = v; return this; }
    public Options host(String v) { host = v; return this; }
    public Options slots(int v) { slots = v; return this; }
    public Options embeddings(boolean v) { embeddings = v; return this; }
    public Options tokenDelayMs(long v) { tokenDelayMs = v; return this; }
    public Options defaultTokens(int v) { defaultTokens = v; return this; }
    public Options apiKey(String v) { apiKey = v; return this; }
    public Options closeAfterStream(boolean v) { closeAfterStream = v; return this; }
    public Options maxRequestsPerConnection(int v) { maxRequestsPerConnection = v; return this; }
    public Options modelAlias(String v) { modelAlias = v; return this; }
    public Options instances(int v) { instances = v; return this; }
  }

  // ---------------------------------------------------------------- constants

  private static final String FINGERPRINT = "b1-de3ff81";
  private static final int N_CTX = 512;
  private static final int N_EMBD = 64;
  private static final long IDLE_TIMEOUT_NANOS = 5_000_000_000L;
  /** Synthetic prompt-processing speed used for timings (the real tiny model does ~0.06 ms/token). */
  private static final double PROMPT_MS_PER_TOKEN = 0.06;
  /** Lower bound for generation time in timings, so per-second figures stay finite and plausible. */
  private static final double MIN_PREDICTED_MS_PER_TOKEN = 0.05;

  /** Deterministic vocabulary: ASCII first, then multi-byte UTF-8 and JSON-escaped characters for relays. */
  private static final String[] WORDS = {
      " the", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".",
      " café", " naïve", " 東京", " Ω", "ß", " \"quoted\"", "\n", " end"};
  /** JSON string bodies of WORDS without the surrounding quotes; concatenations stay valid JSON. */
  private static final String[] WORDS_ESCAPED = new String[WORDS.length];
  /** Per word: the SSE chunk up to and including the choices array of a chat chunk. */
  private static final byte[][] CHAT_TOKEN_HEAD = new byte[WORDS.length][];
  /** Per word: the SSE chunk up to and including the choices array of a text-completion chunk. */
  private static final byte[][] TEXT_TOKEN_HEAD = new byte[WORDS.length][];

  static {
    for (int i = 0; i < WORDS.length; i++) {
      String quoted = Json.encode(WORDS[i]);
      WORDS_ESCAPED[i] = quoted.substring(1, quoted.length() - 1);
      CHAT_TOKEN_HEAD[i] = bytes("data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":"
          + quoted + "}}]");
      TEXT_TOKEN_HEAD[i] = bytes("data: {\"choices\":[{\"text\":" + quoted
          + ",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]");
    }
  }

  // Header names and values, pre-encoded once (Vert.x writes optimized CharSequences without re-encoding).
  private static final CharSequence H_SERVER = HttpHeaders.createOptimized("Server");
  private static final CharSequence V_SERVER = HttpHeaders.createOptimized("llama.cpp");
  private static final CharSequence H_ACAO = HttpHeaders.createOptimized("Access-Control-Allow-Origin");
  private static final CharSequence V_EMPTY = HttpHeaders.createOptimized("");
  private static final CharSequence H_CONTENT_TYPE = HttpHeaders.createOptimized("Content-Type");
  private static final CharSequence V_JSON = HttpHeaders.createOptimized("application/json; charset=utf-8");
  private static final CharSequence V_SSE = HttpHeaders.createOptimized("text/event-stream");
  private static final CharSequence V_PROMETHEUS = HttpHeaders.createOptimized("text/plain; version=0.0.4");
  private static final CharSequence H_ACCEL = HttpHeaders.createOptimized("X-Accel-Buffering");
  private static final CharSequence V_NO = HttpHeaders.createOptimized("no");
  private static final CharSequence H_KEEP_ALIVE = HttpHeaders.createOptimized("Keep-Alive");
  private static final CharSequence V_KEEP_ALIVE = HttpHeaders.createOptimized("timeout=5, max=100");
  private static final CharSequence H_CONNECTION = HttpHeaders.createOptimized("Connection");
  private static final CharSequence V_CLOSE = HttpHeaders.createOptimized("close");
  private static final CharSequence H_START_TIME = HttpHeaders.createOptimized("Process-Start-Time-Unix");

  private static final byte[] HEALTH_OK = bytes("{\"status\":\"ok\"}");
  private static final byte[] ERR_LOADING =
      bytes("{\"error\":{\"code\":503,\"message\":\"Loading model\",\"type\":\"unavailable_error\"}}");
  private static final byte[] ERR_UNAUTHORIZED =
      bytes("{\"error\":{\"code\":401,\"message\":\"Invalid API Key\",\"type\":\"authentication_error\"}}");
  private static final byte[] ERR_NOT_FOUND =
      bytes("{\"error\":{\"message\":\"File Not Found\",\"type\":\"not_found_error\",\"code\":404}}");
  private static final byte[] ERR_NO_EMBEDDINGS = bytes("{\"error\":{\"code\":501,\"message\":\"This server does not "
      + "support embeddings. Start it with `--embeddings`\",\"type\":\"not_supported_error\"}}");
  private static final byte[] ERR_SERVER =
      bytes("{\"error\":{\"code\":500,\"message\":\"Internal Server Error\",\"type\":\"server_error\"}}");
  private static final byte[] DONE_EVENT = bytes("data: [DONE]\n\n");

  /** Slot "params" blob from slots.json, split around the per-task values. */
  private static final String PARAMS_HEAD = "{\"seed\":4294967295,\"temperature\":0.800000011920929,"
      + "\"dynatemp_range\":0.0,\"dynatemp_exponent\":1.0,\"top_k\":40,\"top_p\":0.949999988079071,"
      + "\"min_p\":0.05000000074505806,\"top_n_sigma\":-1.0,\"xtc_probability\":0.0,"
      + "\"xtc_threshold\":0.10000000149011612,\"typical_p\":1.0,\"repeat_last_n\":64,\"repeat_penalty\":1.0,"
      + "\"presence_penalty\":0.0,\"frequency_penalty\":0.0,\"dry_multiplier\":0.0,\"dry_base\":1.75,"
      + "\"dry_allowed_length\":2,\"dry_penalty_last_n\":64,\"mirostat\":0,\"mirostat_tau\":5.0,"
      + "\"mirostat_eta\":0.10000000149011612,\"adaptive_target\":-1.0,\"adaptive_decay\":0.8999999761581421,"
      + "\"max_tokens\":";
  private static final String PARAMS_TAIL = ",\"samplers\":[\"penalties\",\"dry\",\"top_n_sigma\",\"top_k\","
      + "\"typ_p\",\"top_p\",\"min_p\",\"xtc\",\"temperature\"],\"speculative.types\":\"none\","
      + "\"timings_per_token\":false,\"post_sampling_probs\":false,\"backend_sampling\":false,\"lora\":[]}";
  private static final String CHAT_TEMPLATE_JSON = "\"{% for message in messages %}{{ '<|im_start|>' + "
      + "message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if "
      + "add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}\"";

  private enum Kind { CHAT, COMPLETION, EMBEDDING }

  /** Endpoints; the flags say how the llama-server middlewares treat them. */
  private enum Route {
    CHAT(true, false, false), COMPLETION(true, false, false), EMBEDDING(true, false, false),
    HEALTH(false, true, false), MODELS(false, true, true), SLOTS(false, false, false),
    METRICS(false, false, false), PROPS(false, false, false), NOT_FOUND(false, false, false);

    /** Counted in requestCount()/lastRequest*() and subject to Health.ERROR_500. */
    final boolean completion;
    /** Reachable without API key. */
    final boolean isPublic;
    /** Served while the model is loading. */
    final boolean whileLoading;

    Route(boolean completion, boolean isPublic, boolean whileLoading) {
      this.completion = completion;
      this.isPublic = isPublic;
      this.whileLoading = whileLoading;
    }
  }

  // ---------------------------------------------------------------- state

  private final Vertx vertx;
  private final Options options;
  private final String modelJson;
  private final long startEpochSeconds = System.currentTimeMillis() / 1000;
  private final byte[] modelsBody;
  private final byte[] propsBody;
  private final CharSequence startTimeHeader;

  private volatile Health health = Health.OK;
  private volatile Misbehaviour misbehaviour = Misbehaviour.NONE;
  private volatile long misbehaviourBytes;
  private final AtomicLong fillerBytesSent = new AtomicLong();
  private volatile long tokenDelayMs;
  private volatile int busySlots;
  private volatile JsonObject lastRequestBody;
  private volatile MultiMap lastRequestHeaders;
  private volatile String lastRequestPath;

  private final AtomicInteger requestCount = new AtomicInteger();
  private final AtomicInteger processing = new AtomicInteger();
  private final AtomicInteger cancelledCount = new AtomicInteger();
  private final AtomicInteger connectionsOpened = new AtomicInteger();
  private final AtomicInteger taskIds = new AtomicInteger();
  private final AtomicLong promptTokensTotal = new AtomicLong();
  private final AtomicLong predictedTokensTotal = new AtomicLong();
  private final AtomicLong predictedNanosTotal = new AtomicLong();
  private final AtomicInteger maxSequence = new AtomicInteger();

  /** Guards slotTable and deferred; they are shared by all event loops. */
  private final Object slotLock = new Object();
  private final Slot[] slotTable;
  private final ArrayDeque<Job> deferred = new ArrayDeque<>();

  private final List<String> deploymentIds = new ArrayList<>();
  private volatile int port;

  private FakeLlamaServer(Vertx vertx, Options options) {
    this.vertx = vertx;
    this.options = options;
    this.tokenDelayMs = options.tokenDelayMs;
    this.modelJson = Json.encode(options.modelAlias);
    this.slotTable = new Slot[Math.max(1, options.slots)];
    for (int i = 0; i < slotTable.length; i++) {
      slotTable[i] = new Slot();
    }
    this.modelsBody = bytes(buildModels());
    this.propsBody = bytes(buildProps());
    this.startTimeHeader = HttpHeaders.createOptimized(Long.toString(startEpochSeconds));
  }

  // ---------------------------------------------------------------- public API

  /** Starts the server; the future completes once it listens. */
  public static Future<FakeLlamaServer> start(Vertx vertx, Options options) {
    FakeLlamaServer server = new FakeLlamaServer(vertx, options);
    Instance first = server.new Instance(options.port);
    return vertx.deployVerticle(first)
        .compose(id -> {
          server.deploymentIds.add(id);
          server.port = first.server.actualPort();
          if (options.instances <= 1) {
            return Future.succeededFuture(server);
          }
          // More instances on the now-known port: Vert.x round-robins connections between them.
          return vertx.deployVerticle(() -> server.new Instance(server.port),
                  new DeploymentOptions().setInstances(options.instances - 1))
              .map(id2 -> {
                server.deploymentIds.add(id2);
                return server;
              });
        });
  }

  public int port() {
    return port;
  }

  /** Number of slots (llama-server {@code --parallel}), as configured. */
  public int slots() {
    return slotTable.length;
  }

  public String baseUrl() {
    return "http://" + options.host + ":" + port;
  }

  public Future<Void> close() {
    List<Future<Void>> all = new ArrayList<>();
    for (String id : deploymentIds) {
      all.add(vertx.undeploy(id));
    }
    deploymentIds.clear();
    // Bounded: a test's teardown must not hang on a connection the gateway has not let go of yet.
    return Future.join(all).timeout(5, java.util.concurrent.TimeUnit.SECONDS).<Void>mapEmpty().otherwiseEmpty();
  }

  public void setHealth(Health h) {
    health = h;
  }

  /** Misbehaves from the next request on, each answer carrying {@code bytes} of filler. */
  public void setMisbehaviour(Misbehaviour m, long bytes) {
    misbehaviourBytes = bytes;
    misbehaviour = m;
  }

  /** Filler bytes written so far by misbehaving answers (accepted by the socket, not necessarily read). */
  public long fillerBytesSent() {
    return fillerBytesSent.get();
  }

  public void setTokenDelayMs(long ms) {
    tokenDelayMs = ms;
  }

  /** Extra slots reported busy by /slots and /metrics; they do not defer real requests. */
  public void setBusySlots(int n) {
    busySlots = n;
  }

  /** Completion/embedding requests received (any outcome, including LOADING/FAIL/errors). */
  public int requestCount() {
    return requestCount.get();
  }

  /** Completion/embedding requests holding a slot right now (deferred ones excluded, see {@link #deferredCount()}). */
  public int inFlight() {
    return processing.get();
  }

  /** Requests waiting for a free slot (llamacpp:requests_deferred). */
  public int deferredCount() {
    synchronized (slotLock) {
      return deferred.size();
    }
  }

  /** Requests whose client connection closed before the response finished (queued or running). */
  public int cancelledCount() {
    return cancelledCount.get();
  }

  /** Body of the last completion/embedding request that parsed as JSON; do not mutate. */
  public JsonObject lastRequestBody() {
    return lastRequestBody;
  }

  /** Headers of the last completion/embedding request. */
  public MultiMap lastRequestHeaders() {
    return lastRequestHeaders;
  }

  /** Path of the last completion/embedding request, e.g. "/v1/completions". */
  public String lastRequestPath() {
    return lastRequestPath;
  }

  public int connectionsOpened() {
    return connectionsOpened.get();
  }

  /** The assistant content this server generates for {@code tokens} completion tokens. */
  public static String expectedContent(int tokens) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < tokens; i++) {
      sb.append(WORDS[i % WORDS.length]);
    }
    return sb.toString();
  }

  /**
   * Standalone server for the benchmark: {@code --port N [--slots N] [--token-delay-ms N] [--tokens N]
   * [--embeddings] [--api-key K] [--model NAME] [--instances N]}.
   */
  public static void main(String[] args) {
    Options o = new Options().port(8080).instances(Math.min(4, Runtime.getRuntime().availableProcessors()));
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> o.port = Integer.parseInt(args[++i]);
        case "--slots" -> o.slots = Integer.parseInt(args[++i]);
        case "--token-delay-ms" -> o.tokenDelayMs = Long.parseLong(args[++i]);
        case "--tokens" -> o.defaultTokens = Integer.parseInt(args[++i]);
        case "--embeddings" -> o.embeddings = true;
        case "--api-key" -> o.apiKey = args[++i];
        case "--model" -> o.modelAlias = args[++i];
        case "--instances" -> o.instances = Integer.parseInt(args[++i]);
        default -> {
          System.err.println("usage: FakeLlamaServer --port N [--slots N] [--token-delay-ms N] [--tokens N]"
              + " [--embeddings] [--api-key K] [--model NAME] [--instances N]");
          System.exit(2);
        }
      }
    }
    Vertx vertx = Vertx.vertx();
    start(vertx, o).onComplete(ar -> {
      if (ar.succeeded()) {
        System.out.println("fake llama-server listening on " + ar.result().port());
        System.out.flush();
      } else {
        ar.cause().printStackTrace();
        System.exit(1);
      }
    });
  }

  // ---------------------------------------------------------------- per-request and per-slot state

  /** One llama-server slot. {@code last} keeps the previous task so /slots shows it like the real server. */
  private static final class Slot {
    Job running;
    Job last;
  }

  /** One keep-alive connection; touched only from the event loop that owns it. */
  private static final class Conn {
    final HttpConnection connection;
    int requests;
    int active;
    long lastActiveNanos = System.nanoTime();

    Conn(HttpConnection connection) {
      this.connection = connection;
    }

    boolean limitReached(int max) {
      return requests >= max;
    }
  }

  /** One completion/embedding request. Mutable fields are touched only on the owning event loop. */
  private final class Job {
    final Instance instance;
    final Conn conn;
    final HttpServerResponse response;
    final Kind kind;
    final boolean stream;
    final boolean includeUsage;
    /** Tokens to generate, per completion. */
    final int tokens;
    /** Completions generated for this request (n_cmpl/n times the prompts); choices are indexed 0..n-1. */
    final int completions;
    /** Requested limit as reported in /slots params (-1 = none). */
    final int requestedTokens;
    final int promptTokens;
    final String finishReason;
    /** Embedding inputs (String or int[]), null for completions. */
    final List<Object> inputs;
    final boolean base64;
    final String id = "chatcmpl-" + randomId();
    final long created = System.currentTimeMillis() / 1000;
    final int taskId = taskIds.incrementAndGet();

    volatile int decoded;
    int slot = -1;
    long timerId = -1;
    long startNanos;
    boolean cancelled;
    boolean done;
    byte[] tail;

    Job(Instance instance, Conn conn, HttpServerRequest request, Kind kind, boolean stream, boolean includeUsage,
        int requestedTokens, int completions, int promptTokens, List<Object> inputs, boolean base64) {
      this.instance = instance;
      this.conn = conn;
      this.response = request.response();
      this.kind = kind;
      this.stream = stream;
      this.includeUsage = includeUsage;
      this.requestedTokens = requestedTokens;
      this.completions = completions;
      this.tokens = kind == Kind.EMBEDDING ? 0 : requestedTokens >= 0 ? requestedTokens : options.defaultTokens;
      this.finishReason = requestedTokens >= 0 ? "length" : "stop";
      this.promptTokens = promptTokens * completions;
      this.inputs = inputs;
      this.base64 = base64;
    }
  }

  // ---------------------------------------------------------------- server instance (one per event loop)

  private final class Instance extends VerticleBase {
    private final int listenPort;
    private final Map<HttpConnection, Conn> conns = new IdentityHashMap<>();
    private HttpServer server;
    private long sweeper;

    Instance(int listenPort) {
      this.listenPort = listenPort;
    }

    @Override
    public Future<?> start() {
      // No HttpServerOptions idle timeout: it would also fire while a slow request is being generated.
      // llama-server only times out idle keep-alive connections, which sweepIdle() reproduces.
      HttpServerOptions serverOptions = new HttpServerOptions()
          .setHttp2ClearTextEnabled(false)
          .setTcpNoDelay(true)
          .setAcceptBacklog(4096);
      server = vertx.createHttpServer(serverOptions)
          .connectionHandler(this::onConnection)
          .requestHandler(this::onRequest);
      sweeper = vertx.setPeriodic(500, id -> sweepIdle());
      return server.listen(listenPort, options.host);
    }

    @Override
    public Future<?> stop() {
      vertx.cancelTimer(sweeper);
      return server.close();
    }

    void runOnLoop(Runnable action) {
      context.runOnContext(v -> action.run());
    }

    private void onConnection(HttpConnection connection) {
      connectionsOpened.incrementAndGet();
      track(connection);
    }

    private Conn track(HttpConnection connection) {
      Conn conn = new Conn(connection);
      conns.put(connection, conn);
      connection.closeHandler(v -> conns.remove(connection));
      return conn;
    }

    private void sweepIdle() {
      long now = System.nanoTime();
      List<HttpConnection> idle = null;
      for (Conn c : conns.values()) {
        if (c.active == 0 && now - c.lastActiveNanos > IDLE_TIMEOUT_NANOS) {
          if (idle == null) {
            idle = new ArrayList<>();
          }
          idle.add(c.connection);
        }
      }
      if (idle != null) {
        idle.forEach(HttpConnection::close); // closeHandler removes them; not while iterating
      }
    }

    private void onRequest(HttpServerRequest request) {
      Conn conn = conns.get(request.connection());
      if (conn == null) {
        conn = track(request.connection());
      }
      conn.requests++;
      conn.active++;
      Route route = route(request.method(), request.path());
      if (route.completion) {
        requestCount.incrementAndGet();
        lastRequestHeaders = request.headers();
        lastRequestPath = request.path();
      }
      if (health == Health.FAIL) {
        request.connection().close(); // before any response byte, like a dead pooled connection
        return;
      }
      Conn c = conn;
      if (request.method() == HttpMethod.POST) {
        // Read the whole body first so error responses that close the connection never cut an upload.
        request.body().onSuccess(body -> dispatch(request, c, route, body));
      } else {
        dispatch(request, c, route, null);
      }
    }

    /** Middlewares in llama-server order (loading state, API key), then the endpoint. */
    private void dispatch(HttpServerRequest request, Conn conn, Route route, Buffer body) {
      if (health == Health.LOADING && !route.whileLoading) {
        sendJson(conn, request.response(), 503, ERR_LOADING, false);
        return;
      }
      if (options.apiKey != null && !route.isPublic && !authorized(request)) {
        sendJson(conn, request.response(), 401, ERR_UNAUTHORIZED, false);
        return;
      }
      if (route.completion && health == Health.ERROR_500) {
        sendJson(conn, request.response(), 500, ERR_SERVER, false);
        return;
      }
      if (route.completion && misbehaviour == Misbehaviour.OVERSIZED_ERROR) {
        flood(request.response(), 400, V_JSON, "{\"error\":{\"code\":400,\"message\":\"", conn);
        return;
      }
      switch (route) {
        case HEALTH -> sendJson(conn, request.response(), 200, HEALTH_OK, false);
        case MODELS -> sendJson(conn, request.response(), 200, modelsBody, false);
        case PROPS -> sendJson(conn, request.response(), 200, propsBody, false);
        case SLOTS -> sendJson(conn, request.response(), 200, bytes(slotsJson()), false);
        case METRICS -> sendMetrics(conn, request.response());
        case NOT_FOUND -> sendJson(conn, request.response(), 404, ERR_NOT_FOUND, true);
        case CHAT, COMPLETION, EMBEDDING -> handleCompletion(request, conn, route, body);
      }
    }

    private boolean authorized(HttpServerRequest request) {
      String auth = request.getHeader(HttpHeaders.AUTHORIZATION);
      if (auth != null && auth.length() == 7 + options.apiKey.length() && auth.startsWith("Bearer ")
          && auth.endsWith(options.apiKey)) {
        return true;
      }
      return options.apiKey.equals(request.getHeader("X-Api-Key"));
    }

    private void handleCompletion(HttpServerRequest request, Conn conn, Route route, Buffer body) {
      HttpServerResponse response = request.response();
      if (route == Route.EMBEDDING && !options.embeddings) {
        sendJson(conn, response, 501, ERR_NO_EMBEDDINGS, true);
        return;
      }
      JsonObject json;
      try {
        json = body.toJsonObject();
        json.size(); // a bare `null` document parses to an object without a map
      } catch (RuntimeException e) {
        sendJson(conn, response, 500, bytes(badJsonError(body)), false);
        return;
      }
      lastRequestBody = json;
      Job job;
      try {
        job = switch (route) {
          case CHAT -> chatJob(request, conn, json);
          case COMPLETION -> completionJob(request, conn, json);
          default -> embeddingJob(request, conn, json);
        };
      } catch (IllegalArgumentException e) {
        sendJson(conn, response, 400, bytes(invalidRequest(e.getMessage())), false);
        return;
      }
      response.closeHandler(v -> onClientGone(job));
      response.exceptionHandler(e -> { }); // a reset client is expected; closeHandler does the bookkeeping
      admit(job);
    }

    private Job chatJob(HttpServerRequest request, Conn conn, JsonObject body) {
      int completions = completionsPerPrompt(body);
      Object messages = body.getValue("messages");
      if (messages == null) {
        throw new IllegalArgumentException("'messages' is required");
      }
      if (!(messages instanceof JsonArray array)) {
        throw new IllegalArgumentException("Expected 'messages' to be an array");
      }
      int chars = 0;
      for (Object m : array) {
        if (m instanceof JsonObject msg) {
          chars += contentChars(msg.getValue("content"));
        }
      }
      boolean stream = Boolean.TRUE.equals(body.getValue("stream"));
      return new Job(this, conn, request, Kind.CHAT, stream, stream && includeUsage(body),
          requestedTokens(body), completions, chars / 4 + 10, null, false);
    }

    private Job completionJob(HttpServerRequest request, Conn conn, JsonObject body) {
      Object prompt = body.getValue("prompt");
      if (prompt == null) {
        throw new IllegalArgumentException("\"prompt\" must be provided");
      }
      int prompts = prompt instanceof JsonArray a && a.stream().noneMatch(p -> p instanceof Number) ? a.size() : 1;
      int completions = completionsPerPrompt(body) * prompts;
      boolean stream = Boolean.TRUE.equals(body.getValue("stream"));
      return new Job(this, conn, request, Kind.COMPLETION, stream, false,
          requestedTokens(body), completions, (contentChars(prompt) / 4 + 1) / prompts, null, false);
    }

    private Job embeddingJob(HttpServerRequest request, Conn conn, JsonObject body) {
      Object input = body.containsKey("input") ? body.getValue("input") : body.getValue("content");
      if (input == null) {
        throw new IllegalArgumentException("\"input\" or \"content\" must be provided");
      }
      List<Object> inputs = embeddingInputs(input);
      int tokens = 0;
      for (Object in : inputs) {
        tokens += in instanceof String s ? s.length() / 4 + 1 : ((int[]) in).length;
      }
      boolean base64 = "base64".equals(body.getValue("encoding_format"));
      return new Job(this, conn, request, Kind.EMBEDDING, false, false, -1, 1, tokens, inputs, base64);
    }
  }

  // ---------------------------------------------------------------- slots: admission, deferral, release

  private void admit(Job job) {
    int free = -1;
    synchronized (slotLock) {
      for (int i = 0; i < slotTable.length; i++) {
        if (slotTable[i].running == null) {
          free = i;
          slotTable[i].running = job;
          break;
        }
      }
      if (free < 0) {
        deferred.addLast(job); // llama-server defers, it never rejects for lack of slots
      }
    }
    if (free >= 0) {
      begin(job, free);
    }
  }

  /** Runs on the job's event loop once it owns slot {@code slot}. */
  private void begin(Job job, int slot) {
    if (job.cancelled) {
      releaseSlot(slot, null); // client left while the hand-over was in flight
      return;
    }
    job.slot = slot;
    job.startNanos = System.nanoTime();
    processing.incrementAndGet();
    if (job.kind == Kind.EMBEDDING) {
      afterDelay(job, tokenDelayMs, () -> respondEmbeddings(job));
    } else if (job.stream) {
      startStream(job);
    } else {
      afterDelay(job, job.tokens * tokenDelayMs, () -> respondNonStream(job));
    }
  }

  private void releaseSlot(int slot, Job finished) {
    Job next;
    synchronized (slotLock) {
      Slot s = slotTable[slot];
      if (finished != null) {
        s.last = finished;
      }
      next = deferred.pollFirst();
      s.running = next;
    }
    if (next != null) {
      next.instance.runOnLoop(() -> begin(next, slot)); // the deferred request may belong to another loop
    }
  }

  /** Ends generation: frees the slot (and wakes a deferred request). Idempotent. */
  private void finish(Job job) {
    if (job.done) {
      return;
    }
    job.done = true;
    if (job.timerId >= 0) {
      vertx.cancelTimer(job.timerId);
      job.timerId = -1;
    }
    if (job.slot >= 0) {
      processing.decrementAndGet();
      releaseSlot(job.slot, job);
    }
  }

  private void onClientGone(Job job) {
    if (job.done) {
      return;
    }
    job.cancelled = true;
    cancelledCount.incrementAndGet();
    if (job.slot >= 0) {
      finish(job);
      return;
    }
    job.done = true;
    synchronized (slotLock) {
      // Not in the queue means a slot was just handed over; begin() sees cancelled and passes it on.
      deferred.remove(job);
    }
  }

  private void afterDelay(Job job, long delayMs, Runnable action) {
    if (delayMs <= 0) {
      action.run();
      return;
    }
    job.timerId = vertx.setTimer(delayMs, id -> {
      job.timerId = -1;
      if (!job.cancelled) {
        action.run();
      }
    });
  }

  private void recordUsage(Job job) {
    long nanos = System.nanoTime() - job.startNanos;
    promptTokensTotal.addAndGet(job.promptTokens);
    predictedTokensTotal.addAndGet((long) job.decoded * job.completions);
    predictedNanosTotal.addAndGet(nanos);
    maxSequence.accumulateAndGet(job.promptTokens + job.decoded, Math::max);
  }

  // ---------------------------------------------------------------- streaming

  private void startStream(Job job) {
    HttpServerResponse r = job.response;
    r.setChunked(true);
    r.headers()
        .add(H_SERVER, V_SERVER)
        .add(H_ACAO, V_EMPTY)
        .add(H_ACCEL, V_NO)
        .add(H_CONTENT_TYPE, V_SSE)
        .add(H_KEEP_ALIVE, V_KEEP_ALIVE);
    job.tail = bytes(job.kind == Kind.CHAT ? chatTail(job) + "}\n\n"
        : ",\"created\":" + job.created + ",\"model\":" + modelJson + ",\"system_fingerprint\":\"" + FINGERPRINT
            + "\",\"object\":\"text_completion\",\"id\":\"" + job.id + "\"}\n\n");
    if (job.kind == Kind.CHAT) {
      r.write("data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"role\":\"assistant\","
          + "\"content\":null}}]" + chatTail(job) + "}\n\n");
    } else {
      r.writeHead(); // completions have no role chunk; commit the headers like the real server does
    }
    pump(job);
  }

  /** Emits tokens until done, pausing for tokenDelayMs between them and for back-pressure. */
  private void pump(Job job) {
    while (!job.done) {
      if (job.decoded == 2 && misbehaviour == Misbehaviour.ENDLESS_EVENT) {
        finish(job);
        flood(job.response, 200, V_SSE, "data: {\"choices\":[{\"delta\":{\"content\":\"", job.conn);
        return;
      }
      if (job.decoded >= job.tokens) {
        endStream(job);
        return;
      }
      HttpServerResponse r = job.response;
      if (r.writeQueueFull()) {
        r.drainHandler(v -> pump(job));
        return;
      }
      long delay = tokenDelayMs;
      if (delay > 0) {
        job.timerId = vertx.setTimer(delay, id -> {
          job.timerId = -1;
          if (!job.done) {
            writeToken(job);
            pump(job);
          }
        });
        return;
      }
      writeToken(job);
    }
  }

  private void writeToken(Job job) {
    int word = job.decoded % WORDS.length;
    byte[] head = job.kind == Kind.CHAT ? CHAT_TOKEN_HEAD[word] : TEXT_TOKEN_HEAD[word];
    for (int choice = 0; choice < job.completions; choice++) {
      byte[] indexed = choice == 0 ? head : withIndex(head, choice);
      job.response.write(Buffer.buffer(indexed.length + job.tail.length).appendBytes(indexed).appendBytes(job.tail));
    }
    job.decoded++;
  }

  private void endStream(Job job) {
    recordUsage(job);
    HttpServerResponse r = job.response;
    if (job.kind == Kind.CHAT) {
      for (int choice = 1; choice < job.completions; choice++) {
        r.write("data: {\"choices\":[{\"finish_reason\":\"" + job.finishReason + "\",\"index\":" + choice
            + ",\"delta\":{}}]" + chatTail(job) + "}\n\n");
      }
      StringBuilder fin = new StringBuilder(512).append("data: {\"choices\":[{\"finish_reason\":\"")
          .append(job.finishReason).append("\",\"index\":0,\"delta\":{}}]").append(chatTail(job));
      if (job.includeUsage) {
        r.write(fin.append("}\n\n").toString());
        StringBuilder usage = new StringBuilder(768).append("data: {\"choices\":[]").append(chatTail(job)).append(',');
        appendUsage(usage, job);
        appendTimings(usage.append(','), job);
        r.write(usage.append("}\n\n").toString());
      } else {
        appendTimings(fin.append(','), job); // llama-server puts timings on the last chunk it sends
        r.write(fin.append("}\n\n").toString());
      }
    } else {
      StringBuilder fin = new StringBuilder(768).append("data: ");
      appendTextCompletion(fin, job, "\"\"");
      r.write(fin.append("\n\n").toString());
    }
    finish(job);
    boolean close = options.closeAfterStream || job.conn.limitReached(options.maxRequestsPerConnection);
    // Keep-alive was advertised in the headers; like llama-server, just drop the socket afterwards.
    r.end(Buffer.buffer(DONE_EVENT)).onComplete(ar -> afterResponse(job.conn, close));
  }

  private String chatTail(Job job) {
    return ",\"created\":" + job.created + ",\"id\":\"" + job.id + "\",\"model\":" + modelJson
        + ",\"system_fingerprint\":\"" + FINGERPRINT + "\",\"object\":\"chat.completion.chunk\"";
  }

  // ---------------------------------------------------------------- non-stream responses

  private void respondNonStream(Job job) {
    if (misbehaviour == Misbehaviour.OVERSIZED_BODY) {
      finish(job);
      flood(job.response, 200, V_JSON, "{\"choices\":[{\"message\":{\"content\":\"", job.conn);
      return;
    }
    job.decoded = job.tokens;
    recordUsage(job);
    StringBuilder sb = new StringBuilder(768 + job.tokens * 8);
    if (job.kind == Kind.CHAT) {
      sb.append("{\"choices\":[");
      for (int choice = 0; choice < job.completions; choice++) {
        sb.append(choice == 0 ? "" : ",").append("{\"finish_reason\":\"").append(job.finishReason)
            .append("\",\"index\":").append(choice).append(",\"message\":{\"role\":\"assistant\",\"content\":");
        appendContent(sb, job.tokens);
        sb.append("}}");
      }
      sb.append("],\"created\":").append(job.created).append(",\"model\":").append(modelJson)
          .append(",\"system_fingerprint\":\"").append(FINGERPRINT).append("\",\"object\":\"chat.completion\",");
      appendUsage(sb, job);
      sb.append(",\"id\":\"").append(job.id).append("\",");
      appendTimings(sb, job);
      sb.append('}');
    } else {
      StringBuilder content = new StringBuilder(job.tokens * 8);
      appendContent(content, job.tokens);
      appendTextCompletion(sb, job, content);
    }
    finish(job);
    sendJson(job.conn, job.response, 200, bytes(sb.toString()), false);
  }

  /** The final text_completion object, shared by non-stream responses and the last stream chunk. */
  private void appendTextCompletion(StringBuilder sb, Job job, CharSequence textJson) {
    sb.append("{\"choices\":[");
    for (int choice = 0; choice < job.completions; choice++) {
      sb.append(choice == 0 ? "" : ",").append("{\"text\":").append(textJson).append(",\"index\":").append(choice)
          .append(",\"logprobs\":null,\"finish_reason\":\"").append(job.finishReason).append("\"}");
    }
    sb.append("],\"created\":").append(job.created).append(",\"model\":")
        .append(modelJson).append(",\"system_fingerprint\":\"").append(FINGERPRINT)
        .append("\",\"object\":\"text_completion\",");
    appendUsage(sb, job);
    sb.append(",\"id\":\"").append(job.id).append("\",");
    appendTimings(sb, job);
    sb.append('}');
  }

  private static void appendContent(StringBuilder sb, int tokens) {
    sb.append('"');
    for (int i = 0; i < tokens; i++) {
      sb.append(WORDS_ESCAPED[i % WORDS.length]);
    }
    sb.append('"');
  }

  private static void appendUsage(StringBuilder sb, Job job) {
    long completionTokens = (long) job.decoded * job.completions;
    sb.append("\"usage\":{\"completion_tokens\":").append(completionTokens)
        .append(",\"prompt_tokens\":").append(job.promptTokens)
        .append(",\"total_tokens\":").append(completionTokens + job.promptTokens)
        .append(",\"prompt_tokens_details\":{\"cached_tokens\":0}}");
  }

  /** Timings with a synthetic prompt speed and the real generation time (floored so rates stay finite). */
  private static void appendTimings(StringBuilder sb, Job job) {
    int promptN = job.promptTokens;
    int n = job.decoded;
    double promptMs = promptN * PROMPT_MS_PER_TOKEN;
    double predictedMs = Math.max((System.nanoTime() - job.startNanos) / 1e6, n * MIN_PREDICTED_MS_PER_TOKEN);
    sb.append("\"timings\":{\"cache_n\":0,\"prompt_n\":").append(promptN).append(",\"prompt_ms\":");
    appendNumber(sb, promptMs);
    sb.append(",\"prompt_per_token_ms\":");
    appendNumber(sb, promptMs / promptN);
    sb.append(",\"prompt_per_second\":");
    appendNumber(sb, 1e3 / promptMs * promptN);
    sb.append(",\"predicted_n\":").append(n).append(",\"predicted_ms\":");
    appendNumber(sb, predictedMs);
    sb.append(",\"predicted_per_token_ms\":");
    appendNumber(sb, predictedMs / n);
    sb.append(",\"predicted_per_second\":");
    appendNumber(sb, 1e3 / predictedMs * n);
    sb.append('}');
  }

  // ---------------------------------------------------------------- embeddings

  private void respondEmbeddings(Job job) {
    StringBuilder sb = new StringBuilder(64 + job.inputs.size() * (job.base64 ? 400 : 1400));
    sb.append("{\"model\":").append(modelJson).append(",\"object\":\"list\",\"usage\":{\"prompt_tokens\":")
        .append(job.promptTokens).append(",\"total_tokens\":").append(job.promptTokens).append("},\"data\":[");
    for (int i = 0; i < job.inputs.size(); i++) {
      float[] v = embedding(job.inputs.get(i));
      if (i > 0) {
        sb.append(',');
      }
      sb.append("{\"embedding\":");
      if (job.base64) {
        sb.append('"').append(base64(v)).append('"');
      } else {
        sb.append('[');
        for (int k = 0; k < v.length; k++) {
          if (k > 0) {
            sb.append(',');
          }
          appendNumber(sb, v[k]);
        }
        sb.append(']');
      }
      sb.append(",\"index\":").append(i).append(",\"object\":\"embedding\"");
      if (job.base64) {
        sb.append(",\"encoding_format\":\"base64\"");
      }
      sb.append('}');
    }
    sb.append("]}");
    recordUsage(job);
    finish(job);
    sendJson(job.conn, job.response, 200, bytes(sb.toString()), false);
  }

  /** input: a string, an array of strings, a token array, or an array of token arrays. */
  private static List<Object> embeddingInputs(Object input) {
    List<Object> out = new ArrayList<>();
    if (input instanceof String s) {
      out.add(s);
    } else if (input instanceof JsonArray array && !array.isEmpty()) {
      if (array.getValue(0) instanceof Number) {
        out.add(tokenArray(array));
      } else {
        for (Object item : array) {
          if (item instanceof String s) {
            out.add(s);
          } else if (item instanceof JsonArray tokens) {
            out.add(tokenArray(tokens));
          } else {
            throw new IllegalArgumentException("\"input\" must be a string or an array of strings or tokens");
          }
        }
      }
    } else {
      throw new IllegalArgumentException("\"input\" must be a non-empty string or array");
    }
    return out;
  }

  private static int[] tokenArray(JsonArray array) {
    int[] tokens = new int[array.size()];
    for (int i = 0; i < tokens.length; i++) {
      if (!(array.getValue(i) instanceof Number n)) {
        throw new IllegalArgumentException("token arrays must contain integers");
      }
      tokens[i] = n.intValue();
    }
    return tokens;
  }

  /** Deterministic unit vector seeded by the input (llama-server normalizes OpenAI embeddings too). */
  private static float[] embedding(Object input) {
    long seed = input instanceof String s ? s.hashCode() : java.util.Arrays.hashCode((int[]) input);
    SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L);
    double[] raw = new double[N_EMBD];
    double norm = 0;
    for (int i = 0; i < N_EMBD; i++) {
      raw[i] = random.nextDouble() * 2 - 1;
      norm += raw[i] * raw[i];
    }
    norm = Math.sqrt(norm);
    float[] v = new float[N_EMBD];
    for (int i = 0; i < N_EMBD; i++) {
      v[i] = (float) (raw[i] / norm);
    }
    return v;
  }

  /** Little-endian float32, as llama-server encodes {@code encoding_format: "base64"}. */
  private static String base64(float[] v) {
    ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      buf.putFloat(f);
    }
    return Base64.getEncoder().encodeToString(buf.array());
  }

  // ---------------------------------------------------------------- monitoring endpoints

  private String slotsJson() {
    StringBuilder sb = new StringBuilder(slotTable.length * 1400).append('[');
    synchronized (slotLock) {
      int extraBusy = busySlots;
      for (int i = 0; i < slotTable.length; i++) {
        if (i > 0) {
          sb.append(',');
        }
        Job running = slotTable[i].running;
        if (running != null) {
          appendSlot(sb, i, true, running.taskId, running.promptTokens, params(running),
              running.tokens - running.decoded, running.decoded);
        } else if (extraBusy > 0) {
          extraBusy--;
          appendSlot(sb, i, true, 0, 395, params(Kind.CHAT, 450, false), 84, 366); // values from slots_busy.json
        } else if (slotTable[i].last != null) {
          Job last = slotTable[i].last;
          appendSlot(sb, i, false, last.taskId, last.promptTokens, params(last), -1, 0);
        } else {
          sb.append("{\"id\":").append(i).append(",\"n_ctx\":").append(N_CTX)
              .append(",\"speculative\":false,\"is_processing\":false}");
        }
      }
    }
    return sb.append(']').toString();
  }

  private static void appendSlot(StringBuilder sb, int id, boolean processing, int taskId, int promptTokens,
                                 String params, int remain, int decoded) {
    sb.append("{\"id\":").append(id).append(",\"n_ctx\":").append(N_CTX)
        .append(",\"speculative\":false,\"is_processing\":").append(processing)
        .append(",\"id_task\":").append(taskId)
        .append(",\"n_prompt_tokens\":").append(promptTokens)
        .append(",\"n_prompt_tokens_processed\":").append(processing ? promptTokens : 0)
        .append(",\"n_prompt_tokens_cache\":0,\"params\":").append(params)
        .append(",\"next_token\":[{\"has_next_token\":").append(processing)
        .append(",\"has_new_line\":false,\"n_remain\":").append(remain)
        .append(",\"n_decoded\":").append(decoded).append("}]}");
  }

  private static String params(Job job) {
    return params(job.kind, job.requestedTokens, job.stream);
  }

  /** The slot params blob; chat/completion/embedding tasks differ in chat_format and reasoning_format. */
  private static String params(Kind kind, int maxTokens, boolean stream) {
    String format = kind == Kind.CHAT
        ? "\"chat_format\":\"peg-native\",\"reasoning_format\":\"deepseek\""
        : kind == Kind.COMPLETION
            ? "\"chat_format\":\"Content-only\",\"reasoning_format\":\"deepseek\""
            : "\"chat_format\":\"Content-only\",\"reasoning_format\":\"none\"";
    String prompt = kind == Kind.CHAT ? "\"<|im_start|>assistant\\n\"" : "\"\"";
    return PARAMS_HEAD + maxTokens + ",\"n_predict\":" + maxTokens
        + ",\"n_keep\":0,\"n_discard\":0,\"ignore_eos\":false,\"stream\":" + stream
        + ",\"n_probs\":0,\"min_keep\":0," + format + ",\"reasoning_in_content\":false,\"generation_prompt\":"
        + prompt + PARAMS_TAIL;
  }

  private void sendMetrics(Conn conn, HttpServerResponse response) {
    long prompt = promptTokensTotal.get();
    long predicted = predictedTokensTotal.get();
    double promptSeconds = prompt * PROMPT_MS_PER_TOKEN / 1e3;
    double predictedSeconds = predictedNanosTotal.get() / 1e9;
    int busy;
    int waiting;
    synchronized (slotLock) {
      waiting = deferred.size();
      int running = 0;
      for (Slot s : slotTable) {
        running += s.running != null ? 1 : 0;
      }
      busy = Math.min(slotTable.length, running + busySlots);
    }
    StringBuilder sb = new StringBuilder(2800);
    metric(sb, "prompt_tokens_total", "counter",
        "Number of prompt tokens processed, excluding cached tokens", prompt);
    metric(sb, "prompt_tokens_cached_total", "counter", "Number of prompt tokens reused from the cache", 0);
    metric(sb, "prompt_seconds_total", "counter", "Total time spent processing prompts", promptSeconds);
    metric(sb, "tokens_predicted_total", "counter", "Number of generation tokens processed", predicted);
    metric(sb, "tokens_predicted_seconds_total", "counter", "Total time spent generating tokens",
        predictedSeconds);
    metric(sb, "n_decode_total", "counter", "Total number of llama_decode() calls, excluding speculative "
        + "decoding and multimodal decoding", predicted);
    metric(sb, "n_tokens_max", "counter", "Largest observed sequence length (prompt + generation)",
        maxSequence.get());
    metric(sb, "spec_decode_num_draft_tokens_total", "counter", "Speculative: Total draft tokens generated", 0);
    metric(sb, "spec_decode_num_accepted_tokens_total", "counter",
        "Speculative: Total draft tokens accepted by the target model", 0);
    metric(sb, "spec_decode_num_drafts_total", "counter",
        "Speculative: Total speculative decoding verification steps", 0);
    metric(sb, "prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s",
        promptSeconds > 0 ? prompt / promptSeconds : 0);
    metric(sb, "predicted_tokens_seconds", "gauge", "Average generation throughput in tokens/s",
        predictedSeconds > 0 ? predicted / predictedSeconds : 0);
    metric(sb, "requests_processing", "gauge", "Number of requests processing", busy);
    metric(sb, "requests_deferred", "gauge", "Number of requests deferred", waiting);
    metric(sb, "n_busy_slots_per_decode", "gauge", "Average number of busy slots per llama_decode() call", 1);
    response.setStatusCode(200);
    response.headers()
        .add(H_SERVER, V_SERVER)
        .add(H_ACAO, V_EMPTY)
        .add(H_START_TIME, startTimeHeader)
        .add(H_CONTENT_TYPE, V_PROMETHEUS);
    boolean close = conn.limitReached(options.maxRequestsPerConnection);
    response.headers().add(close ? H_CONNECTION : H_KEEP_ALIVE, close ? V_CLOSE : V_KEEP_ALIVE);
    response.end(sb.toString()).onComplete(ar -> afterResponse(conn, close));
  }

  private static void metric(StringBuilder sb, String name, String type, String help, double value) {
    sb.append("# HELP llamacpp:").append(name).append(' ').append(help).append('\n')
        .append("# TYPE llamacpp:").append(name).append(' ').append(type).append('\n')
        .append("llamacpp:").append(name).append(' ');
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      sb.append((long) value); // integers print without a decimal point, as in metrics.txt
    } else {
      sb.append(new BigDecimal(value).round(new MathContext(6)).stripTrailingZeros().toPlainString());
    }
    sb.append('\n');
  }

  private String buildModels() {
    return "{\"models\":[{\"name\":" + modelJson + ",\"model\":" + modelJson + ",\"modified_at\":\"\",\"size\":\"\","
        + "\"digest\":\"\",\"type\":\"model\",\"description\":\"\",\"tags\":[\"\"],\"capabilities\":[\"completion\"],"
        + "\"parameters\":\"\",\"details\":{\"parent_model\":\"\",\"format\":\"gguf\",\"family\":\"\",\"families\":[\"\"],"
        + "\"parameter_size\":\"\",\"quantization_level\":\"\"}}],\"object\":\"list\",\"data\":[{\"id\":" + modelJson
        + ",\"aliases\":[" + modelJson + "],\"tags\":[],\"object\":\"model\",\"created\":" + startEpochSeconds
        + ",\"owned_by\":\"llamacpp\",\"meta\":{\"vocab_type\":1,\"n_vocab\":32000,\"n_ctx\":" + N_CTX
        + ",\"n_ctx_train\":" + N_CTX + ",\"n_embd\":" + N_EMBD
        + ",\"n_params\":4178240,\"size\":16712960,\"ftype\":\"all F32\"}}]}";
  }

  private String buildProps() {
    return "{\"default_generation_settings\":{\"params\":" + params(Kind.EMBEDDING, -1, false) + ",\"n_ctx\":" + N_CTX
        + "},\"total_slots\":" + slotTable.length + ",\"model_alias\":" + modelJson
        + ",\"model_ftype\":\"all F32\",\"model_path\":" + Json.encode("model/" + options.modelAlias)
        + ",\"modalities\":{\"vision\":false,\"video\":false,\"audio\":false},"
        + "\"media_marker\":\"<__media_lVltnPH8uj5D0XKYi1uatiCVAtoqTEDY__>\",\"endpoint_slots\":true,"
        + "\"endpoint_props\":false,\"endpoint_metrics\":true,\"ui\":false,\"ui_settings\":{},\"chat_template\":"
        + CHAT_TEMPLATE_JSON + ",\"chat_template_caps\":{\"supports_object_arguments\":false,"
        + "\"supports_parallel_tool_calls\":false,\"supports_preserve_reasoning\":false,"
        + "\"supports_reasoning_effort\":false,\"supports_string_content\":true,\"supports_system_role\":true,"
        + "\"supports_tool_calls\":false,\"supports_tools\":false,\"supports_typed_content\":false},"
        + "\"bos_token\":\"<s>\",\"eos_token\":\"</s>\",\"build_info\":\"" + FINGERPRINT + "\",\"is_sleeping\":false,"
        + "\"cors_proxy_enabled\":false}";
  }

  // ---------------------------------------------------------------- plain JSON responses

  /**
   * Writes a JSON response with llama-server's headers. {@code close}: answer "Connection: close" and drop the
   * connection (404/501 in the samples, and the last request a connection may carry).
   */
  private void sendJson(Conn conn, HttpServerResponse response, int status, byte[] body, boolean close) {
    boolean last = close || conn.limitReached(options.maxRequestsPerConnection);
    response.setStatusCode(status);
    response.headers()
        .add(H_SERVER, V_SERVER)
        .add(H_ACAO, V_EMPTY)
        .add(H_CONTENT_TYPE, V_JSON)
        .add(last ? H_CONNECTION : H_KEEP_ALIVE, last ? V_CLOSE : V_KEEP_ALIVE);
    response.end(Buffer.buffer(body)).onComplete(ar -> afterResponse(conn, last));
  }

  private static final Buffer FILLER = Buffer.buffer("x".repeat(64 * 1024));

  /**
   * Writes {@code head} then filler up to {@link #misbehaviourBytes}, as fast as the reader takes it, and ends the
   * response (leaving whatever it started unterminated); stops once the connection is gone.
   */
  private void flood(HttpServerResponse r, int status, CharSequence type, String head, Conn conn) {
    if (!r.headWritten()) {
      r.setStatusCode(status).setChunked(true);
      r.headers().add(H_SERVER, V_SERVER).add(H_CONTENT_TYPE, type);
    }
    r.exceptionHandler(e -> { });
    r.write(head);
    long[] left = {misbehaviourBytes};
    Runnable[] pour = new Runnable[1];
    pour[0] = () -> {
      while (left[0] > 0 && !r.closed() && !r.ended()) {
        if (r.writeQueueFull()) {
          r.drainHandler(v -> pour[0].run());
          return;
        }
        int n = (int) Math.min(FILLER.length(), left[0]);
        r.write(n == FILLER.length() ? FILLER : FILLER.slice(0, n));
        left[0] -= n;
        fillerBytesSent.addAndGet(n);
      }
      if (!r.closed() && !r.ended()) {
        r.end().onComplete(ar -> {
          if (conn != null) {
            afterResponse(conn, true);
          }
        });
      }
    };
    pour[0].run();
  }

  private void afterResponse(Conn conn, boolean close) {
    conn.active--;
    conn.lastActiveNanos = System.nanoTime();
    if (close) {
      conn.connection.close();
    }
  }

  private static String badJsonError(Buffer body) {
    String text = body.toString(StandardCharsets.UTF_8);
    String message = text.isBlank()
        ? "[json.exception.parse_error.101] parse error at line 1, column 1: attempting to parse an empty input; "
            + "check that your input string or stream contains the expected JSON"
        : "[json.exception.parse_error.101] parse error at line 1, column " + Math.min(text.length(), 3)
            + ": syntax error while parsing value - invalid literal; last read: '"
            + text.substring(0, Math.min(text.length(), 3)) + "'";
    return "{\"error\":{\"code\":500,\"message\":" + Json.encode(message) + ",\"type\":\"server_error\"}}";
  }

  private static String invalidRequest(String message) {
    return "{\"error\":{\"code\":400,\"message\":" + Json.encode(message) + ",\"type\":\"invalid_request_error\"}}";
  }

  // ---------------------------------------------------------------- small helpers

  private static Route route(HttpMethod method, String path) {
    if (method == HttpMethod.POST) {
      switch (path) {
        case "/v1/chat/completions", "/chat/completions" -> { return Route.CHAT; }
        case "/v1/completions", "/completions" -> { return Route.COMPLETION; }
        case "/v1/embeddings" -> { return Route.EMBEDDING; }
        default -> { return Route.NOT_FOUND; }
      }
    }
    if (method == HttpMethod.GET) {
      switch (path) {
        case "/health", "/v1/health" -> { return Route.HEALTH; }
        case "/v1/models", "/models" -> { return Route.MODELS; }
        case "/slots" -> { return Route.SLOTS; }
        case "/metrics" -> { return Route.METRICS; }
        case "/props" -> { return Route.PROPS; }
        default -> { return Route.NOT_FOUND; }
      }
    }
    return Route.NOT_FOUND;
  }

  /** llama-server's precedence (server-task.cpp params_from_json_cmpl): n_predict, max_completion_tokens, max_tokens. */
  private static final String[] TOKEN_LIMIT_KEYS = {"n_predict", "max_completion_tokens", "max_tokens"};

  /** The first limit present wins, as in llama-server (non-numbers are skipped, like its json_value); -1 = none. */
  private static int requestedTokens(JsonObject body) {
    for (String key : TOKEN_LIMIT_KEYS) {
      if (body.getValue(key) instanceof Number n) {
        return Math.max(-1, n.intValue());
      }
    }
    return -1;
  }

  /** n_cmpl, else n, else 1 (llama-server); more than the slot count is refused as llama-server does. */
  private int completionsPerPrompt(JsonObject body) {
    Object v = body.getValue("n_cmpl") instanceof Number ? body.getValue("n_cmpl") : body.getValue("n");
    int n = v instanceof Number num ? Math.max(1, num.intValue()) : 1;
    if (n > options.slots) {
      throw new IllegalArgumentException("n_cmpl cannot be greater than the number of slots, please increase -np");
    }
    return n;
  }

  /** A token chunk head for choice {@code index} (the cached heads are for choice 0). */
  private static byte[] withIndex(byte[] head, int index) {
    return bytes(new String(head, StandardCharsets.UTF_8).replace("\"index\":0,", "\"index\":" + index + ","));
  }

  private static boolean includeUsage(JsonObject body) {
    return body.getValue("stream_options") instanceof JsonObject so && Boolean.TRUE.equals(so.getValue("include_usage"));
  }

  /** Characters of a message content or prompt: a string, an array of strings, or of {"text": ...} parts. */
  private static int contentChars(Object content) {
    if (content instanceof String s) {
      return s.length();
    }
    int chars = 0;
    if (content instanceof JsonArray parts) {
      for (Object part : parts) {
        if (part instanceof String s) {
          chars += s.length();
        } else if (part instanceof JsonObject p && p.getValue("text") instanceof String t) {
          chars += t.length();
        } else if (part instanceof Number) {
          chars += 4; // a token id of a pre-tokenized prompt
        }
      }
    }
    return chars;
  }

  /** Numbers as nlohmann::json prints them: shortest round-trip form, never exponent notation, null if not finite. */
  private static void appendNumber(StringBuilder sb, double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      sb.append("null");
      return;
    }
    double a = Math.abs(v);
    if (a == 0 || (a >= 1e-3 && a < 1e7)) {
      sb.append(v);
    } else {
      String plain = BigDecimal.valueOf(v).toPlainString();
      sb.append(plain.indexOf('.') < 0 ? plain + ".0" : plain);
    }
  }

  private static String randomId() {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    ThreadLocalRandom random = ThreadLocalRandom.current();
    char[] id = new char[32];
    for (int i = 0; i < id.length; i++) {
      id[i] = alphabet.charAt(random.nextInt(alphabet.length()));
    }
    return new String(id);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
