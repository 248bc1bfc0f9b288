package ai.gpt.api.metering;

import ai.gpt.api.limits.AdmissionRequest;
import ai.gpt.api.limits.AdmissionResult;
import ai.gpt.api.limits.AllotmentCalls;
import ai.gpt.api.limits.AllotmentScope;
import ai.gpt.api.limits.RedisScript;
import ai.gpt.api.limits.SettledUsage;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admissions a busy scope (one key of one organization under one set of limits) gets from this gateway's memory
 * instead of one admit_v6.lua run each: once a scope has had {@value #BUSY} admissions within a second, the gateway
 * takes an allotment of {@value #REQUESTS} requests (with the tokens and the credit hold that many requests like
 * the current one need, and as many concurrency slots) from Redis in one call, grants it request by request
 * ({@link Allotment}), takes the next one when half is left, and ends each (giving back what was not used)
 * once it is used up or {@value #MAX_AGE_MS} ms old and its requests have settled. Every request still settles in
 * Redis on its own (settle_v8.lua: the exact charge, the usage event), so billing is unchanged.
 *
 * <p>The size adapts to the scope's rate, so a take and an end (two script calls, a few hundred microseconds of
 * Redis with the slots' members) stay a small share per request: a scope that used half an allotment within
 * {@value #GROW_WITHIN_MS} ms gets one twice as large next (up to {@value #MAX_REQUESTS}); one that closed by age,
 * or that Redis refused (a limit or the credit near), gets one half as large (down to {@value #REQUESTS}, where a
 * refusal sends the scope's requests one by one through Redis for {@value #REFUSED_MS} ms). Its concurrency slots
 * (for a key with a concurrency limit) follow how many of the scope's requests are in flight, not its size: twice
 * that, at least {@value #MIN_SLOTS} and at most its requests. Each slot is a member of the key's lease set, written
 * when it is taken and removed when it ends, which for an allotment of a thousand requests cost Redis more than its
 * thousand admissions saved; a request that finds every slot in use goes through Redis.
 *
 * <p>What this changes, and why it stays safe: an allotment is taken only if every bucket, the credit and the
 * concurrency limit have at least twice what it takes (allot_v1.lua), so near any limit requests go one by one
 * through Redis and the limit holds exactly; far from them, a replica's allotment is unavailable to the others for
 * at most a second. The credit its requests may spend is held in Redis for as long as they run, as their own holds
 * would be. A replica that dies leaves its allotments' holds to expire like its requests' (the reservation TTL).
 * At least one request per scope and second still goes through admit_v6.lua, which sweeps expired holds and renews
 * the organization's TTLs.
 */
final class Allotments {
  private static final Logger LOG = LoggerFactory.getLogger(Allotments.class);
  /** The first and smallest allotment, in requests. */
  static final int REQUESTS = 64;
  static final int MAX_REQUESTS = 1_024;
  /** Half an allotment used within this long after it was taken: the next one is twice as large. */
  static final long GROW_WITHIN_MS = 100;
  static final int MIN_SLOTS = 64;
  static final int BUSY = 32;
  static final long MAX_AGE_MS = 1_000;
  /** One request per scope and this many ms goes through admit_v6.lua (sweeps, TTL renewals, balance loads). */
  static final long EXACT_EVERY_MS = 1_000;
  /** After Redis refused an allotment (a limit or the credit is near), the scope's requests go one by one this long. */
  static final long REFUSED_MS = 1_000;
  static final long TICK_MS = 100;
  static final long FORGET_MS = 10_000;
  /** Ends are retried every tick for up to five minutes (a Redis outage); after that the hold expires on its own. */
  private static final int END_ATTEMPTS = 3_000;

  private final Vertx vertx;
  private final AllotmentCalls calls;
  private final String prefix;
  private final AtomicLong sequence = new AtomicLong();
  private final Map<AllotmentScope, ScopeState> scopes = new ConcurrentHashMap<>();
  private final Map<String, Ticket> tickets = new ConcurrentHashMap<>();
  /** Ends Redis did not take yet, tried again every tick: touched only by the timer and failed calls (synchronized). */
  private final List<PendingEnd> pendingEnds = new ArrayList<>();
  private final long timer;
  private volatile boolean closed;

  /** A request admitted from an allotment, until it settles. */
  private record Ticket(Allotment allotment, ScopeState scope, long reservedTokens, long hold) {}

  private record PendingEnd(String id, AllotmentScope scope, long requests, long tokens, int slots, int attempts) {}

  /** Per scope: its open allotment, whether a take is in flight, and how busy it is. Guarded by itself. */
  private static final class ScopeState {
    Allotment open;
    boolean taking;
    long windowStartMs;
    int admittedInWindow;
    long lastExactMs;
    long refusedUntilMs;
    long lastUsedMs;
    /** Requests the next allotment takes: REQUESTS..MAX_REQUESTS, a power of two. */
    int size = REQUESTS;
    /** Requests admitted from its allotments and not settled yet. */
    int inFlight;
  }

  Allotments(Vertx vertx, AllotmentCalls calls) {
    this.vertx = vertx;
    this.calls = calls;
    // Allotment ids are holds fields beside request ids: unique per process and start, never starting with "_".
    this.prefix = "allot:" + ProcessHandle.current().pid() + ":" + Long.toHexString(System.nanoTime()) + ":";
    this.timer = vertx.setPeriodic(TICK_MS, id -> tick(System.currentTimeMillis()));
  }

  /** Admits r from its scope's allotment, or answers null: admit it through Redis. */
  AdmissionResult admit(AdmissionRequest r, long now) {
    ScopeState s = scopes.get(AllotmentScope.of(r));
    if (s == null) {
      return null;
    }
    Allotment a;
    synchronized (s) {
      s.lastUsedMs = now;
      if (now - s.lastExactMs >= EXACT_EVERY_MS) {
        s.lastExactMs = now;
        return null;
      }
      a = s.open;
    }
    if (a == null) {
      return null;
    }
    AdmissionResult result = a.admit(r.reservedTokens(), r.holdMicros());
    if (result == null && a.isOpen()) {
      // Every slot in use: this one goes through Redis.
      return null;
    }
    if (result == null) {
      // Used up, or too small for this request: replace it with one sized for this one.
      boolean idle = a.close();
      synchronized (s) {
        if (s.open == a) {
          s.open = null;
        }
      }
      if (idle) {
        end(a);
      }
      maybeTake(s, r, now);
      return null;
    }
    synchronized (s) {
      s.inFlight++;
    }
    tickets.put(r.requestId(), new Ticket(a, s, r.reservedTokens(), r.holdMicros()));
    // Half left: take the next one now, so it arrives (one Redis round trip) before this one is used up.
    if (a.requestsLeft() <= a.requests() / 2) {
      if (now - a.takenAtMs() < GROW_WITHIN_MS) {
        synchronized (s) {
          s.size = Math.max(s.size, (int) Math.min(MAX_REQUESTS, 2 * a.requests()));
        }
      }
      maybeTake(s, r, now);
    }
    return result;
  }

  /** r was admitted through Redis: counts toward making its scope busy enough for allotments. */
  void admittedExactly(AdmissionRequest r, long now) {
    ScopeState s = scopes.computeIfAbsent(AllotmentScope.of(r), k -> new ScopeState());
    boolean busy;
    synchronized (s) {
      s.lastUsedMs = now;
      if (now - s.windowStartMs >= 1_000) {
        s.windowStartMs = now;
        s.admittedInWindow = 0;
      }
      busy = ++s.admittedInWindow >= BUSY && s.open == null;
    }
    if (busy) {
      maybeTake(s, r, now);
    }
  }

  /**
   * A request settled: if it came from an allotment, what it did not use goes back to it. Returns whether it came
   * from one.
   */
  boolean settled(SettledUsage u) {
    Ticket t = tickets.remove(u.requestId());
    if (t == null) {
      return false;
    }
    // The state the request was counted in (a scope with requests in flight is never forgotten).
    synchronized (t.scope()) {
      t.scope().inFlight--;
    }
    if (t.allotment().settled(t.reservedTokens(), u.promptTokens() + u.completionTokens(), t.hold(),
        u.costMicros())) {
      end(t.allotment());
    }
    return true;
  }

  private void maybeTake(ScopeState s, AdmissionRequest like, long now) {
    int requests;
    int slots;
    synchronized (s) {
      if (s.taking || now < s.refusedUntilMs) {
        return;
      }
      s.taking = true;
      requests = s.size;
      slots = (int) Math.min(requests, Math.max(MIN_SLOTS, 2L * s.inFlight));
    }
    AllotmentScope scope = AllotmentScope.of(like);
    long hold = like.holdMicros();
    long tokens = like.reservedTokens();
    if (hold > Long.MAX_VALUE / requests || tokens > Long.MAX_VALUE / requests) {
      synchronized (s) {
        s.taking = false;
        s.refusedUntilMs = now + REFUSED_MS;
      }
      return;
    }
    AllotmentCalls.Size size = new AllotmentCalls.Size(requests, requests * tokens, requests * hold,
        scope.concurrencyLimit() > 0 ? slots : 0);
    String id = prefix + sequence.incrementAndGet();
    calls.take(id, scope, size).onComplete(ar -> {
      if (ar.succeeded() && ar.result() != null) {
        Allotment a = new Allotment(id, scope, size, ar.result(), System.currentTimeMillis());
        if (closed || scopes.get(scope) != s) {
          // Taken while this gateway stops, or for a scope the tick forgot meanwhile (idle until this take began):
          // nobody would admit from it or end it, so give it back at once.
          synchronized (s) {
            s.taking = false;
          }
          a.close();
          end(a);
          return;
        }
        Allotment old;
        synchronized (s) {
          s.taking = false;
          old = s.open;
          s.open = a;
        }
        if (old != null && old.close()) {
          end(old);
        }
        return;
      }
      synchronized (s) {
        s.taking = false;
        if (ar.succeeded() && s.size > REQUESTS) {
          // Refused at this size: the next request that goes through Redis tries half as much.
          s.size /= 2;
        } else {
          s.refusedUntilMs = System.currentTimeMillis() + REFUSED_MS;
        }
      }
      if (ar.failed()) {
        LOG.debug("Allotment {} not taken: {}", id, ar.cause().toString());
        if (RedisScript.mayHaveRun(ar.cause())) {
          // It may have been taken with its answer lost: end it in full (a no-op if it was not).
          retryEnd(new PendingEnd(id, scope, size.requests(), size.tokens(), size.slots(), 0));
        }
      }
    });
  }

  private void end(Allotment a) {
    send(new PendingEnd(a.id(), a.scope(), a.unusedRequests(), a.unusedTokens(), a.slots(), 0));
  }

  private Future<Void> send(PendingEnd e) {
    return calls.end(e.id(), e.scope(), e.requests(), e.tokens(), e.slots()).<Void>mapEmpty().onFailure(err -> {
      if (e.attempts() + 1 >= END_ATTEMPTS) {
        LOG.warn("Allotment {} could not be ended ({}): its hold and slots expire with the reservation TTL", e.id(),
            err.toString());
      } else {
        retryEnd(new PendingEnd(e.id(), e.scope(), e.requests(), e.tokens(), e.slots(), e.attempts() + 1));
      }
    });
  }

  private void retryEnd(PendingEnd e) {
    synchronized (pendingEnds) {
      pendingEnds.add(e);
    }
  }

  /** Closes allotments past their age (ending the idle ones), retries failed ends, forgets idle scopes. */
  private void tick(long now) {
    List<PendingEnd> retry;
    synchronized (pendingEnds) {
      retry = new ArrayList<>(pendingEnds);
      pendingEnds.clear();
    }
    retry.forEach(this::send);
    scopes.forEach((scope, s) -> {
      Allotment old = null;
      boolean forget;
      synchronized (s) {
        if (s.open != null && now - s.open.takenAtMs() >= MAX_AGE_MS) {
          old = s.open;
          s.open = null;
          // Not used up within its age: too large for this scope's rate.
          s.size = Math.max(REQUESTS, s.size / 2);
        }
        forget = s.open == null && !s.taking && s.inFlight == 0 && now - s.lastUsedMs >= FORGET_MS;
      }
      if (old != null && old.close()) {
        end(old);
      }
      if (forget) {
        scopes.remove(scope, s);
      }
    });
  }

  /**
   * Stops taking allotments and ends every open one now; those with requests in flight end when the last settles.
   * Completes once the ends sent now are answered, or after {@code timeoutMs}.
   */
  Future<Void> close(long timeoutMs) {
    closed = true;
    vertx.cancelTimer(timer);
    List<Future<Void>> ends = new ArrayList<>();
    scopes.values().forEach(s -> {
      Allotment a;
      synchronized (s) {
        a = s.open;
        s.open = null;
        s.refusedUntilMs = Long.MAX_VALUE;
      }
      if (a != null && a.close()) {
        ends.add(send(new PendingEnd(a.id(), a.scope(), a.unusedRequests(), a.unusedTokens(), a.slots(), 0)));
      }
    });
    return Future.join(ends).timeout(timeoutMs, TimeUnit.MILLISECONDS).<Void>mapEmpty().otherwiseEmpty();
  }
}
