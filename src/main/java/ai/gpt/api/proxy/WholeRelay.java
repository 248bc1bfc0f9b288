package ai.gpt.api.proxy;

import ai.gpt.api.billing.Money;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.http.BoundedBody;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;

/**
 * Relays a non-streamed answer: the backend's body is passed on with llama.cpp's extra fields (such as
 * {@code timings}) intact; its usage is read for metering and gets the request's {@code cost} in USD added,
 * spliced into the backend's bytes ({@link CostSplice}) or, for an answer the splice cannot vouch for, through a
 * parsed tree (unless metering is off: then nothing is charged and the body is passed on as it came). A usage
 * that is not an object counts as none.
 */
final class WholeRelay {
  private final Exchange ex;
  private final HttpClientResponse upstream;

  WholeRelay(Exchange ex, HttpClientResponse upstream) {
    this.ex = ex;
    this.upstream = upstream;
  }

  void start() {
    int status = upstream.statusCode();
    // An error's body is only read for its message: a prefix is enough (a longer one is cut, see Exchange).
    Future<Buffer> read = status == 200 ? BoundedBody.read(upstream, UpstreamBounds.MAX_BODY_BYTES)
        : BoundedBody.prefix(upstream, UpstreamBounds.MAX_ERROR_BYTES, ex::errorTooLarge);
    read.onComplete(ar -> {
      ex.attemptEnded();
      if (ar.failed()) {
        if (ar.cause() instanceof BoundedBody.TooLarge) {
          ex.backendMisbehaved("sent an answer larger than " + UpstreamBounds.MAX_BODY_BYTES + " bytes");
          // The backend did the work, but nothing was relayed: billed as a backend that died mid-body is.
          ex.fail(ApiError.upstreamFailed("The model backend's answer was larger than "
              + UpstreamBounds.MAX_BODY_BYTES + " bytes."), TokenUsage.promptOnly(ex.request.promptEstimate()),
              ex.clientGone() ? 499 : 502);
          return;
        }
        // The backend died mid-body: nothing was sent to the client yet, but the work may have run; the
        // prompt estimate is billed as estimated, and the client gets a clean error.
        ex.fail(ApiError.upstreamFailed("The model backend failed while answering."),
            TokenUsage.promptOnly(ex.request.promptEstimate()), ex.clientGone() ? 499 : 502);
        return;
      }
      if (status != 200) {
        ex.fail(UpstreamErrors.from(status, ar.result()), TokenUsage.NONE, status);
        return;
      }
      ex.firstToken();
      Buffer answer = ar.result();
      byte[] bytes = answer.getBytes();
      CostSplice splice = CostSplice.scan(bytes, 0, bytes.length);
      // Only an answer the splice cannot vouch for is parsed into a tree (and re-encoded with the cost).
      JsonObject tree = splice == CostSplice.UNSURE ? parse(answer) : null;
      if (splice == CostSplice.UNSURE && tree == null) {
        // A 200 that is not a JSON object (cut, HTML, an array): not relayed as a success; billed as a backend
        // that died mid-body.
        ex.fail(ApiError.upstreamFailed("The model backend sent an answer that is not a JSON object."),
            TokenUsage.promptOnly(ex.request.promptEstimate()), ex.clientGone() ? 499 : 502);
        return;
      }
      JsonObject usage = tree == null ? splice.usage() : tree.getValue("usage") instanceof JsonObject u ? u : null;
      TokenUsage tokens = TokenUsage.from(usage);
      if (tokens == null) {
        // No usage in a successful answer: bill the most it could have been, and say it is an estimate.
        tokens = new TokenUsage(ex.request.promptEstimate(), ex.request.maxTokens(), 0, true);
      }
      ex.complete(tokens).onSuccess(cost -> {
        if (ex.clientGone()) {
          return;
        }
        Buffer body = answer;
        if (usage != null && ex.charged()) {
          if (tree != null) {
            usage.put("cost", Money.toUsd(cost));
            body = tree.toBuffer();
          } else {
            body = splice.withCost(bytes, cost);
          }
        }
        String type = upstream.getHeader(HttpHeaders.CONTENT_TYPE);
        ex.ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, type == null ? "application/json" : type).end(body);
      });
    });
  }

  private static JsonObject parse(Buffer body) {
    try {
      return new JsonObject(body);
    } catch (RuntimeException notJson) {
      return null;
    }
  }
}
