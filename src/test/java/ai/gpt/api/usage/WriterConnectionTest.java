package ai.gpt.api.usage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.extension.ExtendWith;

/** The usage writer's own connection against the real Redis, with one connection that dies unnoticed. */
@ExtendWith(VertxExtension.class)
class WriterConnectionTest {

  @Test
  @DisplayName("a connection closed before anyone heard of it (cut as it opened) is dropped after its first failed"
      + " command, and the next command reconnects")
  void deadConnectionIsReplaced(Vertx vertx) {
    Redis real = Redis.createClient(vertx, TestServices.REDIS_URL);
    AtomicInteger connects = new AtomicInteger();
    // The first connection the writer gets is already closed, and its end and exception handlers never run: what a
    // proxy's cut right after the connect looked like in the chaos run (the writer then failed every command with
    // "Connection is closed" until the process restarted).
    Redis cutOnce = (Redis) Proxy.newProxyInstance(Redis.class.getClassLoader(), new Class<?>[] {Redis.class},
        (proxy, method, args) -> {
          if (method.getName().equals("connect")) {
            return connects.getAndIncrement() == 0 ? Future.succeededFuture(closedConnection()) : real.connect();
          }
          return method.invoke(real, args);
        });
    WriterConnection connection = new WriterConnection(cutOnce, vertx.getOrCreateContext(), 2_000);
    try {
      Future<?> first = connection.send(Request.cmd(Command.PING));
      first.otherwiseEmpty().await();
      assertTrue(first.failed(), "the dead connection fails its command");
      assertEquals("PONG", connection.send(Request.cmd(Command.PING)).await().toString(), "reconnected");
      assertEquals(2, connects.get());
    } finally {
      connection.close();
      real.close();
    }
  }

  private static RedisConnection closedConnection() {
    return (RedisConnection) Proxy.newProxyInstance(RedisConnection.class.getClassLoader(),
        new Class<?>[] {RedisConnection.class}, (proxy, method, args) -> switch (method.getName()) {
          case "send", "batch" -> Future.failedFuture("Connection is closed");
          case "close" -> Future.succeededFuture();
          default -> method.getReturnType().isInstance(proxy) ? proxy : null;
        });
  }
}
