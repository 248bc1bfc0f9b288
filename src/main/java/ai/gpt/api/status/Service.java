package ai.gpt.api.status;

import java.util.List;

/** The services of the status page; {@link #id} names them in the API, in incidents and in the uptime history. */
public enum Service {
  CHAT_COMPLETIONS("chat_completions", "Chat completions"),
  EMBEDDINGS("embeddings", "Embeddings"),
  API("api", "Dashboard and account API"),
  BILLING("billing", "Billing");

  private final String id;
  private final String title;

  Service(String id, String title) {
    this.id = id;
    this.title = title;
  }

  public String id() {
    return id;
  }

  public String title() {
    return title;
  }

  /** The uptime-history component of this service. */
  String component() {
    return "service:" + id;
  }

  public static List<String> ids() {
    return java.util.Arrays.stream(values()).map(Service::id).toList();
  }
}
