package ai.gpt.api.proxy;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.http.BoundedBody;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;

/**
 * Relays a streamed answer event by event with back-pressure: when the client reads slower than the backend
 * writes, the backend's response is paused until the client drains. A failure after the first byte cannot
 * be retried, so the client gets an SSE error event and the stream ends.
 */
final class StreamRelay {
  private final Exchange ex;
  private final HttpClientResponse upstream;
  private final SseRelay sse;
  private final HttpServerResponse out;
  private final Context context;
  private final Handler<Void> flushTask = v -> flushBatch();
  /**
   * What the current upstream read brought, written once that read is over. Vert.x flushes a write at once unless
   * it is made while its own connection reads, and these are made while the backend's connection reads: one
   * write (and syscall) per SSE event. llama.cpp's events often arrive several to a read (a fast model, a
   * loaded machine), and then go out in one write.
   */
  private Buffer batch;
  /** Whether {@link #batch} is a buffer of its own (appendable), not the first event's slice of a chunk. */
  private boolean batchOwned;
  private boolean done;

  StreamRelay(Exchange ex, HttpClientResponse upstream) {
    this.ex = ex;
    this.upstream = upstream;
    this.sse = new SseRelay(ex.request.clientWantsUsage(), ex.charged() ? ex::price : null);
    this.out = ex.ctx.response();
    this.context = ex.ctx.vertx().getOrCreateContext();
  }

  void start() {
    out.setChunked(true)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
        .putHeader("X-Accel-Buffering", "no");
    upstream.handler(this::onChunk);
    upstream.endHandler(v -> finish(null));
    upstream.exceptionHandler(this::finish);
    out.drainHandler(v -> upstream.resume());
  }

  private void onChunk(Buffer chunk) {
    if (done || ex.clientGone()) {
      return;
    }
    Buffer forward = sse.feed(chunk);
    if (forward.length() > 0) {
      ex.firstToken();
      queue(forward);
    }
    if (sse.overflowed()) {
      // An event that never ends: end the stream, then stop reading it (the reset closes the connection; the
      // failure it reports comes after this one, so it is ignored).
      ex.backendMisbehaved("sent an SSE event larger than " + UpstreamBounds.MAX_EVENT_BYTES + " bytes");
      finish(new BoundedBody.TooLarge("SSE event", UpstreamBounds.MAX_EVENT_BYTES));
      upstream.request().reset();
    }
  }

  /** Adds to the batch; the first bytes of a batch schedule its write, which runs once this read is handled. */
  private void queue(Buffer forward) {
    boolean first = batch == null;
    append(forward);
    if (first) {
      context.runOnContext(flushTask);
    }
  }

  private void append(Buffer bytes) {
    if (batch == null) {
      batch = bytes;
      return;
    }
    if (!batchOwned) {
      batch = Buffer.buffer(4 * (batch.length() + bytes.length())).appendBuffer(batch);
      batchOwned = true;
    }
    batch.appendBuffer(bytes);
  }

  private Buffer takeBatch() {
    Buffer bytes = batch;
    batch = null;
    batchOwned = false;
    return bytes;
  }

  private void flushBatch() {
    // Once the backend's answer is over, the batch waits for the settlement and goes out with the stream's end.
    if (done || batch == null) {
      return;
    }
    Buffer bytes = takeBatch();
    if (ex.clientGone() || out.ended()) {
      return;
    }
    out.write(bytes);
    if (out.writeQueueFull()) {
      upstream.pause();
    }
  }

  private void finish(Throwable failure) {
    if (done) {
      return;
    }
    done = true;
    ex.attemptEnded();
    TokenUsage tokens = sse.usage();
    if (tokens == null) {
      // Cut before llama.cpp sent usage: bill what was relayed, one chunk per token, and say it is estimated.
      tokens = new TokenUsage(ex.request.promptEstimate(), sse.contentChunks(), 0, true);
    }
    // [DONE] (held back by the SSE relay) and the end of the response go out only once the settlement is
    // durable: a client that saw the stream complete must be billed even if this process dies right after.
    ex.complete(tokens).onSuccess(cost -> {
      if (ex.clientGone() || out.ended()) {
        takeBatch();
        return;
      }
      Buffer rest = sse.remainder();
      if (failure == null && rest.length() > 0) {
        append(rest);
      }
      append(sse.sawDone() ? sse.doneEvent() : errorEvent(failure));
      out.end(takeBatch());
    });
  }

  private static Buffer errorEvent(Throwable failure) {
    JsonObject error = ApiError.upstreamFailed(failure instanceof BoundedBody.TooLarge tooLarge
        ? "The model backend sent an event larger than " + tooLarge.limit() + " bytes; the stream was cut."
        : "The model backend failed mid-stream.").toJson();
    return Buffer.buffer("data: " + error.encode() + "\n\n");
  }
}
