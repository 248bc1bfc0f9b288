package ai.gpt.api.orgs;

import ai.gpt.api.account.MailLimits;
import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.mail.Mailer;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Organizations, members, roles and e-mailed invitations. Every route under /orgs/:orgId first checks the caller's
 * membership with {@link Memberships#require}, before even reading the body: a non-member gets the same 404 as for
 * an unknown id, and member and invitation ids are looked up only inside that organization.
 */
public final class OrgRoutes implements ApiRoutes {
  private static final int MAX_NAME = 100;

  private final OrgStore store;
  private final Memberships memberships;
  private final Mailer mailer;
  private final MailLimits mailLimits;
  private final String publicUrl;

  public OrgRoutes(OrgStore store, Memberships memberships, Mailer mailer, MailLimits mailLimits, String publicUrl) {
    this.store = store;
    this.memberships = memberships;
    this.mailer = mailer;
    this.mailLimits = mailLimits;
    this.publicUrl = publicUrl;
  }

  @Override
  public void mountSignedIn(Router api) {
    api.post("/orgs").handler(this::create);
    api.get("/orgs").handler(this::list);
    api.get("/orgs/:orgId").handler(this::get);
    api.patch("/orgs/:orgId").handler(this::rename);
    api.get("/orgs/:orgId/members").handler(this::members);
    api.patch("/orgs/:orgId/members/:userId").handler(this::setRole);
    api.delete("/orgs/:orgId/members/:userId").handler(this::remove);
    api.post("/orgs/:orgId/leave").handler(this::leave);
    api.post("/orgs/:orgId/transfer-ownership").handler(this::transfer);
    api.post("/orgs/:orgId/invitations").handler(this::invite);
    api.get("/orgs/:orgId/invitations").handler(this::invitations);
    api.delete("/orgs/:orgId/invitations/:invitationId").handler(this::revoke);
    api.post("/invitations/accept").handler(this::accept);
  }

  private void create(RoutingContext ctx) {
    String name = name(Json.body(ctx));
    store.create(name, ApiAuth.of(ctx).userId())
        .onSuccess(org -> Json.send(ctx, 201, org)).onFailure(ctx::fail);
  }

  private void list(RoutingContext ctx) {
    store.list(ApiAuth.of(ctx).userId())
        .onSuccess(orgs -> Json.send(ctx, 200, new JsonObject().put("data", orgs))).onFailure(ctx::fail);
  }

  private void get(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.MEMBER)
        .compose(role -> store.get(orgId, role))
        .onSuccess(org -> Json.send(ctx, 200, org)).onFailure(ctx::fail);
  }

  private void rename(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN)
        .compose(role -> store.rename(orgId, name(Json.body(ctx)), role))
        .onSuccess(org -> Json.send(ctx, 200, org)).onFailure(ctx::fail);
  }

  private void members(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.MEMBER)
        .compose(role -> store.members(orgId))
        .onSuccess(list -> Json.send(ctx, 200, new JsonObject().put("data", list))).onFailure(ctx::fail);
  }

  private void setRole(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN)
        .compose(role -> store.setRole(orgId, memberId(ctx), grantableRole(Json.body(ctx))))
        .onSuccess(member -> Json.send(ctx, 200, member)).onFailure(ctx::fail);
  }

  private void remove(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN)
        .compose(role -> store.remove(orgId, memberId(ctx)))
        .onSuccess(v -> ctx.response().setStatusCode(204).end()).onFailure(ctx::fail);
  }

  private void leave(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    long userId = ApiAuth.of(ctx).userId();
    memberships.require(orgId, userId, Role.MEMBER)
        .compose(role -> store.leave(orgId, userId))
        .onSuccess(v -> ctx.response().setStatusCode(204).end()).onFailure(ctx::fail);
  }

  private void transfer(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    long userId = ApiAuth.of(ctx).userId();
    memberships.require(orgId, userId, Role.OWNER)
        .compose(role -> store.transfer(orgId, userId, userIdField(Json.body(ctx))))
        .compose(v -> store.members(orgId))
        .onSuccess(list -> Json.send(ctx, 200, new JsonObject().put("data", list))).onFailure(ctx::fail);
  }

  private void invite(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    long userId = ApiAuth.of(ctx).userId();
    memberships.require(orgId, userId, Role.ADMIN)
        .compose(role -> mailLimits.invitation(orgId, userId))
        .compose(v -> {
          JsonObject body = Json.body(ctx);
          return store.invite(orgId, Json.email(body, "email"), grantableRole(body), userId);
        })
        // An address over its mail limit still gets the invitation (it is listed and can be accepted), not the mail.
        .compose(invited -> mailLimits.mayMail(invited.invitation().getString("email"))
            .compose(mayMail -> !mayMail ? Future.<Void>succeededFuture()
                : mailer.send(invited.invitation().getString("email"),
                    "You are invited to join " + invited.orgName() + " on GPT API",
                    "You are invited to join the organization \"" + invited.orgName() + "\" on GPT API as "
                        + invited.invitation().getString("role") + ".\nOpen this link to accept (valid 7 days, "
                        + "once):\n" + publicUrl + "/invite?token=" + invited.token()
                        + "\n\nSign in (or sign up) with this e-mail address to accept."))
            .map(invited.invitation()))
        .onSuccess(invitation -> Json.send(ctx, 201, invitation)).onFailure(ctx::fail);
  }

  private void invitations(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN)
        .compose(role -> store.pendingInvitations(orgId))
        .onSuccess(list -> Json.send(ctx, 200, new JsonObject().put("data", list))).onFailure(ctx::fail);
  }

  private void revoke(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN)
        .compose(role -> store.revoke(orgId, invitationId(ctx)))
        .onSuccess(v -> ctx.response().setStatusCode(204).end()).onFailure(ctx::fail);
  }

  private void accept(RoutingContext ctx) {
    String token = Json.string(Json.body(ctx), "token", 200);
    store.accept(token, ApiAuth.of(ctx).userId())
        .onSuccess(org -> Json.send(ctx, 200, new JsonObject().put("organization", org))).onFailure(ctx::fail);
  }

  /** The :userId of a member route; not a number is a 404 like an unknown member. */
  private static long memberId(RoutingContext ctx) {
    try {
      return Memberships.pathId(ctx, "userId");
    } catch (ApiError e) {
      throw OrgStore.memberNotFound(null);
    }
  }

  /** The :invitationId of a revoke; not a number is a 404 like an unknown invitation. */
  private static long invitationId(RoutingContext ctx) {
    try {
      return Memberships.pathId(ctx, "invitationId");
    } catch (ApiError e) {
      throw OrgStore.invitationNotFound();
    }
  }

  private static String name(JsonObject body) {
    return Json.name(body, "name", MAX_NAME);
  }

  /** admin or member: the owner is made only by transfer-ownership. */
  private static Role grantableRole(JsonObject body) {
    Role role = Role.parse(Json.string(body, "role", 20));
    if (role == null || role == Role.OWNER) {
      throw ApiError.invalidRequest("'role' must be 'admin' or 'member' (an owner is made with "
          + "transfer-ownership).", "role");
    }
    return role;
  }

  private static long userIdField(JsonObject body) {
    return Json.wholeNumber(body.getValue("user_id"), "user_id", 1, Long.MAX_VALUE);
  }

}
