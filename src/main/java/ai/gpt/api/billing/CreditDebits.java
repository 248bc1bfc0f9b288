package ai.gpt.api.billing;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.limits.BalanceLoader;
import ai.gpt.api.limits.BalanceLoads;
import ai.gpt.api.limits.LimiterSettings;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.limits.RedisScript;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.SqlConnection;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every debit that is not a usage settlement (a transfer out, an admin deduction, later refunds and disputes)
 * goes through here, so that "available = balance − holds − queued usage" is decided in ONE place: the Redis
 * hot balance (already net of queued usage) minus the holds of requests in flight, the same check admission makes.
 *
 * <ol>
 *   <li>{@code debit_hold_v1.lua} places a hold {@code debit:<idempotency key>} for the amount, atomically with
 *       admissions, or refuses with 402 insufficient_quota;</li>
 *   <li>the caller's PostgreSQL transaction writes the ledger rows;</li>
 *   <li>{@code debit_end_v1.lua} removes the hold and takes the amount from the hot balance (or drops it to be
 *       reloaded, when it was reloaded meanwhile); if the transaction failed it only removes the hold.</li>
 * </ol>
 * Credits ({@link #credit}) add to the hot balance the same way, without a hold.
 * A crash between the steps leaves a hold that expires after {@link #HOLD_TTL_MS}; admission then drops the hot
 * balance, since only the ledger knows whether the debit happened. The transaction is bounded by
 * {@link #boundTransaction} well below that TTL, so it cannot commit after its hold is gone.
 */
public final class CreditDebits {
  private static final Logger LOG = LoggerFactory.getLogger(CreditDebits.class);
  public static final String HOLD_SCRIPT = "lua/debit_hold_v1.lua";
  public static final String END_SCRIPT = "lua/debit_end_v1.lua";
  /** How long a debit may take from its hold to its end before admission treats its outcome as unknown. */
  public static final long HOLD_TTL_MS = 60_000;
  /** Per statement; a debit's transaction runs a handful of statements, far below {@link #HOLD_TTL_MS}. */
  private static final String BOUND = "SET LOCAL statement_timeout = 5000";

  /** Retries of a failed end, spread over less than a hold's TTL. */
  private static final long END_RETRY_MS = 1_000;
  private static final int END_RETRIES = 50;
  /** How long a debit waits for another with the same key to end before answering 409, and how often it looks. */
  private static final long IN_PROGRESS_WAIT_MS = 5_000;
  private static final long IN_PROGRESS_POLL_MS = 200;
  /** A generation that never matches: {@code debit_end_v1.lua} then drops the hot balance instead of adjusting it. */
  private static final String UNKNOWN_GENERATION = "";

  private final Vertx vertx;
  private final Redis redis;
  private final RedisScript hold;
  private final RedisScript end;
  private final BalanceLoads balances;
  private final LimiterSettings settings;

  private CreditDebits(Vertx vertx, Redis redis, RedisScript hold, RedisScript end, BalanceLoads balances,
      LimiterSettings settings) {
    this.vertx = vertx;
    this.redis = redis;
    this.hold = hold;
    this.end = end;
    this.balances = balances;
    this.settings = settings;
  }

  /**
   * Loads both scripts (classpath read on a worker, then SCRIPT LOAD).
   *
   * @param loader the hot balance's loader, the same as admission's (ledger net of queued usage)
   */
  public static Future<CreditDebits> create(Vertx vertx, Redis redis, BalanceLoader loader,
      LimiterSettings settings) {
    Future<RedisScript> hold = RedisScript.load(vertx, redis, HOLD_SCRIPT);
    Future<RedisScript> end = RedisScript.load(vertx, redis, END_SCRIPT);
    return Future.all(hold, end).map(v -> new CreditDebits(vertx, redis, hold.result(), end.result(),
        new BalanceLoads(vertx, loader), settings));
  }

  /** The first statement of a debit's transaction: it must end (commit or fail) long before its hold expires. */
  public static Future<Void> boundTransaction(SqlConnection tx) {
    return tx.query(BOUND).execute().mapEmpty();
  }

  /**
   * Debits {@code micros} (> 0) from the organization: holds it against the available credit, runs {@code write}
   * (a transaction that starts with {@link #boundTransaction} and writes the ledger rows, or finds them already
   * written under the same idempotency key), then ends the hold. Callers answer a replay they can detect before
   * calling this without holding anything.
   *
   * @param applied whether the write made the rows (false: a concurrent call with the same key made them first)
   * @throws ApiError 402 insufficient_quota (nothing held, nothing written), 409 when another debit (another
   *     amount) under the same key still holds after {@link #IN_PROGRESS_WAIT_MS}
   */
  public <T> Future<T> debit(long orgId, long micros, String idempotencyKey, Supplier<Future<T>> write,
      Predicate<T> applied) {
    return debit(orgId, micros, idempotencyKey, write, applied, "");
  }

  /**
   * As {@link #debit}, but never refused for lack of credit: for money that has already left (a Stripe refund),
   * so the balance may go negative and admission then answers 402. It still holds and ends like any debit, so
   * the hot balance stays exact and concurrent admissions see the hold.
   */
  public <T> Future<T> debitAllowingOverdraft(long orgId, long micros, String idempotencyKey,
      Supplier<Future<T>> write, Predicate<T> applied) {
    return debit(orgId, micros, idempotencyKey, write, applied, "overdraft");
  }

  private <T> Future<T> debit(long orgId, long micros, String idempotencyKey, Supplier<Future<T>> write,
      Predicate<T> applied, String mode) {
    String holdId = "debit:" + idempotencyKey;
    return place(orgId, micros, holdId, mode, System.currentTimeMillis() + IN_PROGRESS_WAIT_MS)
        .compose(hold -> write.get()
            .compose(result -> end(orgId, holdId, applied.test(result) ? -micros : 0, hold.generation()).map(result),
                // A failed write releases its own hold; one taken over may still be its owner's, whose debit may
                // yet commit: it is left to its owner's end or to its expiry (which drops the hot balance).
                err -> (hold.placedHere() ? end(orgId, holdId, 0, UNKNOWN_GENERATION) : Future.<Void>succeededFuture())
                    .compose(v -> Future.failedFuture(err))));
  }

  /**
   * The hold a debit goes on under: placed by this call (with the generation it saw), or taken over from an earlier
   * attempt with the same key ({@link #takeOver}; generation unknown).
   */
  private record Hold(String generation, boolean placedHere) {}

  /**
   * Credits {@code micros} (> 0): runs {@code write} (the ledger transaction), then adds the amount to the hot
   * balance if it is still the incarnation read before the write, else drops it to be reloaded.
   */
  public <T> Future<T> credit(long orgId, long micros, Supplier<Future<T>> write, Predicate<T> applied) {
    return redis.send(Request.cmd(Command.GET).arg(RedisKeys.balanceGeneration(orgId)))
        .map(gen -> gen == null ? "0" : gen.toString())
        .otherwise(UNKNOWN_GENERATION) // the balance will be dropped
        .compose(generation -> write.get().compose(result -> applied.test(result)
            ? end(orgId, "", micros, generation).map(result) : Future.succeededFuture(result)));
  }

  /**
   * Places the hold; the generation it was placed at, or the refusal. A hold already there under the same key
   * belongs to a debit still running (here or on another replica), to an attempt whose answer was lost and whose
   * release is being retried (every {@link #END_RETRY_MS}), or to a replica that died mid-debit (it stays until it
   * expires, {@link #HOLD_TTL_MS}): a client's retry of the same debit waits for it to go, polling until
   * {@code waitUntil}, and then takes it over ({@link #takeOver}).
   */
  private Future<Hold> place(long orgId, long micros, String holdId, String mode, long waitUntil) {
    return balances.call(orgId, (balance, generation) -> hold.call(keys(orgId), List.of(holdId,
            Long.toString(micros), Long.toString(HOLD_TTL_MS), Long.toString(settings.balanceTtlMs()), balance,
            generation, mode)))
        .recover(err -> {
          // Redis (or the ledger, to load the balance) is unreachable: the debit cannot be checked, so it waits.
          LOG.warn("Could not hold a debit of organization {}: {}", orgId, err.toString());
          if (RedisScript.mayHaveRun(err)) {
            // The hold may be in place with only its answer lost: release it now (retried until Redis confirms),
            // or it would block that much credit until it expired.
            end(orgId, holdId, 0, UNKNOWN_GENERATION);
          }
          return Future.failedFuture(creditUnavailable());
        })
        .compose(resp -> {
          if (!"in_progress".equals(resp.get(0).toString())) {
            return held(resp, micros).map(generation -> new Hold(generation, true));
          }
          return System.currentTimeMillis() < waitUntil
              ? vertx.timer(IN_PROGRESS_POLL_MS).compose(t -> place(orgId, micros, holdId, mode, waitUntil))
              : takeOver(orgId, holdId, micros);
        });
  }

  /**
   * The same key's hold outlived the wait: most likely its replica died mid-debit. If it holds exactly this amount
   * it already reserves this debit's credit, so the retry goes on under it, with the generation unknown: the ledger
   * write is idempotent by key (if the other attempt did or does commit, exactly one of them makes the rows and the
   * other answers them), and an end with an unknown generation releases the hold and drops the hot balance to be
   * reloaded from the ledger instead of adjusting it, whichever attempt ends first; only a write that succeeded
   * ends a hold taken over. A hold of another amount is another debit under the same key: 409.
   */
  private Future<Hold> takeOver(long orgId, String holdId, long micros) {
    return redis.send(Request.cmd(Command.HGET).arg(RedisKeys.holds(orgId)).arg(holdId)).compose(held -> {
      if (held == null || held.toLong() != micros) {
        return Future.failedFuture(ApiError.of(409, "idempotency_key_in_use",
            "A debit with this Idempotency-Key is still in progress; retry once it has finished.", "Idempotency-Key"));
      }
      LOG.info("Debit '{}' of organization {}: its earlier attempt's hold is still there after {} ms; going on under"
          + " it", holdId, orgId, IN_PROGRESS_WAIT_MS);
      return Future.succeededFuture(new Hold(UNKNOWN_GENERATION, false));
    }, err -> Future.failedFuture(creditUnavailable()));
  }

  private static ApiError creditUnavailable() {
    return ApiError.unavailable("The organization's credit cannot be checked right now; retry shortly.");
  }

  /** The generation the hold was placed at, or the refusal ({@code in_progress} is {@link #place}'s). */
  private static Future<String> held(Response resp, long micros) {
    String status = resp.get(0).toString();
    if ("held".equals(status)) {
      return Future.succeededFuture(resp.get(3).toString());
    }
    if ("insufficient_quota".equals(status)) {
      long balance = resp.get(1).toLong();
      long held = resp.get(2).toLong();
      return Future.failedFuture(ApiError.insufficientQuota("The organization's available credit ("
          + Money.formatUsd(balance - held) + ": balance " + Money.formatUsd(balance) + ", of which "
          + Money.formatUsd(held) + " is held by requests in flight) does not cover " + Money.formatUsd(micros)
          + "."));
    }
    return Future.failedFuture(new IllegalStateException("unexpected debit_hold_v1 answer: " + resp));
  }

  /**
   * Applies {@code delta} to the hot balance (0: only releases the hold). The ledger is already decided, so a
   * Redis failure is only logged: the hold then expires and admission drops the hot balance (see admit_v6.lua).
   */
  private Future<Void> end(long orgId, String holdId, long delta, String generation) {
    return callEnd(orgId, holdId, delta, generation).<Void>mapEmpty().recover(err -> {
      LOG.warn("Could not apply {} micro-USD (hold '{}') to the hot balance of organization {}: {}; retrying every"
          + " {} ms", delta, holdId, orgId, err.toString(), END_RETRY_MS);
      retryEnd(orgId, holdId, delta, END_RETRIES);
      return Future.succeededFuture();
    });
  }

  /**
   * The ledger is decided but Redis did not confirm the end (it was unreachable, or the reply was lost after the
   * script ran). Retried with an unknown generation, which never matches: the script then releases the hold if it
   * is still there and drops the hot balance instead of adjusting it, so a retry of an end that did run changes
   * nothing but a reload from the ledger. Without this a credit would stay invisible until the balance expired,
   * and a debit hold would keep the org's credit blocked until it expired.
   */
  private void retryEnd(long orgId, String holdId, long delta, int left) {
    vertx.setTimer(END_RETRY_MS, t -> callEnd(orgId, holdId, delta, UNKNOWN_GENERATION).onFailure(err -> {
      if (left > 1) {
        retryEnd(orgId, holdId, delta, left - 1);
      } else {
        LOG.warn("Gave up ending '{}' of organization {} after {} retries; a debit hold expires within {} ms and"
            + " then drops the hot balance", holdId, orgId, END_RETRIES, HOLD_TTL_MS);
      }
    }));
  }

  private Future<Response> callEnd(long orgId, String holdId, long delta, String generation) {
    return end.call(keys(orgId), List.of(holdId, Long.toString(delta), generation,
        Long.toString(settings.balanceTtlMs())));
  }

  private static List<String> keys(long orgId) {
    return List.of(RedisKeys.balance(orgId), RedisKeys.holds(orgId), RedisKeys.holdExpiries(orgId),
        RedisKeys.balanceGeneration(orgId));
  }
}
