package ai.gpt.api.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** How the outbox sweep finds and reaches a Redis Cluster's masters (RedisClusterTest runs it on a real cluster). */
class ClusterMastersTest {
  @Test
  @DisplayName("CLUSTER NODES: masters serving slots, without failed ones, replicas or masters without slots")
  void mastersWithSlots() {
    String nodes = """
        07c37 127.0.0.1:30004@40004 slave e7d1e 0 1426238317239 4 connected
        67ed2 127.0.0.1:30002@40002 master - 0 1426238316232 2 connected 5461-10922
        292f8 127.0.0.1:30003@40003,redis-3.example master - 0 1426238318243 3 connected 10923-16383
        6ec23 127.0.0.1:30005@40005 master,fail - 1426238316232 0 5 disconnected 100
        824fe 127.0.0.1:30006@40006 master - 0 1426238317741 6 connected
        e7d1e 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460
        """;
    assertEquals(List.of("127.0.0.1:30002", "127.0.0.1:30003", "127.0.0.1:30001"),
        ClusterMasters.mastersWithSlots(nodes));
  }

  @Test
  @DisplayName("a master is reached with the seed URL's scheme, credentials and path")
  void nodeUrl() {
    assertEquals("rediss://:pw@10.0.0.7:6380/0", ClusterMasters.nodeUrl("rediss://:pw@redis-0.redis:6379/0", "10.0.0.7:6380"));
    assertEquals("redis://127.0.0.1:7001", ClusterMasters.nodeUrl("redis://127.0.0.1:7000", "127.0.0.1:7001"));
    assertEquals("redis://seed:7001", ClusterMasters.nodeUrl("redis://seed:7000", ":7001"));
  }
}
