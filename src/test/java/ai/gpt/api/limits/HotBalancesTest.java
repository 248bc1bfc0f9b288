package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class HotBalancesTest {
  private LimiterFixture f;

  @AfterEach
  void stop() {
    f.close();
  }

  @Test
  @DisplayName("reconciliation at start drops every hot balance, and nothing else")
  void dropsBalancesOnly(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(1234);
    String otherOrg = RedisKeys.balance(f.org + 17); // another shard
    String holds = RedisKeys.holds(f.org);
    f.redis.send(Request.cmd(Command.SET).arg(otherOrg).arg(5)).await();
    f.redis.send(Request.cmd(Command.HSET).arg(holds).arg("_total").arg(7)).await();
    try {
      int dropped = HotBalances.reconcile(f.redis).await();
      assertEquals(true, dropped >= 2, "dropped " + dropped);
      assertNull(f.balance());
      assertNull(f.redis.send(Request.cmd(Command.GET).arg(otherOrg)).await());
      assertNotNull(f.redis.send(Request.cmd(Command.HGET).arg(holds).arg("_total")).await(), "holds are kept");
    } finally {
      f.redis.send(Request.cmd(Command.DEL).arg(otherOrg).arg(holds)).await();
    }
  }
}
