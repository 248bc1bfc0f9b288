package ai.gpt.api.usage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.limits.RedisScript;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * outbox_done_v2.lua against the real Redis: it removes exactly the written entries that still carry their request
 * id, whether they are the run at the outbox's head (one XTRIM), after an entry still waiting (XDEL), or beyond what
 * its one read from the head reaches (looked up one by one), and deletes the outbox once empty.
 */
@ExtendWith(VertxExtension.class)
class OutboxDoneTest {
  private Redis redis;
  private RedisScript done;
  private String outbox;

  @BeforeEach
  void start(Vertx vertx) {
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    done = RedisScript.load(vertx, redis, ChunkAcknowledger.OUTBOX_SCRIPT).await();
    outbox = RedisKeys.outbox(ThreadLocalRandom.current().nextLong(1_000_000, 1_000_000_000));
  }

  @AfterEach
  void stop() {
    redis.send(Request.cmd(Command.DEL).arg(outbox)).await();
    redis.close();
  }

  @Test
  @DisplayName("the written run at the head goes, an entry still waiting and a reused id stay, later written ones go")
  void removesExactlyTheWrittenEntries() {
    String waiting = add(1, 0, "req-waiting");
    List<String> ids = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      ids.add(add(2, i, "req-" + i));
    }
    String reused = add(3, 0, "req-other");

    // Behind an entry still waiting: removed by id; a gone id and an id now carrying another request are skipped.
    assertEquals(1, call(List.of(ids.get(1), "req-2", "9-9", "req-gone", reused, "req-was-here")));
    assertEquals(List.of(waiting, ids.get(0), ids.get(2), ids.get(3), ids.get(4), reused), entries());
    // The head's run (waiting, 1, 3; 2 is gone) is trimmed up to 4, which is not written; 5 is removed by id.
    assertEquals(4, call(List.of(ids.get(2), "req-3", waiting, "req-waiting", ids.get(4), "req-5", ids.get(0),
        "req-1")));
    assertEquals(List.of(ids.get(3), reused), entries());
    assertEquals(2, call(List.of(reused, "req-other", ids.get(3), "req-4")), "all written: trimmed whole");
    assertFalse(exists(), "the empty outbox is deleted");
  }

  @Test
  @DisplayName("written entries behind more than the script reads from the head are still found and removed")
  void beyondTheFirstRead() {
    List<String> waiting = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      waiting.add(add(1, i, "req-waiting-" + i));
    }
    String written = add(2, 0, "req-written");
    assertEquals(1, call(List.of(written, "req-written")));
    assertEquals(waiting, entries());
  }

  private String add(long ms, long seq, String requestId) {
    return redis.send(Request.cmd(Command.XADD).arg(outbox).arg(ms + "-" + seq).arg("request_id").arg(requestId)
        .arg("org_id").arg("1")).await().toString();
  }

  private long call(List<String> args) {
    return done.call(List.of(outbox), args).await().toLong();
  }

  private List<String> entries() {
    List<String> ids = new ArrayList<>();
    Response r = redis.send(Request.cmd(Command.XRANGE).arg(outbox).arg("-").arg("+")).await();
    for (Response e : r) {
      ids.add(e.get(0).toString());
    }
    return ids;
  }

  private boolean exists() {
    return redis.send(Request.cmd(Command.EXISTS).arg(outbox)).await().toInteger() == 1;
  }
}
