package ai.gpt.api.testing;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.net.SocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real DNS server over UDP (RFC 1035 wire format) answering A queries from a table the test changes, the way
 * Kubernetes' DNS answers for a headless Service as its pods come and go. A name not in the table is NXDOMAIN;
 * {@link #failWith} makes every answer SERVFAIL; other query types get an empty answer.
 */
public final class FakeDnsServer {
  private static final int TYPE_A = 1;
  private static final int RCODE_SERVFAIL = 2;
  private static final int RCODE_NXDOMAIN = 3;

  private final DatagramSocket socket;
  private final Map<String, List<String>> records = new ConcurrentHashMap<>();
  private final AtomicInteger queries = new AtomicInteger();
  private volatile int forcedRcode;

  private FakeDnsServer(DatagramSocket socket) {
    this.socket = socket;
  }

  public static Future<FakeDnsServer> start(Vertx vertx) {
    DatagramSocket socket = vertx.createDatagramSocket();
    FakeDnsServer server = new FakeDnsServer(socket);
    socket.handler(packet -> {
      Buffer reply = server.answer(packet.data());
      if (reply != null) {
        socket.send(reply, packet.sender().port(), packet.sender().host());
      }
    });
    return socket.listen(0, "127.0.0.1").map(s -> server);
  }

  /** host:port to give BACKEND_DNS_SERVER. */
  public String address() {
    SocketAddress local = socket.localAddress();
    return local.host() + ":" + local.port();
  }

  /** The A records of a name; an empty list answers with no records, null removes the name (NXDOMAIN). */
  public void set(String name, List<String> addresses) {
    if (addresses == null) {
      records.remove(name.toLowerCase(Locale.ROOT));
    } else {
      records.put(name.toLowerCase(Locale.ROOT), List.copyOf(addresses));
    }
  }

  /** Every answer becomes SERVFAIL (true) or normal again (false). */
  public void failWith(boolean servfail) {
    forcedRcode = servfail ? RCODE_SERVFAIL : 0;
  }

  public int queries() {
    return queries.get();
  }

  public Future<Void> close() {
    return socket.close();
  }

  private Buffer answer(Buffer query) {
    if (query.length() < 12 || query.getUnsignedShort(4) != 1) {
      return null; // not a single-question query: drop it, as a server may
    }
    queries.incrementAndGet();
    // The question: labels up to a zero byte, then type and class.
    StringBuilder name = new StringBuilder();
    int pos = 12;
    while (pos < query.length() && query.getUnsignedByte(pos) != 0) {
      int len = query.getUnsignedByte(pos);
      if (name.length() > 0) {
        name.append('.');
      }
      name.append(query.getString(pos + 1, pos + 1 + len));
      pos += len + 1;
    }
    int questionEnd = pos + 5; // zero byte, QTYPE, QCLASS
    if (questionEnd > query.length()) {
      return null;
    }
    int type = query.getUnsignedShort(pos + 1);
    List<String> addresses = records.get(name.toString().toLowerCase(Locale.ROOT));
    int rcode = forcedRcode != 0 ? forcedRcode : addresses == null ? RCODE_NXDOMAIN : 0;
    List<String> answers = rcode == 0 && type == TYPE_A ? addresses : List.of();

    Buffer reply = Buffer.buffer();
    reply.appendUnsignedShort(query.getUnsignedShort(0)); // same id
    reply.appendUnsignedShort(0x8000 | (query.getUnsignedShort(2) & 0x0100) | 0x0080 | rcode); // QR, RD echoed, RA
    reply.appendUnsignedShort(1).appendUnsignedShort(answers.size()).appendUnsignedShort(0).appendUnsignedShort(0);
    reply.appendBuffer(query.getBuffer(12, questionEnd));
    for (String address : answers) {
      reply.appendUnsignedShort(0xC00C); // the name: a pointer to the question's
      reply.appendUnsignedShort(TYPE_A).appendUnsignedShort(1).appendInt(0).appendUnsignedShort(4);
      for (String octet : address.split("\\.")) {
        reply.appendUnsignedByte((short) Integer.parseInt(octet));
      }
    }
    return reply;
  }
}
