package ai.gpt.api.catalog;

import java.net.URI;

/**
 * The one rule for a backend's base URL typed by an operator (admin API, CLI, BACKENDS): http(s)://host[:port][/path]
 * and nothing else. Credentials, a query or a fragment are refused: the URL is stored in plain text and shown in
 * audit rows, admin views and CLI listings, while the backend's key has its own field that is never shown.
 */
public final class BackendUrl {
  private BackendUrl() {}

  /** Why {@code url} is not acceptable, as a sentence naming {@code name}; null when it is. */
  public static String problem(String url, String name) {
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      return name + " is not a URL: " + e.getMessage();
    }
    if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
      return name + " must be http(s)://host[:port], got '" + url + "'.";
    }
    if (uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
      return name + " must not carry credentials, a query or a fragment; give the backend's key as its API key.";
    }
    return null;
  }
}
