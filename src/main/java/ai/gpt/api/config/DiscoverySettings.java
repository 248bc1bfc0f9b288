package ai.gpt.api.config;

import ai.gpt.api.input.WholeNumber;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * llama.cpp backends found by DNS (see README "Install on Kubernetes"): each BACKEND_DNS entry names a model and a
 * host name (a Kubernetes headless Service) whose A/AAAA records are the backend pods. The gateway resolves every
 * name each {@code intervalMs} and routes to exactly the addresses it got, so scaling the llama.cpp workload needs
 * no CLI call.
 *
 * @param targets    BACKEND_DNS: {@code model=host:port[,...]}, e.g. {@code gpt-fast=llama-gpt-fast.ai.svc.cluster.local:8080}
 * @param intervalMs BACKEND_DNS_INTERVAL_MS: how often each name is resolved again
 * @param apiKey     BACKEND_DNS_API_KEY: the {@code --api-key} the discovered llama-servers were started with, or null
 * @param slots      BACKEND_DNS_SLOTS: slots assumed for a new address until its first /slots poll answers
 * @param server     BACKEND_DNS_SERVER: {@code host:port} of the DNS server to ask, or null for the system's
 */
public record DiscoverySettings(List<Target> targets, long intervalMs, String apiKey, int slots, String server) {

  /** One model and the name whose addresses are its backends. */
  public record Target(String model, String host, int port) {}

  public static DiscoverySettings from(Env env) {
    List<Target> targets = targets(env.get("BACKEND_DNS"));
    long interval = GatewayConfig.positiveLong(env, "BACKEND_DNS_INTERVAL_MS", 5_000);
    long slots = GatewayConfig.positiveLong(env, "BACKEND_DNS_SLOTS", 4);
    if (slots > 1024) {
      throw new ConfigException("BACKEND_DNS_SLOTS", "must be at most 1024");
    }
    String server = env.get("BACKEND_DNS_SERVER");
    if (server != null) {
      hostPort("BACKEND_DNS_SERVER", server);
    }
    return new DiscoverySettings(targets, interval, env.get("BACKEND_DNS_API_KEY"), (int) slots, server);
  }

  public boolean enabled() {
    return !targets.isEmpty();
  }

  static List<Target> targets(String value) {
    List<Target> out = new ArrayList<>();
    if (value == null) {
      return out;
    }
    Set<String> seen = new HashSet<>();
    for (String entry : value.split(",")) {
      String e = entry.strip();
      if (e.isEmpty()) {
        continue;
      }
      int eq = e.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException("BACKEND_DNS",
            "entries must look like gpt-fast=llama-gpt-fast.ai.svc.cluster.local:8080, got '" + e + "'");
      }
      Target t = hostPort("BACKEND_DNS", e.substring(eq + 1).strip(), e.substring(0, eq).strip());
      if (!seen.add(t.model() + '|' + t.host() + ':' + t.port())) {
        throw new ConfigException("BACKEND_DNS", "names " + t.host() + ":" + t.port() + " twice for " + t.model());
      }
      out.add(t);
    }
    return List.copyOf(out);
  }

  private static void hostPort(String name, String value) {
    hostPort(name, value, "-");
  }

  private static Target hostPort(String name, String value, String model) {
    int colon = value.lastIndexOf(':');
    String host = colon > 0 ? value.substring(0, colon) : "";
    long port = -1;
    if (colon > 0) {
      try {
        port = WholeNumber.parse(value.substring(colon + 1), 1, 65535);
      } catch (IllegalArgumentException e) {
        port = -1;
      }
    }
    // A DNS name: letters, digits, hyphens and dots (at most 253 characters); no scheme, path or credentials.
    if (!host.matches("[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9.])?") || port < 0) {
      throw new ConfigException(name, "needs host:port (a DNS name and a port 1-65535), got '" + value + "'");
    }
    return new Target(model, host, (int) port);
  }
}
