package ai.gpt.api.routing;

import ai.gpt.api.catalog.BackendDefinition;
import ai.gpt.api.config.DiscoverySettings;
import ai.gpt.api.config.DiscoverySettings.Target;
import ai.gpt.api.metrics.GatewayMetrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.dns.DnsClient;
import io.vertx.core.dns.DnsClientOptions;
import io.vertx.core.dns.DnsException;
import io.vertx.core.dns.DnsResponseCode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds llama.cpp backends by DNS: every BACKEND_DNS name (a Kubernetes headless Service, whose records are its
 * ready pods) is resolved each interval with Vert.x's asynchronous DNS client, never blocking an event loop, and the
 * routing table gets exactly the addresses seen. A new address is probed at once by the health checker; a vanished
 * one leaves rotation (requests already on it finish). A failed lookup (timeout, SERVFAIL) keeps the addresses of the
 * last good answer, so a DNS hiccup never empties a pool; NXDOMAIN or an empty answer means no pods, and empties it.
 *
 * <p>Discovered backends get negative ids (the table's are positive) derived from model and address, so every
 * replica gives a pod the same id (metric labels, the status page's components) and a pod keeps it while it lives.
 */
public final class DnsDiscovery extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(DnsDiscovery.class);
  private static final long QUERY_TIMEOUT_MS = 2_000;

  private final DiscoverySettings settings;
  private final BackendRegistry registry;
  private final GatewayMetrics metrics;
  /** The addresses of each target's last good answer. */
  private final Map<Target, TreeSet<String>> seen = new HashMap<>();
  /** Targets whose last lookup failed: logged once when it starts failing and once when it recovers. */
  private final Set<Target> failing = new HashSet<>();
  private DnsClient dns;
  private boolean resolving;

  public DnsDiscovery(DiscoverySettings settings, BackendRegistry registry, GatewayMetrics metrics) {
    this.settings = settings;
    this.registry = registry;
    this.metrics = metrics;
  }

  @Override
  public Future<?> start() {
    DnsClientOptions options = new DnsClientOptions().setQueryTimeout(QUERY_TIMEOUT_MS);
    if (settings.server() != null) { // else the system's resolver (the cluster DNS in a pod)
      int colon = settings.server().lastIndexOf(':');
      options.setHost(settings.server().substring(0, colon))
          .setPort(Integer.parseInt(settings.server().substring(colon + 1)));
    }
    dns = vertx.createDnsClient(options);
    vertx.setPeriodic(settings.intervalMs(), id -> resolveAll());
    // The first answer before the gateway takes traffic, so a fresh pod routes from its first request.
    return resolveAll();
  }

  @Override
  public Future<?> stop() {
    return dns.close();
  }

  private Future<Void> resolveAll() {
    if (resolving) {
      return Future.succeededFuture(); // the previous round is still waiting on a slow DNS server
    }
    resolving = true;
    List<Future<Void>> rounds = new ArrayList<>();
    for (Target target : settings.targets()) {
      rounds.add(addresses(target.host()).compose(found -> {
        seen.put(target, new TreeSet<>(found));
        if (failing.remove(target)) {
          LOG.info("Resolved {} for {} again: {} addresses", target.host(), target.model(), found.size());
        }
        return Future.<Void>succeededFuture();
      }, err -> {
        metrics.dnsLookupFailed(target.model());
        if (failing.add(target)) {
          LOG.warn("Could not resolve {} for {} (keeping {} known addresses until it resolves): {}", target.host(),
              target.model(), seen.getOrDefault(target, new TreeSet<>()).size(), err.getMessage());
        }
        return Future.succeededFuture();
      }));
    }
    return Future.join(rounds).<Void>mapEmpty().otherwiseEmpty().onComplete(ar -> {
      resolving = false;
      publish();
    });
  }

  /** A records, else AAAA records; NXDOMAIN is an empty answer (a headless Service with no ready pod). */
  private Future<List<String>> addresses(String host) {
    return dns.resolveA(host)
        .compose(v4 -> v4.isEmpty() ? dns.resolveAAAA(host).map(v6 -> v6.stream().map(a -> "[" + a + "]").toList())
            : Future.succeededFuture(v4))
        .recover(err -> err instanceof DnsException e && e.code() == DnsResponseCode.NXDOMAIN
            ? Future.succeededFuture(List.of()) : Future.failedFuture(err));
  }

  private void publish() {
    List<BackendDefinition> definitions = new ArrayList<>();
    for (Target target : settings.targets()) {
      for (String address : seen.getOrDefault(target, new TreeSet<>())) {
        String url = "http://" + address + ":" + target.port();
        definitions.add(new BackendDefinition(id(target.model(), url), target.model(), url, settings.apiKey(),
            settings.slots(), 1, false));
      }
    }
    registry.applyDiscovered(definitions);
  }

  /** A negative id from the model and URL: the same on every replica (63 bits of a name-based UUID). */
  static long id(String model, String url) {
    long bits = UUID.nameUUIDFromBytes((model + '|' + url).getBytes(StandardCharsets.UTF_8))
        .getMostSignificantBits() & Long.MAX_VALUE;
    return -Math.max(1, bits);
  }
}
