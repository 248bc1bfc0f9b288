package ai.gpt.api.proxy;

import ai.gpt.api.auth.ApiKey;
import ai.gpt.api.catalog.Catalog;
import ai.gpt.api.catalog.ModelInfo;
import ai.gpt.api.error.ApiError;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Validates a request body and rewrites it for llama.cpp: the model's max_tokens default and cap, and
 * {@code stream_options.include_usage} always on so every stream can be metered. Fields the gateway does
 * not know pass through untouched.
 */
public final class RequestPreparer {
  /** Characters per token for the rough prompt estimate; llama.cpp's real count replaces it when available. */
  private static final int CHARS_PER_TOKEN = 4;

  private final Catalog catalog;

  public RequestPreparer(Catalog catalog) {
    this.catalog = catalog;
  }

  public PreparedRequest prepare(Endpoint endpoint, Buffer body, ApiKey key) {
    JsonObject json = parse(body);
    ModelInfo model = model(json, key, endpoint);
    Object input = json.getValue(endpoint.inputField());
    checkInput(endpoint, input);

    boolean stream = false;
    boolean clientWantsUsage = false;
    int maxTokens = 0;
    if (endpoint.generates()) {
      stream = bool(json, "stream");
      Integer requested = positiveInt(json, "max_tokens");
      Integer requestedCompletion = positiveInt(json, "max_completion_tokens");
      if (requestedCompletion != null) {
        requested = requestedCompletion; // the newer name wins, as in OpenAI's API
      }
      maxTokens = model.effectiveMaxTokens(requested);
      json.remove("max_completion_tokens");
      json.put("max_tokens", maxTokens);
      if (stream) {
        clientWantsUsage = includeUsage(json);
        JsonObject options = json.getJsonObject("stream_options");
        json.put("stream_options", (options == null ? new JsonObject() : options).put("include_usage", true));
      }
    } else if (json.containsKey("stream") && bool(json, "stream")) {
      throw ApiError.invalidRequest("Embeddings cannot be streamed.", "stream");
    }
    return new PreparedRequest(endpoint, model, stream, clientWantsUsage, maxTokens,
        estimatePrompt(input), json.toBuffer());
  }

  private static JsonObject parse(Buffer body) {
    if (body == null || body.length() == 0) {
      throw ApiError.invalidJson();
    }
    try {
      Object value = Json.decodeValue(body);
      if (value instanceof JsonObject obj) {
        return obj;
      }
    } catch (DecodeException e) {
      // fall through to the same answer as a non-object body
    }
    throw ApiError.invalidJson();
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

  private static void checkInput(Endpoint endpoint, Object input) {
    String field = endpoint.inputField();
    if (input == null) {
      throw ApiError.invalidRequest("Missing required parameter: '" + field + "'.", field);
    }
    boolean ok = switch (endpoint) {
      case CHAT -> input instanceof JsonArray a && !a.isEmpty() && a.stream().allMatch(m -> m instanceof JsonObject);
      case COMPLETIONS -> input instanceof String || input instanceof JsonArray a && !a.isEmpty();
      case EMBEDDINGS -> input instanceof String s && !s.isEmpty() || input instanceof JsonArray a && !a.isEmpty();
    };
    if (!ok) {
      String expected = switch (endpoint) {
        case CHAT -> "a non-empty array of message objects";
        case COMPLETIONS -> "a string or a non-empty array";
        case EMBEDDINGS -> "a non-empty string or a non-empty array";
      };
      throw ApiError.invalidRequest("Invalid type for '" + field + "': expected " + expected + ".", field);
    }
  }

  private static boolean bool(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v == null) {
      return false;
    }
    if (!(v instanceof Boolean b)) {
      throw ApiError.invalidRequest("Invalid type for '" + field + "': expected a boolean.", field);
    }
    return b;
  }

  private static Integer positiveInt(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof Integer || v instanceof Long) || ((Number) v).longValue() < 1) {
      throw ApiError.invalidRequest("Invalid '" + field + "': expected an integer of at least 1.", field);
    }
    return (int) Math.min(Integer.MAX_VALUE, ((Number) v).longValue());
  }

  private static boolean includeUsage(JsonObject json) {
    Object options = json.getValue("stream_options");
    if (options == null) {
      return false;
    }
    if (!(options instanceof JsonObject o)) {
      throw ApiError.invalidRequest("Invalid type for 'stream_options': expected an object.", "stream_options");
    }
    Object include = o.getValue("include_usage");
    if (include != null && !(include instanceof Boolean)) {
      throw ApiError.invalidRequest("Invalid type for 'stream_options.include_usage': expected a boolean.",
          "stream_options.include_usage");
    }
    return Boolean.TRUE.equals(include);
  }

  /** Rough token count of the input: characters / 4, at least 1. */
  private static long estimatePrompt(Object input) {
    long chars = input instanceof String s ? s.length() : input.toString().length();
    return Math.max(1, chars / CHARS_PER_TOKEN);
  }
}
