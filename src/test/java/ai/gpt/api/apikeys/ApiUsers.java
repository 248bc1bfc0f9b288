package ai.gpt.api.apikeys;

import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.sqlclient.Tuple;

/**
 * For tests of organization-scoped /api routes: {@link ApiClient}'s gateway and SMTP server, with users that know
 * their id and personal organization (which they own).
 */
public final class ApiUsers implements AutoCloseable {
  public static final String PASSWORD = ApiClient.PASSWORD;

  /** A signed-in user: their id, access token and personal organization. */
  public record User(long id, String token, long orgId) {}

  public final GatewayHarness gw;
  private final ApiClient api;

  private ApiUsers(ApiClient api) {
    this.api = api;
    this.gw = api.gateway();
  }

  public static ApiUsers start(Vertx vertx) throws Exception {
    return new ApiUsers(ApiClient.start(vertx));
  }

  /** With extra environment variables for the gateway. */
  public static ApiUsers start(Vertx vertx, java.util.Map<String, String> env) throws Exception {
    return new ApiUsers(ApiClient.start(vertx, env));
  }

  /** The underlying client, for the e-mails the users were sent. */
  public ApiClient mail() {
    return api;
  }

  /** Signs up, verifies by the e-mailed link and signs in. */
  public User signUp(String email) {
    String token = api.signUpAndSignIn(email);
    JsonObject me = call("GET", "/api/me", token, null).bodyAsJsonObject();
    return new User(me.getLong("id"), token, me.getJsonArray("organizations").getJsonObject(0).getLong("id"));
  }

  /** Makes the user a member of the organization with that role, without the invitation round trip. */
  public void addMember(long orgId, User user, String role) {
    gw.pool().preparedQuery("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)")
        .execute(Tuple.of(orgId, user.id(), role)).await();
  }

  /** Another organization owned by the user. */
  public long createOrgOwnedBy(User user, String name) {
    long org = gw.createOrg(name, 0);
    addMember(org, user, "owner");
    return org;
  }

  public HttpResponse<Buffer> call(String method, String path, String token, JsonObject body) {
    return api.call(HttpMethod.valueOf(method), path, token, body);
  }

  /** The body of the newest e-mail to {@code to} whose subject starts with {@code subject}, waiting for it. */
  public String mailTo(String to, String subject) {
    return api.mailTo(to, subject);
  }

  public static String code(HttpResponse<Buffer> resp) {
    return ApiClient.code(resp);
  }

  public static String param(HttpResponse<Buffer> resp) {
    return resp.bodyAsJsonObject().getJsonObject("error").getString("param");
  }

  @Override
  public void close() {
    api.close();
  }
}
