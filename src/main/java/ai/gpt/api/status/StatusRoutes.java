package ai.gpt.api.status;

import ai.gpt.api.account.MailLimits;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.auth.ClientAddress;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.mail.Mailer;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.function.Function;

/**
 * The public status routes: {@code GET /api/status} (answered from the bytes {@link StatusMonitor} rebuilds in the
 * background, so a request costs no query) and the e-mail subscription with double opt-in. Subscribing is limited
 * like the account routes that send e-mail ({@link MailLimits}): 429 per client address, and nothing sent to an
 * address over its limit, with the same answer either way.
 */
public final class StatusRoutes implements ApiRoutes {
  private final StatusMonitor monitor;
  private final Subscribers subscribers;
  private final MailLimits mailLimits;
  private final ClientAddress clientAddress;
  private final Mailer mailer;
  private final String publicUrl;
  private final long cacheSeconds;

  StatusRoutes(StatusMonitor monitor, Subscribers subscribers, MailLimits mailLimits, ClientAddress clientAddress,
      Mailer mailer, String publicUrl, long cacheMs) {
    this.monitor = monitor;
    this.subscribers = subscribers;
    this.mailLimits = mailLimits;
    this.clientAddress = clientAddress;
    this.mailer = mailer;
    this.publicUrl = publicUrl;
    this.cacheSeconds = Math.max(1, cacheMs / 1000);
  }

  @Override
  public void mountPublic(Router api) {
    api.get("/status").handler(this::status);
    api.post("/status/subscribe").handler(this::subscribe);
    api.post("/status/confirm").handler(ctx -> useToken(ctx, subscribers::confirm, "confirmed"));
    api.post("/status/unsubscribe").handler(ctx -> useToken(ctx, subscribers::unsubscribe, "unsubscribed"));
  }

  @Override
  public void mountSignedIn(Router api) {}

  private void status(RoutingContext ctx) {
    var page = monitor.page();
    if (page == null) {
      throw ApiError.unavailable("The status is not known yet; try again in a second.");
    }
    // The same answer for everyone for a few seconds: shared caches may keep it as long as this replica does.
    ctx.response().setStatusCode(200).putHeader("content-type", "application/json")
        .putHeader("Cache-Control", "public, max-age=" + cacheSeconds).end(page);
  }

  private void subscribe(RoutingContext ctx) {
    JsonObject body = Json.body(ctx);
    for (String field : body.fieldNames()) {
      if (!field.equals("email")) {
        throw ApiError.invalidRequest("Unknown field '" + field + "'; give email.", field);
      }
    }
    String email = Json.email(body, "email");
    mailLimits.fromClient(clientAddress.of(ctx))
        .compose(v -> mailLimits.mayMail(email))
        .compose(mayMail -> subscribers.subscribe(email).compose(token -> token == null || !mayMail
            ? Future.<Void>succeededFuture()
            : mailer.send(email, "Confirm your GPT API status subscription", "Open this link to receive e-mails"
                + " when GPT API has an incident (valid 24 hours):\n" + publicUrl + "/status/confirm?token=" + token
                + "\n\nIf you did not ask for this, ignore this message: nothing is sent without confirmation.")))
        .onSuccess(v -> Json.send(ctx, 202, new JsonObject().put("message",
            "If the address can be subscribed, a confirmation link is on its way.")))
        .onFailure(ctx::fail);
  }

  private void useToken(RoutingContext ctx, Function<String, Future<Boolean>> use, String done) {
    JsonObject body = Json.body(ctx);
    String token = Json.string(body, "token", 200);
    use.apply(token).onSuccess(ok -> {
      if (ok) {
        Json.send(ctx, 200, new JsonObject().put(done, true));
      } else {
        ctx.fail(ApiError.of(400, "invalid_token", "This link is invalid or has expired.", "token"));
      }
    }).onFailure(ctx::fail);
  }
}
