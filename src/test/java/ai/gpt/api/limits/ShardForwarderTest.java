package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.testing.Sleep;
import ai.gpt.api.testing.TcpProxy;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.usage.UsageStreams;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import java.net.URI;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** A live gateway's usage copies reach the shard stream once Redis answers again, without the outbox sweep. */
@ExtendWith(VertxExtension.class)
class ShardForwarderTest {
  private static final long ORG = 42;

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  @DisplayName("copies Redis refused while its connection was cut are sent again when it answers")
  void failedCopiesAreSentAgain(Vertx vertx) {
    TestServices.flushRedis(vertx);
    URI direct = URI.create(TestServices.REDIS_URL);
    TcpProxy proxy = TcpProxy.start(vertx, direct.getHost(), direct.getPort()).await();
    Redis viaProxy = Redis.createClient(vertx, new RedisOptions()
        .setConnectionString("redis://127.0.0.1:" + proxy.port() + direct.getPath()));
    Redis redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    try {
      ShardForwarder forwarder = new ShardForwarder(vertx, viaProxy);
      proxy.cut();
      for (int i = 0; i < 5; i++) {
        forwarder.forward(ORG, UsageStreams.fields("r" + i, Long.toString(ORG), "1,1,chat,1,1,0,1,200,0,1,1,gpt-fast",
            "1700000000000"), "1700000000000-" + i);
      }
      Sleep.ms(1_500); // at least one refused attempt and one retry while cut
      assertEquals(0, length(redis), "nothing arrives while Redis is cut off");
      proxy.restore();
      forwarder.idle().await();
      assertEquals(5, length(redis), "every refused copy arrived once Redis answered");
    } finally {
      viaProxy.close();
      redis.close();
      proxy.close().await();
    }
  }

  private static long length(Redis redis) {
    return redis.send(Request.cmd(Command.XLEN).arg(UsageStreams.keyForOrg(ORG))).await().toLong();
  }

}
