package ai.gpt.api.account;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;

/**
 * Short-lived access tokens: HS256 JWTs naming the user ({@code sub}) and the session ({@code sid}). Only HS256
 * with our key verifies; a token signed otherwise, or with {@code alg: none}, is refused.
 */
public final class AccessTokens {
  static final String ALGORITHM = "HS256";
  private static final String ISSUER = "gpt-api";

  /** A verified token's subject. */
  record Claims(long userId, long sessionId) {}

  private final JWTAuth jwt;
  private final int ttlSeconds;

  public AccessTokens(Vertx vertx, String secret, int ttlSeconds) {
    this.ttlSeconds = ttlSeconds;
    this.jwt = JWTAuth.create(vertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm(ALGORITHM).setBuffer(secret))
        .setJWTOptions(new JWTOptions().setAlgorithm(ALGORITHM).setIssuer(ISSUER)));
  }

  int ttlSeconds() {
    return ttlSeconds;
  }

  String issue(long userId, long sessionId) {
    return jwt.generateToken(new JsonObject().put("sub", Long.toString(userId)).put("sid", sessionId),
        new JWTOptions().setAlgorithm(ALGORITHM).setIssuer(ISSUER).setExpiresInSeconds(ttlSeconds));
  }

  /** Fails for a bad signature, another algorithm, another issuer, or an expired token. */
  Future<Claims> verify(String token) {
    return jwt.authenticate(new TokenCredentials(token)).map(user -> {
      JsonObject p = user.principal();
      return new Claims(Long.parseLong(p.getString("sub")), p.getLong("sid"));
    });
  }
}
