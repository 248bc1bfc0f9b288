package ai.gpt.api.contact;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

/** The stored Contact Us messages ({@code contact_messages}): written by the public form, read by the admins. */
public final class ContactMessages {
  private static final String INSERT = "INSERT INTO contact_messages (name, email, topic, message, client_address)"
      + " VALUES ($1, $2, $3, $4, $5) RETURNING id";
  private static final String MAILED = "UPDATE contact_messages SET mailed_at = now() WHERE id = $1";
  private static final String PAGE = "SELECT id, name, email, topic, message, created_at, mailed_at"
      + " FROM contact_messages WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2";

  private final Pool pool;

  public ContactMessages(Pool pool) {
    this.pool = pool;
  }

  /** Stores a message; the future holds its id. */
  Future<Long> store(ContactInput in, String clientAddress) {
    return pool.preparedQuery(INSERT).execute(Tuple.of(in.name(), in.email(), in.topic(), in.message(),
        clientAddress)).map(rows -> rows.iterator().next().getLong(0));
  }

  Future<Void> markMailed(long id) {
    return pool.preparedQuery(MAILED).execute(Tuple.of(id)).mapEmpty();
  }

  /** A page of messages, newest first, in the admin list shape ({@code has_more}, {@code next_before}). */
  public Future<JsonObject> page(int limit, Long before) {
    return pool.preparedQuery(PAGE).execute(Tuple.of(before, limit + 1)).map(rows -> {
      JsonArray data = new JsonArray();
      for (Row r : rows) {
        if (data.size() < limit) {
          data.add(new JsonObject().put("object", "contact_message").put("id", r.getLong("id"))
              .put("name", r.getString("name")).put("email", r.getString("email"))
              .put("topic", r.getString("topic")).put("message", r.getString("message"))
              .put("created_at", r.getOffsetDateTime("created_at").toInstant().toString())
              .put("mailed", r.getValue("mailed_at") != null));
        }
      }
      boolean more = rows.size() > limit;
      return new JsonObject().put("object", "list").put("data", data).put("has_more", more)
          .put("next_before", more ? data.getJsonObject(data.size() - 1).getLong("id") : null);
    });
  }
}
