package ai.gpt.api.cli;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.input.WholeNumber;
import ai.gpt.api.status.IncidentInput;
import ai.gpt.api.status.Incidents;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Arrays;

/**
 * {@code incident open|update|resolve|list}: the admin API's incident operations for operators. The options become
 * the same JSON the API reads, so the validation is the API's ({@link IncidentInput}); changes are audited with no
 * admin user (the CLI) and e-mailed to the status subscribers.
 */
final class IncidentCommands {
  private IncidentCommands() {}

  static void run(Incidents incidents, Args args) {
    String action = args.word(1, "incident action (open, update, resolve, list)");
    JsonObject result;
    try {
      result = switch (action) {
        case "open" -> {
          args.allowOnly("title", "severity", "status", "message", "services", "models", "started-at");
          JsonObject body = options(args, "title", "severity", "status", "message", "started-at");
          list(args, body, "services");
          list(args, body, "models");
          yield incidents.open(null, IncidentInput.open(body)).await();
        }
        case "update" -> {
          args.allowOnly("status", "message", "severity");
          yield incidents.update(null, id(args), IncidentInput.update(options(args, "status", "message", "severity")))
              .await();
        }
        case "resolve" -> {
          args.allowOnly("message", "resolved-at");
          yield incidents.update(null, id(args), IncidentInput.resolve(options(args, "message", "resolved-at")))
              .await();
        }
        case "list" -> {
          args.allowOnly("state");
          String state = args.option("state");
          if (state != null && !state.equals("open") && !state.equals("resolved")) {
            throw new CliException("--state must be open or resolved.");
          }
          yield incidents.list(state, 50, null).await();
        }
        default -> throw new CliException("Unknown incident action '" + action + "'. Use: incident open | update ID"
            + " | resolve ID | list");
      };
    } catch (ApiError e) {
      throw new CliException(e.getMessage());
    }
    if (action.equals("list")) {
      for (Object item : result.getJsonArray("data")) {
        System.out.println(line((JsonObject) item));
      }
    } else {
      System.out.println(line(result));
    }
  }

  private static String line(JsonObject incident) {
    return "incident " + incident.getLong("id") + " [" + incident.getString("severity") + ", "
        + incident.getString("status") + "] " + incident.getString("title") + " (started "
        + incident.getString("started_at") + (incident.getString("resolved_at") == null ? ""
        : ", resolved " + incident.getString("resolved_at")) + ")";
  }

  private static long id(Args args) {
    String text = args.word(2, "incident id");
    try {
      return WholeNumber.parse(text, 1, Long.MAX_VALUE);
    } catch (IllegalArgumentException e) {
      throw new CliException("The incident id must be a positive whole number (it " + e.getMessage() + ").");
    }
  }

  /** The given options as JSON fields (--started-at becomes started_at). */
  private static JsonObject options(Args args, String... names) {
    JsonObject body = new JsonObject();
    for (String name : names) {
      if (args.option(name) != null) {
        body.put(name.replace('-', '_'), args.option(name));
      }
    }
    return body;
  }

  private static void list(Args args, JsonObject body, String name) {
    if (args.option(name) != null) {
      body.put(name, new JsonArray(Arrays.stream(args.option(name).split(",")).map(String::strip).toList()));
    }
  }
}
