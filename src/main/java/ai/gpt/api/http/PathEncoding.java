package ai.gpt.api.http;

import ai.gpt.api.error.ApiError;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * Refuses a request path with a broken percent-escape ({@code /%zz}, a lone {@code %}) with 400 before any route
 * decodes it: the static file handler and path parameters would otherwise fail on it as a server error.
 */
final class PathEncoding implements Handler<RoutingContext> {
  @Override
  public void handle(RoutingContext ctx) {
    if (valid(ctx.request().path())) {
      ctx.next();
    } else {
      ctx.fail(ApiError.invalidRequest("The request path contains an invalid percent-escape.", null));
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
