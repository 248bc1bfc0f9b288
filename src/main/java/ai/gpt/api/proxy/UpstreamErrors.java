package ai.gpt.api.proxy;

import ai.gpt.api.error.ApiError;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/**
 * Re-shapes llama.cpp's errors ({@code {"error":{"code":400,"message","type"}}}) as OpenAI's, keeping the
 * status and message so the client sees the backend's reason.
 */
final class UpstreamErrors {
  private UpstreamErrors() {}

  static ApiError from(int status, Buffer body) {
    String message = "The model backend answered HTTP " + status + ".";
    String type = status >= 500 ? "server_error" : "invalid_request_error";
    if (body != null && body.length() > 0) {
      try {
        JsonObject error = body.toJsonObject().getJsonObject("error");
        if (error != null) {
          message = error.getString("message", message);
          type = error.getString("type", type);
        }
      } catch (RuntimeException notJson) {
        // keep the generic message; a non-JSON error page says nothing useful to the client
      }
    }
    if (status >= 500) {
      type = "server_error";
    }
    return ApiError.fromUpstream(status, type, message);
  }
}
