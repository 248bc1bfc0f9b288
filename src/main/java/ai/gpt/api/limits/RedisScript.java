package ai.gpt.api.limits;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;
import java.util.concurrent.TimeoutException;

/**
 * A Lua script from the classpath ({@code lua/<name>.lua}), run with EVALSHA.
 *
 * <p>Redis scripts cannot import each other, so code they share lives in a file of its own in {@code lua/}
 * (e.g. {@code token_bucket.lua}) and a script names it on a line {@code -- #include token_bucket.lua}: that line
 * is replaced by the file's text when the script is read, so the script Redis runs (and its SHA) is the whole.
 *
 * <p>{@link #load} reads the text once with a blocking classpath read on a worker thread
 * ({@code vertx.executeBlocking}), so it may be called from an event loop, then registers it with SCRIPT LOAD.
 * When Redis answers NOSCRIPT (restart, SCRIPT FLUSH, failover, or a cluster node that never saw the SCRIPT LOAD)
 * the call is retried once as EVAL with the script text: that reloads the script into the cache of the very node
 * that owns the keys and runs it, in one round trip; later calls go back to EVALSHA.
 */
public final class RedisScript {
  private static final String INCLUDE = "-- #include ";
  private final Redis redis;
  private final String name;
  private final String body;
  private final String sha;

  private RedisScript(Redis redis, String name, String body) {
    this.redis = redis;
    this.name = name;
    this.body = body;
    this.sha = sha1(body);
  }

  /** Reads {@code resource} (e.g. {@code "lua/admit_v6.lua"}) from the classpath and SCRIPT LOADs it. */
  public static Future<RedisScript> load(Vertx vertx, Redis redis, String resource) {
    return vertx.executeBlocking(() -> compose(resource)).compose(body -> {
      RedisScript script = new RedisScript(redis, resource, body);
      return redis.send(Request.cmd(Command.SCRIPT).arg("LOAD").arg(body)).compose(sha -> {
        if (!script.sha.equals(sha.toString())) {
          return Future.failedFuture("SCRIPT LOAD of " + resource + " returned " + sha + ", expected " + script.sha);
        }
        return Future.succeededFuture(script);
      });
    });
  }

  /**
   * Reads {@code resource} without registering it, for a caller that must start while Redis may be down: its
   * first call answers NOSCRIPT and is sent again as EVAL, which caches it.
   */
  public static Future<RedisScript> read(Vertx vertx, Redis redis, String resource) {
    return vertx.executeBlocking(() -> compose(resource)).map(body -> new RedisScript(redis, resource, body));
  }

  public String name() {
    return name;
  }

  /** SHA-1 of the script text, as Redis names it. */
  public String sha() {
    return sha;
  }

  /**
   * EVALSHA with these keys and arguments (strings, or byte arrays sent as they are: packed values); on NOSCRIPT,
   * one EVAL of the text (which also re-caches it).
   */
  public Future<Response> call(List<String> keys, List<?> args) {
    return call(redis::send, keys, args);
  }

  /** {@link #call(List, List)} over a connection of the caller's ({@code send} sends one command). */
  public Future<Response> call(Function<Request, Future<Response>> send, List<String> keys, List<?> args) {
    return send.apply(request(Command.EVALSHA, sha, keys, args)).recover(err -> {
      if (isNoScript(err)) {
        return send.apply(request(Command.EVAL, body, keys, args));
      }
      return Future.failedFuture(err);
    });
  }

  /** NOSCRIPT, also when a caller wrapped Redis's error in one of its own. */
  static boolean isNoScript(Throwable err) {
    for (Throwable t = err; t != null; t = t.getCause()) {
      String message = t.getMessage();
      if (message != null && message.startsWith("NOSCRIPT")) {
        return true;
      }
    }
    return false;
  }

  /** The EVAL or EVALSHA of a call ({@code args}: strings, or byte arrays sent as they are). */
  static Request request(Command command, String scriptOrSha, List<String> keys, List<?> args) {
    Request req = Request.cmd(command).arg(scriptOrSha).arg(keys.size());
    for (String k : keys) {
      req.arg(k);
    }
    for (Object a : args) {
      if (a instanceof byte[] bytes) {
        req.arg(bytes);
      } else {
        req.arg((String) a);
      }
    }
    return req;
  }

  /** The script's text with its {@code -- #include <file>} lines replaced by those files (from {@code lua/}). */
  static String compose(String resource) throws IOException {
    // A script without includes is sent byte for byte as in its file, so its SHA is the file's (tests and
    // operators find a script in Redis by it).
    String[] lines = readResource(resource).split("\n", -1);
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < lines.length; i++) {
      if (i > 0) {
        out.append('\n');
      }
      if (lines[i].startsWith(INCLUDE)) {
        String included = readResource("lua/" + lines[i].substring(INCLUDE.length()).trim());
        if (included.startsWith(INCLUDE) || included.contains("\n" + INCLUDE)) {
          throw new IOException(resource + ": included files may not include others");
        }
        out.append(included.endsWith("\n") ? included.substring(0, included.length() - 1) : included);
      } else {
        out.append(lines[i]);
      }
    }
    return out.toString();
  }

  private static String readResource(String resource) throws IOException {
    ClassLoader loader = RedisScript.class.getClassLoader();
    try (InputStream in = loader.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("Redis script " + resource + " not found on the classpath");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static String sha1(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Whether a script call that failed may still have run in Redis: it timed out (it may run later), or the
   * connection closed while it waited for its reply (vertx-redis fails the calls in flight with CONNECTION_CLOSED; the
   * script ran and only its answer was lost). A call refused before it was written (connection refused, a channel
   * already closed) never ran. Callers whose script places something (a hold, a lease) must then undo it.
   */
  public static boolean mayHaveRun(Throwable cause) {
    return cause instanceof TimeoutException || String.valueOf(cause.getMessage()).contains("CONNECTION_CLOSED");
  }
}
