package ai.gpt.api.cli;

import ai.gpt.api.apikeys.KeyExpiry;
import ai.gpt.api.auth.ApiKeyFormat;
import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.auth.KeyInvalidations;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.Arrays;

/** {@code key create} and {@code key revoke}. */
final class KeyCommands {
  private static final String INSERT = """
      INSERT INTO api_keys (public_id, secret_hash, name, org_id, allowed_models, expires_at)
      VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""";
  private static final String REVOKE = """
      UPDATE api_keys SET status = 'revoked' WHERE public_id = $1 OR id::text = $1 RETURNING public_id""";
  private static final String UNKNOWN_MODELS = "SELECT unnest($1::text[]) EXCEPT SELECT id FROM models";

  private KeyCommands() {}

  static void run(Pool pool, Redis redis, KeyHasher hasher, Args args) {
    String action = args.word(1, "key action (create, revoke)");
    switch (action) {
      case "create" -> create(pool, hasher, args);
      case "revoke" -> revoke(pool, redis, args);
      default -> throw new CliException("Unknown key action '" + action + "'. Use: key create | key revoke");
    }
  }

  /** Creates a key and returns its full text, which is shown once and never stored. */
  static String create(Pool pool, KeyHasher hasher, long orgId, String name, String[] models, OffsetDateTime expires) {
    ApiKeyFormat.Minted minted = ApiKeyFormat.mint();
    pool.preparedQuery(INSERT).execute(Tuple.of(minted.publicId(), hasher.hash(minted.secret()), name, orgId,
        models, expires)).await();
    return minted.fullKey();
  }

  private static void create(Pool pool, KeyHasher hasher, Args args) {
    args.allowOnly("org", "name", "models", "expires");
    long orgId = OrgCommands.resolve(pool, args.required("org"));
    String[] models = null;
    if (args.option("models") != null) {
      models = Arrays.stream(args.option("models").split(",")).map(String::strip).filter(s -> !s.isEmpty())
          .toArray(String[]::new);
      RowSet<Row> unknown = pool.preparedQuery(UNKNOWN_MODELS).execute(Tuple.of((Object) models)).await();
      if (unknown.size() > 0) {
        throw new CliException("Unknown model '" + unknown.iterator().next().getString(0) + "' in --models.");
      }
    }
    OffsetDateTime expires = null;
    if (args.option("expires") != null) {
      try {
        expires = KeyExpiry.parse(args.option("expires"));
      } catch (IllegalArgumentException e) {
        throw new CliException("--expires " + e.getMessage() + ".");
      }
    }
    String key = create(pool, hasher, orgId, args.option("name") == null ? "" : args.option("name"), models, expires);
    System.out.println(key);
    System.err.println("Store this key now: it is shown only once.");
  }

  private static void revoke(Pool pool, Redis redis, Args args) {
    args.allowOnly();
    String id = args.word(2, "key id (public id or number)");
    RowSet<Row> rows = pool.preparedQuery(REVOKE).execute(Tuple.of(id)).await();
    if (rows.size() == 0) {
      throw new CliException("No key with id '" + id + "'.");
    }
    String publicId = rows.iterator().next().getString(0);
    KeyInvalidations.publish(redis, publicId).await();
    System.out.println("Revoked key " + publicId);
  }
}
