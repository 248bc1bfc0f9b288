package ai.gpt.api.webhooks;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * A webhook URL taken apart for delivery: scheme, host, port and the request URI. Only what can be judged without
 * DNS is checked here; the address the host resolves to is judged by {@link Resolver} on every delivery.
 *
 * @param requestUri path and query, sent as is
 */
public record Destination(boolean https, String host, int port, String requestUri) {
  public static final int MAX_URL = 2048;

  /** @throws IllegalArgumentException with a message for the client, for a URL webhooks cannot use */
  public static Destination parse(String url, boolean allowLoopback) {
    if (url.length() > MAX_URL) {
      throw new IllegalArgumentException("is longer than " + MAX_URL + " characters");
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("is not a valid URL (" + e.getReason() + ")");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !(scheme.equals("http") && allowLoopback)) {
      throw new IllegalArgumentException("must be an https:// URL"
          + (allowLoopback ? " (or http:// to loopback)" : ""));
    }
    if (uri.getRawUserInfo() != null) {
      throw new IllegalArgumentException("must not contain a user name or password");
    }
    if (uri.getRawFragment() != null) {
      throw new IllegalArgumentException("must not contain a #fragment");
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("has no host name");
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    boolean https = scheme.equals("https");
    int port = uri.getPort() == -1 ? (https ? 443 : 80) : uri.getPort();
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("has a port outside 1-65535");
    }
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    return new Destination(https, host.toLowerCase(Locale.ROOT), port,
        uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery());
  }
}
