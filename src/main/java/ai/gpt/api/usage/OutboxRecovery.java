package ai.gpt.api.usage;

import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.usage.StreamReplies.Entry;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies to its shard's usage stream every event of one organization's outbox whose copy never arrived: the gateway
 * died, or Redis failed, between the settlement and its copy ({@code ai.gpt.api.limits.ShardForwarder}), or the
 * gateway died before its own writer stored the event handed to it in memory ({@link UsageHandoff}; normally
 * stored within the flush interval, and kept in memory across failed writes, so only a process's death, or a
 * PostgreSQL outage longer than the grace period, leaves one to copy). An entry is
 * copied again only when it is older than the grace period, and older by half of it than the oldest entry still in
 * the shard stream. The first copy is sent at once after the settlement (and given up on after 2 s), so if it was
 * made, it is younger than its outbox entry by far less than half the grace period: were it still waiting in the
 * stream, the stream's oldest entry would be no younger than that, so a writer that is merely behind does not get
 * every event twice. (Comparing with the whole grace period would hold back every entry under steady load, when
 * the stream always holds the last few milliseconds' events.) A copy made twice anyway (its commit done, the outbox delete lost) is harmless: the
 * writer stores each request id once, and deletes the outbox entry again.
 */
final class OutboxRecovery {
  // Under the writer's name, like all its log lines, so one logger setting covers the writer.
  private static final Logger LOG = LoggerFactory.getLogger(UsageWriter.class);
  /** Outbox entries looked at per call; an organization with more is looked at again on the next tick. */
  static final int PAGE = 100;

  private final WriterConnection redis;
  private final long graceMs;
  private final UsageWriterMetrics metrics;

  OutboxRecovery(WriterConnection redis, long graceMs, UsageWriterMetrics metrics) {
    this.redis = redis;
    this.graceMs = graceMs;
    this.metrics = metrics;
  }

  /**
   * Looks at the organization's oldest outbox entries and copies those whose copy never arrived. Completes with the
   * time (epoch ms) at which its outbox should be looked at again (entries too young to judge yet, more than one
   * page, or a writer still behind them), or 0 when nothing is left to judge.
   */
  Future<Long> recover(long orgId) {
    int shard = UsageStreams.shardOf(orgId);
    long now = System.currentTimeMillis();
    Request page = Request.cmd(Command.XRANGE).arg(RedisKeys.outbox(orgId)).arg("-").arg("+").arg("COUNT").arg(PAGE);
    return redis.send(page).compose(reply -> {
      List<Entry> old = new ArrayList<>();
      long again = 0;
      for (Entry e : StreamReplies.entries(reply, shard)) {
        if (e.idMillis() > now - graceMs) {
          again = e.idMillis() + graceMs;
          break;
        }
        old.add(e);
      }
      if (old.size() == PAGE) {
        again = now;
      }
      if (old.isEmpty()) {
        return Future.succeededFuture(again);
      }
      long recheck = again;
      String stream = UsageStreams.key(shard);
      return redis.send(Request.cmd(Command.XRANGE).arg(stream).arg("-").arg("+").arg("COUNT").arg(1))
          .compose(head -> {
            List<Entry> first = StreamReplies.entries(head, shard);
            long oldestQueued = first.isEmpty() ? Long.MAX_VALUE : first.get(0).idMillis();
            List<Request> copies = new ArrayList<>();
            long later = recheck;
            for (Entry e : old) {
              if (e.idMillis() + graceMs / 2 < oldestQueued) {
                copies.add(UsageStreams.copy(stream, e.fields(), e.id()));
              } else if (later == 0) {
                later = now + graceMs / 2; // the writer is behind this entry: judge it once it may have caught up
              }
            }
            long result = later;
            if (copies.isEmpty()) {
              return Future.succeededFuture(result);
            }
            return redis.batch(copies).map(v -> {
              metrics.recovered(copies.size());
              LOG.info("Copied {} usage event(s) of org {}'s outbox to {}: their first copy never arrived",
                  copies.size(), orgId, stream);
              return result;
            });
          });
    });
  }
}
