package ai.gpt.api.admin;

import ai.gpt.api.api.Json;
import ai.gpt.api.contact.ContactMessages;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/** GET /admin/contact-messages: the Contact Us messages, newest first, paged like the other admin lists. */
final class AdminContactRoutes {
  private final ContactMessages messages;

  AdminContactRoutes(ContactMessages messages) {
    this.messages = messages;
  }

  void mount(Router api) {
    api.get("/admin/contact-messages").handler(this::list);
  }

  private void list(RoutingContext ctx) {
    messages.page(AdminParams.limit(ctx), AdminParams.before(ctx))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }
}
