package ai.gpt.api.error;

import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;
import java.net.ConnectException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeoutException;

/**
 * Recognises failures that mean PostgreSQL or Redis could not be reached (refused, cut, timed out, shutting
 * down) rather than a bug: the client gets 503 with Retry-After and the log one WARN line, not a 500 with a stack
 * trace. A blip of a dependency is an outage to retry, and must never look like a broken server or a bad request.
 */
public final class DependencyOutage {
  private DependencyOutage() {}

  public static boolean is(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ConnectException || t instanceof ClosedChannelException
          || t instanceof ClosedConnectionException
          || t instanceof TimeoutException || t instanceof ConnectionPoolTooBusyException) {
        return true;
      }
      // SQLSTATE class 08: connection exception; 57P01-57P03: the server is shutting down or not accepting yet.
      if (t instanceof PgException pg && pg.getSqlState() != null
          && (pg.getSqlState().startsWith("08") || pg.getSqlState().startsWith("57P"))) {
        return true;
      }
      // vertx-redis fails the calls in flight on a closed connection with this error text, not a typed exception.
      if (String.valueOf(t.getMessage()).contains("CONNECTION_CLOSED")) {
        return true;
      }
    }
    return false;
  }
}
