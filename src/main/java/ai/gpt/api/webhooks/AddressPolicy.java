package ai.gpt.api.webhooks;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * Which addresses a webhook may be delivered to: public unicast only. A webhook URL is chosen by a customer, so
 * without this anyone could make the gateway call its own network (databases, admin ports, the cloud metadata
 * service that hands out credentials). IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64) are judged
 * by the IPv4 address they reach. Loopback is allowed only with WEBHOOK_ALLOW_LOOPBACK (development and tests).
 */
public final class AddressPolicy {
  private AddressPolicy() {}

  /** Why a delivery to this address is refused ("loopback", "private"...), or null when it is allowed. */
  public static String refusal(InetAddress address, boolean allowLoopback) {
    String kind = kind(address.getAddress());
    return kind == null || (allowLoopback && kind.equals(LOOPBACK)) ? null : kind;
  }

  static final String LOOPBACK = "loopback";

  private static String kind(byte[] a) {
    return a.length == 4 ? kind4(a) : kind6(a);
  }

  private static String kind4(byte[] a) {
    int b0 = a[0] & 0xff;
    int b1 = a[1] & 0xff;
    if (b0 == 169 && b1 == 254 && (a[2] & 0xff) == 169 && (a[3] & 0xff) == 254) {
      return "cloud metadata";
    }
    if (b0 == 255 && b1 == 255 && (a[2] & 0xff) == 255 && (a[3] & 0xff) == 255) {
      return "broadcast";
    }
    if (b0 == 0) {
      return "unspecified";
    }
    if (b0 == 127) {
      return LOOPBACK;
    }
    if (b0 == 10 || (b0 == 172 && (b1 & 0xf0) == 16) || (b0 == 192 && b1 == 168)) {
      return "private";
    }
    if (b0 == 169 && b1 == 254) {
      return "link-local";
    }
    if (b0 == 100 && (b1 & 0xc0) == 64) {
      return "carrier-grade NAT";
    }
    if ((b0 & 0xf0) == 224) {
      return "multicast";
    }
    if ((b0 & 0xf0) == 240) {
      return "reserved";
    }
    return null;
  }

  private static String kind6(byte[] a) {
    byte[] embedded = embeddedIpv4(a);
    if (embedded != null) {
      return kind4(embedded);
    }
    if (Arrays.equals(a, METADATA_V6)) {
      return "cloud metadata";
    }
    boolean zeroPrefix = isZero(a, 0, 15);
    if (zeroPrefix && a[15] == 0) {
      return "unspecified";
    }
    if (zeroPrefix && a[15] == 1) {
      return LOOPBACK;
    }
    int b0 = a[0] & 0xff;
    int b1 = a[1] & 0xff;
    if (b0 == 0xff) {
      return "multicast";
    }
    if (b0 == 0xfe && (b1 & 0xc0) == 0x80) {
      return "link-local";
    }
    if ((b0 & 0xfe) == 0xfc || (b0 == 0xfe && (b1 & 0xc0) == 0xc0)) {
      return "private"; // unique local fc00::/7, and the deprecated site-local fec0::/10
    }
    return null;
  }

  /** The IPv4 address inside ::ffff:a.b.c.d, ::a.b.c.d or the NAT64 prefix 64:ff9b::/96; null otherwise. */
  private static byte[] embeddedIpv4(byte[] a) {
    boolean mapped = isZero(a, 0, 10) && (a[10] & 0xff) == 0xff && (a[11] & 0xff) == 0xff;
    boolean compatible = isZero(a, 0, 12) && !(isZero(a, 12, 15) && (a[15] == 0 || a[15] == 1)); // not :: or ::1
    boolean nat64 = a[0] == 0 && a[1] == 0x64 && (a[2] & 0xff) == 0xff && (a[3] & 0xff) == 0x9b && isZero(a, 4, 12);
    return mapped || compatible || nat64 ? Arrays.copyOfRange(a, 12, 16) : null;
  }

  private static boolean isZero(byte[] a, int from, int to) {
    for (int i = from; i < to; i++) {
      if (a[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static final byte[] METADATA_V6 = v6("fd00:ec2::254");

  private static byte[] v6(String literal) {
    try {
      return InetAddress.getByName(literal).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  /** True for 127.0.0.0/8, ::1 and IPv6 forms of 127.0.0.0/8. */
  static boolean isLoopback(InetAddress address) {
    return LOOPBACK.equals(kind(address.getAddress()));
  }
}
