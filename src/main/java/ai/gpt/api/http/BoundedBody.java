package ai.gpt.api.http;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;

/**
 * Reads the body of an answer from a service outside this process (a backend, an identity provider) into memory,
 * up to a bound: {@code HttpClientResponse.body()} would hold whatever the other side sends. Past the bound the
 * request is reset, which for HTTP/1.1 closes the connection, so it is neither read further nor reused.
 */
public final class BoundedBody {
  private static final int INITIAL_MAX = 1024 * 1024;

  private BoundedBody() {}

  /** A body past its bound; no stack trace (it says which bound, not where). */
  public static final class TooLarge extends RuntimeException {
    private final long limit;

    public TooLarge(String what, long limit) {
      super(what + " larger than " + limit + " bytes", null, false, false);
      this.limit = limit;
    }

    public long limit() {
      return limit;
    }
  }

  /** The whole body, or a failure with {@link TooLarge} once it passes {@code maxBytes}. */
  public static Future<Buffer> read(HttpClientResponse response, int maxBytes) {
    return read(response, maxBytes, null);
  }

  /**
   * At most the first {@code maxBytes} of the body: for an answer only a prefix of which is of use (an error's
   * message). A longer body is cut there, its connection reset, and {@code cut} run.
   */
  public static Future<Buffer> prefix(HttpClientResponse response, int maxBytes, Runnable cut) {
    return read(response, maxBytes, cut);
  }

  /** @param cut null to fail past the bound, else run as the body is cut to a prefix */
  private static Future<Buffer> read(HttpClientResponse response, int maxBytes, Runnable cut) {
    Promise<Buffer> result = Promise.promise();
    long declared = declaredLength(response);
    if (declared > maxBytes && cut == null) {
      response.request().reset();
      return Future.failedFuture(new TooLarge("body", maxBytes));
    }
    // Sized by the declared length only up to 1 MiB: a length is a claim, not bytes, and many answers claiming
    // the bound at once must not reserve it each before sending anything.
    Buffer body = Buffer.buffer((int) Math.min(Math.min(maxBytes, INITIAL_MAX), declared >= 0 ? declared : 1024));
    response.handler(chunk -> {
      if (result.future().isComplete()) {
        return; // chunks already read off the socket when the body was cut
      }
      if (body.length() + chunk.length() <= maxBytes) {
        body.appendBuffer(chunk);
        return;
      }
      // Settled before the reset, whose own failure (reported at once) must not be taken for the cause.
      if (cut != null) {
        body.appendBuffer(chunk, 0, maxBytes - body.length());
        cut.run();
        result.tryComplete(body);
      } else {
        result.tryFail(new TooLarge("body", maxBytes));
      }
      response.request().reset();
    });
    response.endHandler(v -> result.tryComplete(body));
    response.exceptionHandler(result::tryFail);
    return result.future();
  }

  /** The Content-Length the answer declares, or -1 (chunked, absent or unreadable). */
  private static long declaredLength(HttpClientResponse response) {
    String length = response.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (length == null) {
      return -1;
    }
    try {
      return Long.parseLong(length.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
