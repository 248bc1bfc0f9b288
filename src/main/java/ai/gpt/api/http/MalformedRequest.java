package ai.gpt.api.http;

import ai.gpt.api.error.ApiError;
import io.netty.handler.codec.DecoderException;

/** Why {@link StrictRequestDecoder} refused a request head; carried as the request's decoder failure. */
final class MalformedRequest extends DecoderException {
  private final transient ApiError error;

  private MalformedRequest(ApiError error) {
    super(error.getMessage());
    this.error = error;
  }

  /** Framing a proxy in front of us could read differently (smuggling shapes): 400. */
  static MalformedRequest badFraming(String message) {
    return new MalformedRequest(ApiError.malformedHttp(400, "invalid_http_request", message));
  }

  /** A transfer coding other than chunked: 501, as RFC 9112 asks. */
  static MalformedRequest unsupportedCoding(String coding) {
    return new MalformedRequest(ApiError.malformedHttp(501, "unsupported_transfer_encoding",
        "Transfer-Encoding '" + (coding.length() > 40 ? coding.substring(0, 40) + "..." : coding) + "' is not supported; send Content-Length or Transfer-Encoding: chunked."));
  }

  /** A request line naming a protocol other than HTTP/1.0 or HTTP/1.1 (HTTP/1.2, HTTP/2.0, FOO/1.1): 505. */
  static MalformedRequest unsupportedVersion() {
    return new MalformedRequest(ApiError.malformedHttp(505, "http_version_not_supported",
        "Only HTTP/1.1 and HTTP/1.0 are supported."));
  }

  ApiError error() {
    return error;
  }

  @Override
  public synchronized Throwable fillInStackTrace() {
    return this; // an expected client error: the stack says nothing
  }
}
