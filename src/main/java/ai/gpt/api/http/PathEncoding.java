package ai.gpt.api.http;

import ai.gpt.api.error.ApiError;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * Refuses a request path or query string with a broken percent-escape ({@code /%zz}, {@code ?a=%zz}, a lone
 * {@code %}) with 400 before any route decodes it: the static file handler, path parameters and query parameters
 * would otherwise fail on it as a server error (a route with path parameters decodes the query while matching).
 */
final class PathEncoding implements Handler<RoutingContext> {
  @Override
  public void handle(RoutingContext ctx) {
    String query = ctx.request().query();
    if (!valid(ctx.request().path())) {
      ctx.fail(ApiError.invalidRequest("The request path contains an invalid percent-escape.", null));
    } else if (query != null && !valid(query)) {
      ctx.fail(ApiError.invalidRequest("The query string contains an invalid percent-escape.", null));
    } else {
      ctx.next();
    }
  }

  static boolean valid(String path) {
    if (path == null) {
      return false;
    }
    for (int i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i + 1)) {
      if (i + 2 >= path.length() || !isHex(path.charAt(i + 1)) || !isHex(path.charAt(i + 2))) {
        return false;
      }
    }
    return true;
  }

  private static boolean isHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
}
