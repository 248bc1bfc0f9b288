package ai.gpt.api.limits;

import java.util.ArrayList;
import java.util.List;

/**
 * One enforced limit: whose (org or key), what (requests or tokens) and over which window. An admission touches
 * one bucket per non-null limit value.
 */
public record Bucket(Scope scope, Kind kind, Window window) {
  /** Every possible bucket: org before key, requests before tokens, shortest window first. */
  public static final List<Bucket> ALL = all();

  private static List<Bucket> all() {
    List<Bucket> all = new ArrayList<>();
    for (Scope scope : Scope.values()) {
      for (Kind kind : Kind.values()) {
        for (Window window : Window.values()) {
          all.add(new Bucket(scope, kind, window));
        }
      }
    }
    return List.copyOf(all);
  }

  public enum Scope {
    ORG("org"),
    KEY("key");

    private final String code;

    Scope(String code) {
      this.code = code;
    }

    public String code() {
      return code;
    }
  }

  public enum Kind {
    REQUESTS("req", "requests"),
    TOKENS("tok", "tokens");

    private final String code;
    private final String word;

    Kind(String code, String word) {
      this.code = code;
      this.word = word;
    }

    public String code() {
      return code;
    }

    public String word() {
      return word;
    }
  }

  /** The window's name for error messages, e.g. {@code "requests per minute (key)"}. */
  public String label() {
    return kind.word() + " per " + window.word() + " (" + scope.code() + ")";
  }
}
