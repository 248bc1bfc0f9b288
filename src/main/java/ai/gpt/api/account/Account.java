package ai.gpt.api.account;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import java.time.OffsetDateTime;

/** A user as the account API shows it (never the password hash). */
public record Account(long id, String email, String name, boolean emailVerified, boolean admin,
    OffsetDateTime createdAt) {

  static final String COLUMNS = "id, email, name, email_verified_at, is_admin, created_at";

  static Account from(Row r) {
    return new Account(r.getLong("id"), r.getString("email"), r.getString("name"),
        r.getOffsetDateTime("email_verified_at") != null, r.getBoolean("is_admin"), r.getOffsetDateTime("created_at"));
  }

  public JsonObject toJson() {
    return new JsonObject().put("id", id).put("email", email).put("name", name).put("email_verified", emailVerified)
        .put("is_admin", admin).put("created_at", createdAt.toString());
  }
}
