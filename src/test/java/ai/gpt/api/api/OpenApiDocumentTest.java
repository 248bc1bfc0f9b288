package ai.gpt.api.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fragment merge: features add up, and two fragments never silently overwrite each other. */
class OpenApiDocumentTest {
  private static final JsonObject BASE = new JsonObject("""
      {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "tags": [], "paths": {},
       "components": {"schemas": {"Error": {"type": "object"}}}}""");

  @Test
  void fragmentsAddPathsMethodsTagsAndComponents() {
    JsonObject a = new JsonObject("""
        {"tags": [{"name": "A"}], "paths": {"/x": {"get": {"responses": {}}}},
         "components": {"schemas": {"X": {"type": "string"}}}}""");
    JsonObject b = new JsonObject("""
        {"tags": [{"name": "B"}], "paths": {"/x": {"post": {"responses": {}}}},
         "components": {"parameters": {"P": {"name": "p", "in": "query"}}}}""");
    JsonObject doc = OpenApiDocument.merge(List.of(BASE, a, b), List.of("base.json", "a.json", "b.json"));
    assertEquals(2, doc.getJsonArray("tags").size());
    assertEquals(List.of("get", "post"), List.copyOf(doc.getJsonObject("paths").getJsonObject("/x").fieldNames()));
    assertTrue(doc.getJsonObject("components").getJsonObject("schemas").containsKey("Error"));
    assertTrue(doc.getJsonObject("components").getJsonObject("schemas").containsKey("X"));
    assertTrue(doc.getJsonObject("components").getJsonObject("parameters").containsKey("P"));
    assertTrue(BASE.getJsonObject("paths").isEmpty(), "the base fragment is not modified");
  }

  @Test
  void aDuplicateOperationOrComponentOrForeignFieldIsRefused() {
    JsonObject a = new JsonObject("{\"paths\": {\"/x\": {\"get\": {}}}}");
    var dup = assertThrows(IllegalStateException.class,
        () -> OpenApiDocument.merge(List.of(BASE, a, a.copy()), List.of("base.json", "a.json", "b.json")));
    assertTrue(dup.getMessage().contains("b.json") && dup.getMessage().contains("get /x"), dup.getMessage());
    JsonObject error = new JsonObject("{\"components\": {\"schemas\": {\"Error\": {}}}}");
    assertThrows(IllegalStateException.class,
        () -> OpenApiDocument.merge(List.of(BASE, error), List.of("base.json", "c.json")));
    JsonObject info = new JsonObject("{\"info\": {}}");
    assertThrows(IllegalStateException.class,
        () -> OpenApiDocument.merge(List.of(BASE, info), List.of("base.json", "d.json")));
  }
}
