package ai.gpt.api.webhooks;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Resolves a destination's host and judges every address it resolves to with {@link AddressPolicy}. The sender
 * then connects to the very address judged here (never resolving again), so a name cannot pass this check with a
 * public address and be re-resolved to a private one at connect time (DNS rebinding). One refused address refuses
 * the name: an attacker could otherwise mix a private address into a public name's answers.
 */
public final class Resolver {
  private final Vertx vertx;
  private final boolean allowLoopback;

  public Resolver(Vertx vertx, boolean allowLoopback) {
    this.vertx = vertx;
    this.allowLoopback = allowLoopback;
  }

  /** Fails with {@link Refused} for a host that does not resolve or resolves to a refused address. */
  public Future<InetAddress> address(Destination destination) {
    // The JDK resolver blocks: off the event loop. It caches answers (networkaddress.cache.ttl), so a busy endpoint
    // costs no DNS query per delivery.
    return vertx.executeBlocking(() -> {
      InetAddress[] all;
      try {
        all = InetAddress.getAllByName(destination.host());
      } catch (UnknownHostException e) {
        throw new Refused("the host name '" + destination.host() + "' does not resolve");
      }
      for (InetAddress a : all) {
        String refusal = AddressPolicy.refusal(a, allowLoopback);
        if (refusal != null) {
          throw new Refused("'" + destination.host() + "' resolves to " + a.getHostAddress() + ", a " + refusal
              + " address; webhooks are delivered to public addresses only");
        }
        if (!destination.https() && !AddressPolicy.isLoopback(a)) {
          throw new Refused("plain http:// is allowed to loopback only; use https://");
        }
      }
      return all[0];
    }, false);
  }

  /** A destination webhooks may not be delivered to; the message says why (shown in 400s and the delivery log). */
  public static final class Refused extends RuntimeException {
    Refused(String message) {
      super(message, null, false, false);
    }
  }
}
