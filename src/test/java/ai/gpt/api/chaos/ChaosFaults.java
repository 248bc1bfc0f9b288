package ai.gpt.api.chaos;

import ai.gpt.api.testing.FakeLlamaProcess;
import ai.gpt.api.testing.Sleep;
import ai.gpt.api.testing.TcpProxy;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * The faults of the chaos run, on two threads of their own while the load runs: one kills a backend process with
 * SIGKILL and restarts it on the same port, again and again; the other cuts the gateways' PostgreSQL or Redis
 * connections (through the {@link TcpProxy} their DATABASE_URL / REDIS_URL name) for up to a second and a half, and
 * once, when the load is under way, kills gateway replica B and restarts it. A lock keeps backends up while B
 * restarts (its readiness check waits for every backend).
 */
final class ChaosFaults {
  /** Kills and restarts replica B; returns when the new process is ready. */
  interface ReplicaRestart {
    void run() throws Exception;
  }

  private final List<FakeLlamaProcess> backends;
  private final TcpProxy postgres;
  private final TcpProxy redis;
  private final Object backendLock = new Object();
  private final AtomicBoolean stop = new AtomicBoolean();
  final AtomicLong backendKills = new AtomicLong();
  final AtomicLong postgresCuts = new AtomicLong();
  final AtomicLong redisCuts = new AtomicLong();
  final AtomicLong replicaKills = new AtomicLong();
  private volatile Throwable failure;

  ChaosFaults(List<FakeLlamaProcess> backends, TcpProxy postgres, TcpProxy redis) {
    this.backends = backends;
    this.postgres = postgres;
    this.redis = redis;
  }

  /**
   * Starts both fault threads. {@code killReplicaNow} says when the load is far enough for the replica kill;
   * {@code backendsInRotation} whether the replicas route to every backend again: a backend is killed only then,
   * so that one model always has a backend (with both down, every request is a 503 and proves little).
   */
  List<Thread> start(long seed, BooleanSupplier killReplicaNow, ReplicaRestart killAndRestartReplica,
      BooleanSupplier backendsInRotation, long deadlineMillis) {
    SplittableRandom seeds = new SplittableRandom(seed);
    SplittableRandom backendRandom = seeds.split();
    SplittableRandom infraRandom = seeds.split();
    Thread backendThread = new Thread(() -> guard(() -> backendFaults(backendRandom, backendsInRotation, deadlineMillis)),
        "chaos-backend-faults");
    Thread infraThread = new Thread(() -> guard(() -> infraFaults(infraRandom, killReplicaNow,
        killAndRestartReplica, deadlineMillis)), "chaos-infra-faults");
    backendThread.start();
    infraThread.start();
    return List.of(backendThread, infraThread);
  }

  void stop() {
    stop.set(true);
  }

  /** The exception that ended a fault thread early (a process that would not restart), or null. */
  Throwable failure() {
    return failure;
  }

  private boolean running(long deadlineMillis) {
    return !stop.get() && System.currentTimeMillis() < deadlineMillis;
  }

  private void backendFaults(SplittableRandom random, BooleanSupplier backendsInRotation, long deadlineMillis)
      throws Exception {
    for (int n = 0; n < 10_000 && running(deadlineMillis); n++) {
      Sleep.ms(1_000 + random.nextInt(3_000));
      // The health checker's back-off after failed probes may keep a restarted backend out for a while.
      for (int wait = 0; wait < 150 && running(deadlineMillis) && !backendsInRotation.getAsBoolean(); wait++) {
        Sleep.ms(100);
      }
      synchronized (backendLock) {
        FakeLlamaProcess victim = backends.get(random.nextInt(backends.size()));
        victim.kill();
        backendKills.incrementAndGet();
        Sleep.ms(300 + random.nextInt(1_200));
        victim.restart();
      }
    }
  }

  private void infraFaults(SplittableRandom random, BooleanSupplier killReplicaNow, ReplicaRestart restart,
      long deadlineMillis) throws Exception {
    for (int n = 0; n < 10_000 && running(deadlineMillis); n++) {
      Sleep.ms(1_000 + random.nextInt(2_500));
      if (replicaKills.get() == 0 && killReplicaNow.getAsBoolean()) {
        synchronized (backendLock) {
          replicaKills.incrementAndGet();
          restart.run();
        }
        continue;
      }
      TcpProxy proxy = random.nextBoolean() ? postgres : redis;
      (proxy == postgres ? postgresCuts : redisCuts).incrementAndGet();
      proxy.cut();
      Sleep.ms(200 + random.nextInt(1_300));
      proxy.restore();
    }
  }

  private interface Body {
    void run() throws Exception;
  }

  private void guard(Body body) {
    try {
      body.run();
    } catch (Throwable e) {
      failure = e;
    }
  }
}
