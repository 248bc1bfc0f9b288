package ai.gpt.api.proxy;

import ai.gpt.api.auth.ApiKey;
import ai.gpt.api.catalog.Catalog;
import ai.gpt.api.catalog.ModelInfo;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.json.StrictJson;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/**
 * Validates a request body and builds the one llama.cpp receives: only the fields {@link UpstreamParams} allows,
 * the input checked by {@link InputShapes}, the gateway's output-token budget in every field llama.cpp reads
 * for it, and {@code stream_options.include_usage} always on so every stream can be metered.
 */
public final class RequestPreparer {
  /** Characters per token for the rough prompt estimate; llama.cpp's real count replaces it when available. */
  private static final int CHARS_PER_TOKEN = 4;
  /**
   * Tokens a chat template may add beyond the request's own bytes (gpt-oss's harmony template opens every prompt
   * with a system message of about 60 tokens; the per-message markers are fewer tokens than the JSON syntax around
   * each message).
   */
  public static final int TEMPLATE_TOKENS = 256;
  /**
   * The output-token limit in llama.cpp's order of precedence (server-task.cpp reads {@code n_predict}, else
   * {@code max_completion_tokens}, else {@code max_tokens}). The client's choice follows the same order, and the
   * effective budget is written back into all three, so whichever one llama.cpp honours is the one held for.
   */
  private static final String[] BUDGET_FIELDS = {"n_predict", "max_completion_tokens", "max_tokens"};
  /**
   * Fields that ask for several completions in one request: llama.cpp reads {@code n_cmpl}, else {@code n};
   * {@code best_of} is OpenAI's. Only 1 is accepted: the hold, the token reservation and the concurrency lease
   * are sized for one completion, and refusing keeps that one truth instead of multiplying it on every path.
   */
  private static final String[] CHOICE_FIELDS = {"n_cmpl", "n", "best_of"};
  /** OpenAI's own upper bound for n. */
  private static final int MAX_CHOICES = 128;

  private final Catalog catalog;

  public RequestPreparer(Catalog catalog) {
    this.catalog = catalog;
  }

  public PreparedRequest prepare(Endpoint endpoint, Buffer body, ApiKey key) {
    JsonObject json = StrictJson.object(body);
    ModelInfo model = model(json, key, endpoint);
    Object input = json.getValue(endpoint.inputField());
    InputShapes.check(endpoint, input);
    JsonObject upstream = UpstreamParams.forward(endpoint, json);
    upstream.put("model", model.id()).put(endpoint.inputField(), input);

    boolean stream = optionalBool(json, "stream");
    boolean clientWantsUsage = includeUsage(json, stream);
    int maxTokens = 0;
    if (endpoint.generates()) {
      oneCompletion(json);
      maxTokens = model.effectiveMaxTokens(requestedMaxTokens(json));
      for (String field : BUDGET_FIELDS) {
        upstream.put(field, maxTokens);
      }
      if (stream) {
        upstream.put("stream", true).put("stream_options", new JsonObject().put("include_usage", true));
      }
    } else if (stream) {
      throw ApiError.invalidRequest("Embeddings cannot be streamed.", "stream");
    }
    return new PreparedRequest(endpoint, model, stream, clientWantsUsage, maxTokens,
        estimatePrompt(input), promptBound(body), upstream.toBuffer());
  }

  /** The client's limit (null: the model's default), each alias checked even when another one wins. */
  private static Integer requestedMaxTokens(JsonObject json) {
    Integer requested = null;
    for (String field : BUDGET_FIELDS) {
      Object v = json.getValue(field);
      if (v != null) {
        long n = ParamCheck.integer(v, field, 1, Long.MAX_VALUE);
        if (requested == null) {
          requested = (int) Math.min(Integer.MAX_VALUE, n);
        }
      }
    }
    return requested;
  }

  private static void oneCompletion(JsonObject json) {
    for (String field : CHOICE_FIELDS) {
      Object v = json.getValue(field);
      if (v != null && ParamCheck.integer(v, field, 1, MAX_CHOICES) > 1) {
        throw ApiError.invalidRequest("Invalid '" + field + "': only one completion per request is supported ("
            + field + " must be 1); send several requests instead.", field);
      }
    }
  }

  private ModelInfo model(JsonObject json, ApiKey key, Endpoint endpoint) {
    Object value = json.getValue("model");
    if (value == null) {
      throw ApiError.invalidRequest("You must provide a model parameter.", "model");
    }
    if (!(value instanceof String id)) {
      throw ApiError.invalidRequest("'model' must be a string.", "model");
    }
    ModelInfo model = catalog.model(id);
    if (model == null || !model.active()) {
      throw ApiError.modelNotFound(id);
    }
    if (!key.mayUse(id)) {
      throw ApiError.modelNotAllowed(id);
    }
    if (model.kind() != endpoint.modelKind()) {
      throw ApiError.invalidRequest("The model '" + id + "' does not support " + endpoint.path() + ".", "model");
    }
    return model;
  }

  private static boolean optionalBool(JsonObject json, String field) {
    Object v = json.getValue(field);
    return v != null && ParamCheck.bool(v, field);
  }

  /** Whether the client asked for the usage chunk; stream_options is only allowed on a stream, as in OpenAI. */
  private static boolean includeUsage(JsonObject json, boolean stream) {
    Object options = json.getValue("stream_options");
    if (options == null) {
      return false;
    }
    JsonObject o = ParamCheck.object(options, "stream_options");
    if (!stream) {
      throw ApiError.invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is true.",
          "stream_options");
    }
    Object include = o.getValue("include_usage");
    return include != null && ParamCheck.bool(include, "stream_options.include_usage");
  }

  /**
   * An upper bound on the prompt tokens llama.cpp can count for this body: its bytes plus {@link #TEMPLATE_TOKENS}.
   * The models' tokenizers (byte-level BPE; SentencePiece, whose byte fallback is one token per byte) never make
   * more than one token of a byte, and everything a template renders from the request (messages, tools, token
   * ids) is in the body, in JSON at least as long as its text. Characters / 4 is no bound: CJK text, emoji or token
   * id arrays run to one token per character or more, and concurrent requests each charged beyond their hold would
   * take a balance below minus one request's maximum cost.
   */
  private static long promptBound(Buffer body) {
    return (long) body.length() + TEMPLATE_TOKENS;
  }

  /** Rough token count of the input: characters / 4, at least 1. */
  private static long estimatePrompt(Object input) {
    long chars = input instanceof String s ? s.length() : input.toString().length();
    return Math.max(1, chars / CHARS_PER_TOKEN);
  }
}
