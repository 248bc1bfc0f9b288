package ai.gpt.api.auth;

import io.netty.util.NetUtil;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The one definition of "the client's address" for logs, sessions and every per-address limit.
 *
 * <p>By default it is the TCP peer: X-Forwarded-For is a header any client can write, so it is ignored. With
 * TRUSTED_PROXIES (comma-separated addresses or CIDR ranges of the load balancers in front of the gateway), a
 * peer in those ranges is a proxy and the header is read from the right: each trusted hop is skipped and the first
 * address that is not trusted is the client. Entries left of it were written by the client and are never believed.
 */
public final class ClientAddress {
  /** Hops read from X-Forwarded-For at most; a longer chain ends at the last trusted proxy. */
  private static final int MAX_HOPS = 16;

  private final List<Cidr> trusted;

  private ClientAddress(List<Cidr> trusted) {
    this.trusted = trusted;
  }

  /** Only the TCP peer counts. */
  public static ClientAddress direct() {
    return new ClientAddress(List.of());
  }

  /**
   * Parses TRUSTED_PROXIES, e.g. {@code 10.0.0.0/8, 192.168.1.7, fd00::/8}.
   *
   * @throws IllegalArgumentException naming the entry that is not an IP address or CIDR range
   */
  public static ClientAddress trusting(String trustedProxies) {
    List<Cidr> ranges = new ArrayList<>();
    if (trustedProxies != null) {
      for (String raw : trustedProxies.split(",")) {
        if (!raw.isBlank()) {
          ranges.add(Cidr.parse(raw.strip()));
        }
      }
    }
    return new ClientAddress(List.copyOf(ranges));
  }

  /** The client's address in canonical form ("" when the connection has no IP peer, e.g. a Unix socket). */
  public String of(RoutingContext ctx) {
    SocketAddress peer = ctx.request().remoteAddress();
    return resolve(peer == null ? null : peer.hostAddress(), ctx.request().headers().getAll("X-Forwarded-For"));
  }

  /** {@link #of} for a TCP peer and the X-Forwarded-For header lines of its request. */
  String resolve(String peer, List<String> forwardedFor) {
    byte[] candidate = peer == null ? null : ip(peer);
    if (candidate == null) {
      return "";
    }
    if (!trusted.isEmpty() && isTrusted(candidate)) {
      List<String> hops = forwardedHops(forwardedFor);
      for (int i = hops.size() - 1; i >= 0 && i >= hops.size() - MAX_HOPS && isTrusted(candidate); i--) {
        byte[] hop = ip(hops.get(i));
        if (hop == null) {
          break; // garbage where a proxy should have written an address: stay with the last proxy
        }
        candidate = hop;
      }
    }
    return NetUtil.bytesToIpAddress(candidate);
  }

  /**
   * The subject of a per-address limit: the address itself for IPv4, its /64 network for IPv6, since one IPv6
   * client usually owns a whole /64 and could otherwise pick a fresh address for every request.
   */
  public static String limitKey(String address) {
    byte[] ip = ip(address);
    if (ip == null || ip.length == 4) {
      return address;
    }
    return NetUtil.bytesToIpAddress(Arrays.copyOf(Arrays.copyOf(ip, 8), 16)) + "/64";
  }

  private boolean isTrusted(byte[] ip) {
    for (Cidr range : trusted) {
      if (range.contains(ip)) {
        return true;
      }
    }
    return false;
  }

  private static List<String> forwardedHops(List<String> headers) {
    List<String> hops = new ArrayList<>();
    for (String header : headers) {
      for (String hop : header.split(",")) {
        hops.add(hop.strip());
      }
    }
    return hops;
  }

  /** The bytes of an IP literal (IPv4-mapped IPv6 as IPv4), or null; never a DNS lookup. */
  static byte[] ip(String text) {
    String literal = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
    byte[] ip = NetUtil.createByteArrayFromIpAddressString(literal);
    if (ip != null && ip.length == 16 && isIpv4Mapped(ip)) {
      return Arrays.copyOfRange(ip, 12, 16);
    }
    return ip;
  }

  private static boolean isIpv4Mapped(byte[] ip) {
    for (int i = 0; i < 10; i++) {
      if (ip[i] != 0) {
        return false;
      }
    }
    return ip[10] == (byte) 0xff && ip[11] == (byte) 0xff;
  }

  /** An address range such as 10.0.0.0/8; a bare address is a range of one. */
  private record Cidr(byte[] network, int prefix) {
    static Cidr parse(String text) {
      int slash = text.indexOf('/');
      byte[] network = ip(slash < 0 ? text : text.substring(0, slash));
      if (network == null) {
        throw new IllegalArgumentException("'" + text + "' is not an IP address or CIDR range");
      }
      int bits = network.length * 8;
      int prefix = bits;
      if (slash >= 0) {
        String p = text.substring(slash + 1);
        if (!p.matches("[0-9]{1,3}") || Integer.parseInt(p) > bits) {
          throw new IllegalArgumentException("'" + text + "' has a prefix length outside 0-" + bits);
        }
        prefix = Integer.parseInt(p);
      }
      return new Cidr(network, prefix);
    }

    boolean contains(byte[] ip) {
      if (ip.length != network.length) {
        return false;
      }
      for (int bit = 0; bit < prefix; bit++) {
        int mask = 0x80 >>> (bit % 8);
        if ((ip[bit / 8] & mask) != (network[bit / 8] & mask)) {
          return false;
        }
      }
      return true;
    }
  }
}
