package ai.gpt.api.orgs;

import ai.gpt.api.account.SecretTokens;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.OffsetDateTime;

/**
 * Organizations, their members and invitations in PostgreSQL. Every method scoped to an organization filters by its
 * id in SQL, so an id from another tenant (a member, an invitation) matches nothing. Callers have already checked
 * the caller's role with {@link Memberships#require}; writes that must not touch the owner say so in SQL.
 */
public final class OrgStore {
  static final Duration INVITE_TTL = Duration.ofDays(7);
  /** Organizations one user may own: each is a name taken and a tenant every sweep and report walks. */
  public static final int MAX_OWNED = 100;
  private static final String UNIQUE_VIOLATION = "23505";
  private static final String ORG_COLUMNS = "o.id, o.name, o.created_at, o.plan_id";
  private static final String MEMBER_COLUMNS = "m.user_id, u.email, u.name, m.role, m.created_at";
  private static final String INVITATION_COLUMNS = "id, email, role, invited_by, created_at, expires_at";

  /** A new invitation: what to show, and what to e-mail. */
  record Invited(JsonObject invitation, String token, String orgName) {}

  private final Pool pool;

  public OrgStore(Pool pool) {
    this.pool = pool;
  }

  /**
   * Creates the organization with the user as its owner; 409 name_taken when the name is in use, 409
   * too_many_organizations when the user owns {@link #MAX_OWNED}.
   */
  Future<JsonObject> create(String name, long ownerId) {
    // The user's row lock serializes their creates, so concurrent ones cannot pass the count together.
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .execute(Tuple.of(ownerId))
        .compose(locked -> conn.preparedQuery("SELECT count(*) FROM memberships WHERE user_id = $1 AND role = 'owner'")
            .execute(Tuple.of(ownerId)))
        .compose(owned -> owned.iterator().next().getLong(0) >= MAX_OWNED
            ? Future.failedFuture(ApiError.of(409, "too_many_organizations", "You own " + MAX_OWNED
                + " organizations, the most one user may; transfer the ownership of one first.", null))
            : conn.preparedQuery("INSERT INTO organizations AS o (name) VALUES ($1) "
                + "ON CONFLICT (name) DO NOTHING RETURNING " + ORG_COLUMNS).execute(Tuple.of(name)))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(nameTaken());
          }
          JsonObject org = org(rows.iterator().next(), Role.OWNER.code());
          return conn.preparedQuery("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')")
              .execute(Tuple.of(org.getLong("id"), ownerId)).map(org);
        }));
  }

  /** The user's organizations with their role, oldest membership first. */
  Future<JsonArray> list(long userId) {
    return pool.preparedQuery("SELECT " + ORG_COLUMNS + ", m.role FROM memberships m "
            + "JOIN organizations o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY m.created_at, o.id")
        .execute(Tuple.of(userId))
        .map(rows -> {
          JsonArray out = new JsonArray();
          rows.forEach(r -> out.add(org(r, r.getString("role"))));
          return out;
        });
  }

  Future<JsonObject> get(long orgId, Role role) {
    return pool.preparedQuery("SELECT " + ORG_COLUMNS + " FROM organizations o WHERE o.id = $1")
        .execute(Tuple.of(orgId))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(Memberships.notFound())
            : Future.succeededFuture(org(rows.iterator().next(), role.code())));
  }

  Future<JsonObject> rename(long orgId, String name, Role role) {
    return pool.preparedQuery("UPDATE organizations AS o SET name = $2 WHERE o.id = $1 RETURNING " + ORG_COLUMNS)
        .execute(Tuple.of(orgId, name))
        .recover(err -> Future.failedFuture(isUniqueViolation(err) ? nameTaken() : err))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(Memberships.notFound())
            : Future.succeededFuture(org(rows.iterator().next(), role.code())));
  }

  Future<JsonArray> members(long orgId) {
    return pool.preparedQuery("SELECT " + MEMBER_COLUMNS + " FROM memberships m JOIN users u ON u.id = m.user_id "
            + "WHERE m.org_id = $1 ORDER BY m.created_at, m.user_id")
        .execute(Tuple.of(orgId))
        .map(rows -> {
          JsonArray out = new JsonArray();
          rows.forEach(r -> out.add(member(r)));
          return out;
        });
  }

  /** Sets a member's role (admin or member); the owner's row is never changed here. */
  Future<JsonObject> setRole(long orgId, long userId, Role role) {
    return pool.preparedQuery("WITH changed AS (UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2 "
            + "AND role <> 'owner' RETURNING *) SELECT " + MEMBER_COLUMNS + " FROM changed m "
            + "JOIN users u ON u.id = m.user_id")
        .execute(Tuple.of(orgId, userId, role.code()))
        .compose(rows -> rows.size() == 0 ? whyUnchanged(orgId, userId)
            : Future.succeededFuture(member(rows.iterator().next())));
  }

  /** Removes a member other than the owner. */
  Future<Void> remove(long orgId, long userId) {
    return pool.preparedQuery("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2 AND role <> 'owner' "
            + "RETURNING user_id")
        .execute(Tuple.of(orgId, userId))
        .compose(rows -> rows.size() == 0 ? this.<Void>whyUnchanged(orgId, userId) : Future.<Void>succeededFuture());
  }

  /** The caller leaves; the owner cannot (409 owner_cannot_leave). */
  Future<Void> leave(long orgId, long userId) {
    return pool.preparedQuery("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2 AND role <> 'owner' "
            + "RETURNING user_id")
        .execute(Tuple.of(orgId, userId))
        .compose(rows -> rows.size() > 0 ? Future.<Void>succeededFuture()
            : this.<Void>whyUnchanged(orgId, userId).recover(err -> Future.failedFuture(
                err instanceof ApiError e && e.status() == 403 ? ApiError.of(409, "owner_cannot_leave",
                    "The owner cannot leave the organization; transfer the ownership to another member first.",
                    null) : err)))
        .mapEmpty();
  }

  /**
   * Makes {@code targetId} the owner and the current owner an admin, in one transaction that locks both rows, so
   * the organization always has exactly one owner.
   */
  Future<Void> transfer(long orgId, long ownerId, long targetId) {
    if (ownerId == targetId) {
      return Future.failedFuture(ApiError.invalidRequest("You are already the owner.", "user_id"));
    }
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT user_id, role FROM memberships "
            + "WHERE org_id = $1 AND user_id IN ($2, $3) ORDER BY user_id FOR UPDATE")
        .execute(Tuple.of(orgId, ownerId, targetId))
        .compose(rows -> {
          String ownerRole = null;
          boolean targetIsMember = false;
          for (Row r : rows) {
            if (r.getLong("user_id") == ownerId) {
              ownerRole = r.getString("role");
            } else {
              targetIsMember = true;
            }
          }
          if (ownerRole == null) {
            return Future.failedFuture(Memberships.notFound());
          }
          if (!Role.OWNER.code().equals(ownerRole)) {
            return Future.failedFuture(ApiError.of(403, "insufficient_role",
                "Only the owner can transfer the ownership.", null));
          }
          if (!targetIsMember) {
            return Future.failedFuture(memberNotFound("user_id"));
          }
          return update(conn, "UPDATE memberships SET role = 'admin' WHERE org_id = $1 AND user_id = $2",
                  Tuple.of(orgId, ownerId))
              .compose(v -> update(conn, "UPDATE memberships SET role = 'owner' WHERE org_id = $1 AND user_id = $2",
                  Tuple.of(orgId, targetId)));
        }));
  }

  /**
   * Creates (or replaces) the pending invitation of {@code email}; 409 already_member when a member already uses
   * that address.
   */
  Future<Invited> invite(long orgId, String email, Role role, long invitedBy) {
    String token = SecretTokens.newToken();
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT o.name, EXISTS (SELECT 1 FROM memberships m "
            + "JOIN users u ON u.id = m.user_id WHERE m.org_id = o.id AND u.email = $2) FROM organizations o "
            + "WHERE o.id = $1")
        .execute(Tuple.of(orgId, email))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(Memberships.notFound());
          }
          Row r = rows.iterator().next();
          if (r.getBoolean(1)) {
            return Future.failedFuture(ApiError.of(409, "already_member",
                "Someone with this e-mail address is already a member of the organization.", "email"));
          }
          String orgName = r.getString(0);
          return conn.preparedQuery("INSERT INTO invitations (org_id, email, role, token_hash, invited_by, expires_at) "
                  + "VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 second') "
                  + "ON CONFLICT (org_id, email) WHERE accepted_at IS NULL AND revoked_at IS NULL DO UPDATE SET "
                  + "role = EXCLUDED.role, token_hash = EXCLUDED.token_hash, invited_by = EXCLUDED.invited_by, "
                  + "created_at = now(), expires_at = EXCLUDED.expires_at RETURNING " + INVITATION_COLUMNS)
              .execute(Tuple.of(orgId, email, role.code(), SecretTokens.hash(token), invitedBy,
                  INVITE_TTL.toSeconds()))
              .map(inserted -> new Invited(invitation(inserted.iterator().next()), token, orgName));
        }));
  }

  /** Invitations neither accepted, revoked nor expired, newest first. */
  Future<JsonArray> pendingInvitations(long orgId) {
    return pool.preparedQuery("SELECT " + INVITATION_COLUMNS + " FROM invitations WHERE org_id = $1 "
            + "AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC, id DESC")
        .execute(Tuple.of(orgId))
        .map(rows -> {
          JsonArray out = new JsonArray();
          rows.forEach(r -> out.add(invitation(r)));
          return out;
        });
  }

  Future<Void> revoke(long orgId, long invitationId) {
    return pool.preparedQuery("UPDATE invitations SET revoked_at = now() WHERE id = $2 AND org_id = $1 "
            + "AND accepted_at IS NULL AND revoked_at IS NULL RETURNING id")
        .execute(Tuple.of(orgId, invitationId))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(invitationNotFound()) : Future.<Void>succeededFuture());
  }

  /**
   * Accepts the invitation for the signed-in user, whose e-mail must be the invited one. The invitation is used up
   * only when the membership is created; a refusal changes nothing.
   */
  Future<JsonObject> accept(String token, long userId) {
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT i.id, i.org_id, i.email, i.role, o.name, "
            + "(SELECT email FROM users WHERE id = $2) AS user_email FROM invitations i "
            + "JOIN organizations o ON o.id = i.org_id WHERE i.token_hash = $1 AND i.accepted_at IS NULL "
            + "AND i.revoked_at IS NULL AND i.expires_at > now() FOR UPDATE OF i")
        .execute(Tuple.of(SecretTokens.hash(token), userId))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(ApiError.of(400, "invalid_token",
                "This invitation is invalid, expired, revoked or already used.", "token"));
          }
          Row r = rows.iterator().next();
          if (!r.getString("email").equals(r.getString("user_email"))) {
            return Future.failedFuture(ApiError.of(403, "invitation_for_other_email",
                "This invitation was sent to another e-mail address. Sign in with that address to accept it.",
                "token"));
          }
          long orgId = r.getLong("org_id");
          String role = r.getString("role");
          JsonObject joined = new JsonObject().put("id", orgId).put("name", r.getString("name")).put("role", role);
          return conn.preparedQuery("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3) "
                  + "ON CONFLICT (org_id, user_id) DO NOTHING RETURNING user_id")
              .execute(Tuple.of(orgId, userId, role))
              .compose(inserted -> inserted.size() == 0
                  ? Future.failedFuture(ApiError.of(409, "already_member",
                      "You are already a member of this organization.", null))
                  : update(conn, "UPDATE invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1",
                      Tuple.of(r.getLong("id"), userId)))
              .map(joined);
        }));
  }

  /** Nothing changed for (org, user): 403 when the user is the owner, 404 when not a member. */
  private <T> Future<T> whyUnchanged(long orgId, long userId) {
    return pool.preparedQuery("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
        .execute(Tuple.of(orgId, userId))
        .compose(rows -> Future.failedFuture(rows.size() == 0 ? memberNotFound(null)
            : ApiError.of(403, "owner_protected", "The owner's role cannot be changed and the owner cannot be "
                + "removed; the owner can transfer the ownership first.", null)));
  }

  private static Future<Void> update(SqlConnection conn, String sql, Tuple args) {
    return conn.preparedQuery(sql).execute(args).mapEmpty();
  }

  static ApiError memberNotFound(String param) {
    return ApiError.of(404, "not_found", "No such member of this organization.", param);
  }

  static ApiError invitationNotFound() {
    return ApiError.of(404, "not_found", "No such pending invitation in this organization.", null);
  }

  private static ApiError nameTaken() {
    return ApiError.of(409, "name_taken", "An organization with this name already exists.", "name");
  }

  private static boolean isUniqueViolation(Throwable err) {
    return err instanceof PgException pg && UNIQUE_VIOLATION.equals(pg.getSqlState());
  }

  private static JsonObject org(Row r, String role) {
    return new JsonObject().put("id", r.getLong("id")).put("name", r.getString("name"))
        .put("created_at", time(r.getOffsetDateTime("created_at"))).put("role", role)
        .put("plan_id", r.getString("plan_id"));
  }

  private static JsonObject member(Row r) {
    return new JsonObject().put("user_id", r.getLong("user_id")).put("email", r.getString("email"))
        .put("name", r.getString("name")).put("role", r.getString("role"))
        .put("joined_at", time(r.getOffsetDateTime("created_at")));
  }

  private static JsonObject invitation(Row r) {
    return new JsonObject().put("id", r.getLong("id")).put("email", r.getString("email"))
        .put("role", r.getString("role")).put("invited_by", r.getLong("invited_by"))
        .put("created_at", time(r.getOffsetDateTime("created_at")))
        .put("expires_at", time(r.getOffsetDateTime("expires_at")));
  }

  private static String time(OffsetDateTime t) {
    return t == null ? null : t.toString();
  }
}
