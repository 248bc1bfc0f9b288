package ai.gpt.api.testing;

/** Thread.sleep for test threads (never an event loop), failing the test when interrupted. */
public final class Sleep {
  private Sleep() {}

  public static void ms(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
