package ai.gpt.api.error;

import io.vertx.core.json.JsonObject;

/**
 * A failure the client should see, carrying everything needed to render OpenAI's error JSON:
 * {@code {"error":{"message","type","param","code"}}}. Thrown or passed to {@code ctx.fail}; the one
 * failure handler turns it into a response.
 */
public final class ApiError extends RuntimeException {
  private final int status;
  private final String type;
  private final String code;
  private final String param;
  private final Long retryAfterMs;

  private ApiError(int status, String type, String code, String param, String message, Long retryAfterMs) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
    this.retryAfterMs = retryAfterMs;
  }

  public static ApiError invalidRequest(String message, String param) {
    return new ApiError(400, "invalid_request_error", null, param, message, null);
  }

  public static ApiError invalidJson() {
    return new ApiError(400, "invalid_request_error", "invalid_json", null,
        "We could not parse the JSON body of your request. The body must be a JSON object.", null);
  }

  public static ApiError invalidApiKey(String message) {
    return new ApiError(401, "invalid_request_error", "invalid_api_key", null, message, null);
  }

  public static ApiError modelNotAllowed(String model) {
    return new ApiError(403, "invalid_request_error", "model_not_allowed", "model",
        "This API key is not allowed to use the model '" + model + "'.", null);
  }

  public static ApiError modelNotFound(String model) {
    return new ApiError(404, "invalid_request_error", "model_not_found", "model",
        "The model '" + model + "' does not exist or you do not have access to it.", null);
  }

  public static ApiError notFound(String message) {
    return new ApiError(404, "invalid_request_error", "not_found", null, message, null);
  }

  public static ApiError methodNotAllowed() {
    return new ApiError(405, "invalid_request_error", "method_not_allowed", null,
        "This HTTP method is not supported on this path.", null);
  }

  public static ApiError bodyTooLarge(long limit) {
    return new ApiError(413, "invalid_request_error", "request_too_large", null,
        "The request body is larger than the limit of " + limit + " bytes.", null);
  }

  public static ApiError unsupportedMediaType() {
    return new ApiError(415, "invalid_request_error", "unsupported_media_type", null,
        "Send the request body as application/json.", null);
  }

  public static ApiError noHealthyBackend(String model) {
    return new ApiError(503, "server_error", "model_unavailable", null,
        "No backend is available for the model '" + model + "' right now. Please retry shortly.", 5_000L);
  }

  public static ApiError overloaded(String model) {
    return new ApiError(503, "server_error", "overloaded", null,
        "The model '" + model + "' is overloaded. Please retry shortly.", 2_000L);
  }

  /**
   * This gateway has more requests waiting for admission than it can take right now (a burst): not the client's
   * rate limit and not a dependency outage, so the client retries after a short wait.
   */
  public static ApiError gatewayOverloaded() {
    return new ApiError(503, "server_error", "gateway_overloaded", null, "This gateway is receiving more requests "
        + "than it can admit right now (this is not your rate limit). Please retry shortly.", 1_000L);
  }

  public static ApiError upstreamFailed(String message) {
    return new ApiError(502, "server_error", "upstream_error", null, message, null);
  }

  /** An error answered by llama-server itself, kept with its status and re-shaped as OpenAI's JSON. */
  public static ApiError fromUpstream(int status, String type, String message) {
    return new ApiError(status, type == null ? "server_error" : type, null, null, message, null);
  }

  /**
   * A rate limit tripped (429). OpenAI's shape: type names the kind ("requests" or "tokens"), code is
   * rate_limit_exceeded. retryAfterMs is null when waiting cannot help (the request exceeds the whole window).
   */
  public static ApiError rateLimited(String kind, String message, Long retryAfterMs) {
    return new ApiError(429, kind, "rate_limit_exceeded", null, message, retryAfterMs);
  }

  /** The organization's credit does not cover the request's maximum cost (402). */
  public static ApiError insufficientQuota(String message) {
    return new ApiError(402, "insufficient_quota", "insufficient_quota", null, message, null);
  }

  /** An error of the account API (/api): 4xx are invalid_request_error, with a stable code to branch on. */
  public static ApiError of(int status, String code, String message, String param) {
    return new ApiError(status, status >= 500 ? "server_error" : "invalid_request_error", code, param, message, null);
  }

  /** As {@link #of}, telling the client when to retry. */
  public static ApiError of(int status, String code, String message, long retryAfterMs) {
    return new ApiError(status, "invalid_request_error", code, null, message, retryAfterMs);
  }

  public static ApiError internal() {
    return new ApiError(500, "server_error", "internal_error", null,
        "The server had an error while processing your request.", null);
  }

  public static ApiError unavailable(String message) {
    return new ApiError(503, "server_error", "service_unavailable", null, message, 1_000L);
  }

  /** The client connection limit of this replica is reached (the connection is refused and closed). */
  public static ApiError connectionLimit() {
    return new ApiError(503, "server_error", "overloaded",
        null, "The server has too many open connections. Please retry shortly.", 1_000L);
  }

  /** The request was not complete (head or body) within its deadline; the connection is closed. */
  public static ApiError requestTimeout(String message) {
    return new ApiError(408, "invalid_request_error", "request_timeout", null, message, null);
  }

  /**
   * A request that is not acceptable HTTP/1.1 (malformed framing, too long a line or head, an unsupported
   * transfer coding), refused before it reaches any route.
   */
  public static ApiError malformedHttp(int status, String code, String message) {
    return new ApiError(status, status >= 500 ? "server_error" : "invalid_request_error", code, null, message, null);
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }

  /** Whole seconds for the Retry-After header (rounded up, at least 1); null when retrying is not advised. */
  public Long retryAfterSeconds() {
    return retryAfterMs == null ? null : Math.max(1, (retryAfterMs + 999) / 1000);
  }

  /** The exact wait, for OpenAI's {@code retry-after-ms} header (which its SDKs prefer); null if none. */
  public Long retryAfterMs() {
    return retryAfterMs;
  }

  public JsonObject toJson() {
    JsonObject error = new JsonObject()
        .put("message", getMessage())
        .put("type", type)
        .put("param", param)
        .put("code", code);
    return new JsonObject().put("error", error);
  }
}
