package ai.gpt.api.contact;

import ai.gpt.api.account.Attempts;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.auth.ClientAddress;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.mail.Mailer;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /api/contact}: the web app's Contact Us form. A message is checked ({@link ContactInput}), limited,
 * stored, answered 202, and then e-mailed to the operator (CONTACT_EMAIL) in the background: the stored row is what
 * counts (the admin console lists it), so a slow or failing SMTP server neither delays nor loses a message.
 *
 * <p>Limits, counted in Redis ({@link Attempts}) so they hold across replicas: {@link #PER_CLIENT} messages per
 * client address and {@link #PER_SENDER} per sender address per hour; over either, 429 with Retry-After.
 */
public final class ContactRoutes implements ApiRoutes {
  private static final Logger LOG = LoggerFactory.getLogger(ContactRoutes.class);
  static final long WINDOW_MS = 60 * 60_000L;
  static final int PER_CLIENT = 5;
  static final int PER_SENDER = 3;

  private final ContactMessages messages;
  private final Attempts attempts;
  private final ClientAddress clientAddress;
  private final Mailer mailer;
  private final String operator;

  /** {@code operator}: where messages are e-mailed; null stores them only. */
  public ContactRoutes(ContactMessages messages, Attempts attempts, ClientAddress clientAddress, Mailer mailer,
      String operator) {
    this.messages = messages;
    this.attempts = attempts;
    this.clientAddress = clientAddress;
    this.mailer = mailer;
    this.operator = operator;
  }

  @Override
  public void mountPublic(Router api) {
    api.post("/contact").handler(this::contact);
  }

  @Override
  public void mountSignedIn(Router api) {}

  private void contact(RoutingContext ctx) {
    ContactInput in = ContactInput.of(Json.body(ctx));
    String client = clientAddress.of(ctx);
    attempts.count(WINDOW_MS,
            new Attempts.Counter("contact:ip:" + ClientAddress.limitKey(client), PER_CLIENT),
            new Attempts.Counter("contact:from:" + Attempts.emailKey(in.email()), PER_SENDER))
        .compose(wait -> wait > 0 ? Future.failedFuture(ApiError.of(429, "too_many_attempts",
            "Too many messages sent. Please try again later.", wait)) : messages.store(in, client))
        .onSuccess(id -> {
          Json.send(ctx, 202, new JsonObject().put("object", "contact_message").put("id", id)
              .put("message", "Thank you: your message was sent. We answer by e-mail."));
          mail(id, in);
        })
        .onFailure(ctx::fail);
  }

  private void mail(long id, ContactInput in) {
    if (operator == null) {
      return;
    }
    String text = "A message from the Contact Us form (#" + id + ").\n\nFrom: " + in.name() + " <" + in.email()
        + ">\nTopic: " + in.topic() + "\n\n" + in.message() + "\n\nAnswer by writing to " + in.email()
        + "; every message is also listed in the admin console.\n";
    mailer.send(operator, "[GPT API contact] " + in.topic() + ": " + in.name(), text)
        .compose(v -> messages.markMailed(id))
        .onFailure(err -> LOG.warn("Could not e-mail contact message {}: {}", id, err.toString()));
  }
}
