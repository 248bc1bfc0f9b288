package ai.gpt.api.status;

import io.vertx.core.json.JsonArray;
import java.time.Instant;
import java.util.Map;

/**
 * One sample of this replica's live view: an observation per uptime component, the JSON parts of the status page
 * that come from memory (services, models, server cards), and the subjects in trouble.
 */
record LiveSample(Instant at, Map<String, Observation> components, JsonArray services, JsonArray models,
    JsonArray servers, Map<String, Trouble> troubles) {}
