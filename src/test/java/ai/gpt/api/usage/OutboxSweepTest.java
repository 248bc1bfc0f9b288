package ai.gpt.api.usage;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.Sleep;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The outbox sweep SCANs the masters on the gateway's pooled clients, whose commands carry no deadline of their own:
 * a step that never answers (a half-open connection, a stalled node) must time out, or the sweep would stay busy and
 * no pass would ever run again, leaving every event whose copy was lost in its outbox.
 */
@ExtendWith(VertxExtension.class)
class OutboxSweepTest {
  @Test
  @DisplayName("a SCAN step a master never answers times out and the sweep goes on with its next steps")
  void hungScanDoesNotStopTheSweep(Vertx vertx) throws Exception {
    // A "master" that lets the client connect (HELLO refused: the client checks RESP2 with a PING) and then never
    // answers.
    AtomicInteger scans = new AtomicInteger();
    NetServer silent = vertx.createNetServer().connectHandler(socket -> socket.handler(data -> {
      String text = data.toString().toUpperCase(java.util.Locale.ROOT);
      if (text.contains("HELLO")) {
        socket.write(Buffer.buffer("-ERR unknown command 'HELLO'\r\n"));
      } else if (text.contains("PING")) {
        socket.write(Buffer.buffer("+PONG\r\n"));
      }
      for (int at = text.indexOf("SCAN"); at >= 0; at = text.indexOf("SCAN", at + 4)) {
        scans.incrementAndGet();
      }
    }));
    silent.listen(0, "127.0.0.1").await();
    Redis stalled = Redis.createClient(vertx, "redis://127.0.0.1:" + silent.actualPort());
    Redis redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    // Another test's writer may hold this interval's pass.
    redis.send(Request.cmd(Command.DEL).arg(OutboxSweep.LOCK)).await();
    Context context = vertx.getOrCreateContext();
    WriterConnection connection = new WriterConnection(redis, context, 5_000);
    UsageWriterMetrics metrics = UsageWriterMetrics.standalone("sweep-test");
    OutboxSweep sweep = new OutboxSweep(context, connection, "sweep-test", () -> Future.succeededFuture(List.of(stalled)), new OutboxRecovery(connection, 30_000, metrics), 60_000, 300, metrics);
    try {
      long deadline = System.currentTimeMillis() + 5_000;
      while (scans.get() < 3 && System.currentTimeMillis() < deadline) {
        context.runOnContext(v -> sweep.tick());
        Sleep.ms(100);
      }
      assertTrue(scans.get() >= 3, "SCAN steps sent while the first was never answered: " + scans.get());
    } finally {
      redis.send(Request.cmd(Command.DEL).arg(OutboxSweep.LOCK)).await();
      connection.close();
      stalled.close();
      redis.close();
      silent.close().await();
    }
  }
}
