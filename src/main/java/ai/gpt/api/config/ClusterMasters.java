package ai.gpt.api.config;

import ai.gpt.api.usage.RedisMasters;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The masters of a Redis Cluster, each reached with a small client of its own (one connection), for the commands
 * that concern a node rather than a key: the cluster client sends a keyless command to one node of its choice.
 * The topology is read with {@code CLUSTER NODES} through the cluster client at every call; each master is reached
 * with the seed URL's scheme, credentials and options, its address replaced.
 */
public final class ClusterMasters implements RedisMasters {
  private final Vertx vertx;
  private final Redis cluster;
  private final String seedUrl;
  private final Map<String, Redis> clients = new ConcurrentHashMap<>();

  /** @param seedUrl one node URL of REDIS_URL (scheme, user, password and options are taken from it) */
  public ClusterMasters(Vertx vertx, Redis cluster, String seedUrl) {
    this.vertx = vertx;
    this.cluster = cluster;
    this.seedUrl = seedUrl;
  }

  @Override
  public Future<List<Redis>> masters() {
    return cluster.send(Request.cmd(Command.CLUSTER).arg("NODES")).map(reply -> {
      List<Redis> out = new ArrayList<>();
      for (String address : mastersWithSlots(reply.toString())) {
        out.add(clients.computeIfAbsent(address, a -> Redis.createClient(vertx,
            new RedisOptions().setConnectionString(nodeUrl(seedUrl, a)).setMaxPoolSize(1).setMaxPoolWaiting(16))));
      }
      return out;
    });
  }

  @Override
  public void close() {
    clients.values().forEach(Redis::close);
    clients.clear();
  }

  /**
   * {@code host:port} of every master that serves slots, from {@code CLUSTER NODES} ({@code <id> <ip:port@cport>
   * <flags> <master> <ping> <pong> <epoch> <link> <slot>…}); failed masters are left out.
   */
  static List<String> mastersWithSlots(String nodes) {
    List<String> out = new ArrayList<>();
    for (String line : nodes.split("\n")) {
      String[] f = line.trim().split(" ");
      if (f.length < 9) {
        continue; // no slots
      }
      List<String> flags = List.of(f[2].split(","));
      if (!flags.contains("master") || flags.contains("fail") || flags.contains("noaddr")) {
        continue;
      }
      String address = f[1];
      int at = address.indexOf('@');
      out.add(at < 0 ? address : address.substring(0, at));
    }
    return out;
  }

  /** {@code url} with its host and port replaced by {@code hostPort}. */
  static String nodeUrl(String url, String hostPort) {
    try {
      URI seed = new URI(url);
      int colon = hostPort.lastIndexOf(':');
      String host = hostPort.substring(0, colon);
      int port = Integer.parseInt(hostPort.substring(colon + 1));
      return new URI(seed.getScheme(), seed.getRawUserInfo() == null ? null : seed.getUserInfo(),
          host.isEmpty() ? seed.getHost() : host, port, seed.getPath(), seed.getQuery(), null).toString();
    } catch (URISyntaxException | RuntimeException e) {
      throw new IllegalArgumentException("cannot address Redis node " + hostPort + " like " + url, e);
    }
  }
}
