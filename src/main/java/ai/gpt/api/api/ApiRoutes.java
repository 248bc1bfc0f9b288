package ai.gpt.api.api;

import io.vertx.ext.web.Router;

/** One feature's routes under /api. Public ones are mounted before the session check, the rest after it. */
public interface ApiRoutes {
  /**
   * Public routes that read their own body instead of the /api body limit and JSON parser (Stripe's webhook,
   * whose signature covers the raw bytes). They must read it: nothing reads it for them.
   */
  default void mountRaw(Router api) {}

  /** Routes anyone may call (sign-up, sign-in...). */
  default void mountPublic(Router api) {}

  /** Routes for a signed-in user: {@link ApiAuth#of} gives the caller. */
  void mountSignedIn(Router api);
}
