package ai.gpt.api.helm;

import static ai.gpt.api.helm.Chart.HOOK;
import static ai.gpt.api.helm.Chart.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/** The Helm chart, linted and rendered by Helm's own code, every object parsed and checked. */
class HelmChartTest {
  private static final String FULL = "prod-gpt-api";

  @Test
  @DisplayName("helm lint --strict passes (helm-java's lint takes the chart's own values.yaml)")
  void lint() {
    LintResult result = new Helm(Chart.DIR).lint().strict().call();
    assertFalse(result.isFailed(), result.getMessages().toString());
  }

  @Test
  @DisplayName("the defaults alone refuse to render, naming each missing secret; the minimal install renders")
  void defaultsNeedSecrets() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> Chart.render(null));
    assertTrue(e.getMessage().contains("secrets.values.DATABASE_URL is required"), e.getMessage());
    Chart minimal = Chart.render(Chart.MINIMAL);
    assertEquals(Set.of("ConfigMap/" + FULL, "Service/" + FULL, "Deployment/" + FULL, "ServiceAccount/" + FULL,
        "PodDisruptionBudget/" + FULL, "Job/" + FULL + "-migrate"), Set.copyOf(minimal.names()),
        "no Secret of its own, no optional object");
  }

  @Test
  @DisplayName("gateway pod: non-root, read-only root with /tmp, probes on the operator port's /health and /ready")
  void gatewayPod() {
    Chart chart = Chart.render(Chart.MINIMAL);
    Map<String, Object> pod = at(chart.get("Deployment", FULL), "spec", "template", "spec");
    Map<String, Object> gateway = at(pod, "containers", "0");
    assertEquals(true, at(pod, "securityContext", "runAsNonRoot"));
    assertEquals(10001, (int) at(pod, "securityContext", "runAsUser"));
    assertEquals(false, at(pod, "automountServiceAccountToken"));
    assertEquals(true, at(gateway, "securityContext", "readOnlyRootFilesystem"));
    assertEquals(false, at(gateway, "securityContext", "allowPrivilegeEscalation"));
    assertEquals(List.of("ALL"), at(gateway, "securityContext", "capabilities", "drop"));
    assertEquals("/tmp", at(gateway, "volumeMounts", "0", "mountPath"));
    assertTrue(((Map<?, ?>) at(pod, "volumes", "0")).containsKey("emptyDir"));
    assertEquals(List.of("serve"), at(gateway, "args"));

    // The probes' port is the operator port the code serves /health and /ready on (METRICS_PORT, OpsServer).
    assertEquals(Map.of("name", "metrics", "containerPort", 9090, "protocol", "TCP"), at(gateway, "ports", "1"));
    assertEquals(Map.of("path", "/health", "port", "metrics"), at(gateway, "livenessProbe", "httpGet"));
    assertEquals(Map.of("path", "/health", "port", "metrics"), at(gateway, "startupProbe", "httpGet"));
    assertEquals(Map.of("path", "/ready", "port", "metrics"), at(gateway, "readinessProbe", "httpGet"));
    assertEquals("1536Mi", at(gateway, "resources", "limits", "memory"));
    assertTrue(env(gateway).get("JAVA_TOOL_OPTIONS").contains("-XX:MaxRAMPercentage="));
    assertEquals("false", env(gateway).get("MIGRATE_ON_START"), "the hook Job migrates, pods do not race");
    assertEquals("gpt-api-secrets", at(gateway, "envFrom", "1", "secretRef", "name"));
    // Spread over zones and nodes, each constraint selecting the gateway pods.
    List<Map<String, Object>> spread = at(pod, "topologySpreadConstraints");
    assertEquals(List.of("topology.kubernetes.io/zone", "kubernetes.io/hostname"),
        spread.stream().map(c -> c.get("topologyKey")).toList());
    assertEquals("gateway", at(spread.get(0), "labelSelector", "matchLabels", "app.kubernetes.io/component"));
    // The ConfigMap holds whole numbers as written (YAML floats printed as 2.592e+08 would not parse).
    Map<String, String> config = at(chart.get("ConfigMap", FULL), "data");
    assertEquals("259200000", config.get("WEBHOOK_DISABLE_AFTER_MS"));
    assertEquals("0.05", config.get("STATUS_ERROR_RATE"));
    assertFalse(config.containsKey("SMTP_HOST"), "empty settings are left out: the gateway's default applies");
    // A drained pod gets to finish: Kubernetes' grace covers the drain delay, the requests' grace and the flush.
    long drain = Long.parseLong(config.get("SHUTDOWN_DELAY_SECONDS")) + Long.parseLong(config.get("SHUTDOWN_GRACE_SECONDS"));
    assertTrue(((Number) at(pod, "terminationGracePeriodSeconds")).longValue() >= drain + 15,
        "terminationGracePeriodSeconds covers SHUTDOWN_DELAY_SECONDS + SHUTDOWN_GRACE_SECONDS + 15");
  }

  @Test
  @DisplayName("migrations: a pre-install/pre-upgrade Job running `migrate`, after its hook Secret")
  void migrationHook() {
    Chart chart = Chart.render(Chart.FULL);
    Map<String, Object> job = chart.get("Job", FULL + "-migrate");
    Map<String, Object> secret = chart.get("Secret", FULL + "-migrate");
    assertEquals("pre-install,pre-upgrade", at(job, "metadata", "annotations", HOOK));
    assertEquals("pre-install,pre-upgrade", at(secret, "metadata", "annotations", HOOK));
    int jobWeight = Integer.parseInt(at(job, "metadata", "annotations", HOOK + "-weight"));
    int secretWeight = Integer.parseInt(at(secret, "metadata", "annotations", HOOK + "-weight"));
    assertTrue(secretWeight < jobWeight, "the Secret the Job reads exists before it");
    assertEquals("before-hook-creation,hook-succeeded", at(job, "metadata", "annotations", HOOK + "-delete-policy"));
    Map<String, Object> container = at(job, "spec", "template", "spec", "containers", "0");
    assertEquals(List.of("migrate"), at(container, "args"));
    assertEquals(FULL + "-migrate", at(container, "envFrom", "0", "secretRef", "name"));
    assertEquals((Object) at(chart.get("Secret", FULL), "stringData"), at(secret, "stringData"), "the same secrets");
    // The Job gets the same settings as the pods (the ConfigMap does not exist yet when hooks run).
    Map<String, String> config = at(chart.get("ConfigMap", FULL), "data");
    Map<String, String> jobEnv = env(container);
    config.forEach((k, v) -> assertEquals(v, jobEnv.get(k), k));
    assertEquals(true, at(container, "securityContext", "readOnlyRootFilesystem"));

    // With the evaluation PostgreSQL (created after pre-install hooks) pods migrate at start instead.
    Chart evaluation = Chart.render(Chart.FULL, c -> c.set("postgresql.evaluation.enabled", "true")
        .set("secrets.values.DATABASE_URL", ""));
    assertTrue(evaluation.all("Job").isEmpty());
    Map<String, Object> gateway = at(evaluation.get("Deployment", FULL), "spec", "template", "spec", "containers",
        "0");
    assertEquals("true", env(gateway).get("MIGRATE_ON_START"));
    assertEquals("postgresql://gptapi:evaluation-only@prod-gpt-api-postgresql:5432/gptapi",
        at(evaluation.get("Secret", FULL), "stringData", "DATABASE_URL"));
    assertNotNull(evaluation.get("StatefulSet", FULL + "-postgresql"));
  }

  @Test
  @DisplayName("full-featured values: ingress TLS, HPA, PDB, network policies, monitoring, every object parsed")
  void fullFeatured() {
    Chart chart = Chart.render(Chart.FULL);
    Set<String> kinds = chart.all().stream().map(o -> (String) o.get("kind")).collect(Collectors.toSet());
    assertEquals(Set.of("ConfigMap", "Secret", "Service", "Deployment", "ServiceAccount", "Ingress",
        "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Job", "ServiceMonitor", "PrometheusRule"),
        kinds);
    for (Map<String, Object> object : chart.all()) {
      assertNotNull(object.get("apiVersion"), chart.names().toString());
      assertEquals("prod", at(object, "metadata", "labels", "app.kubernetes.io/instance"), (String) object.get("kind"));
    }
    Map<String, Object> ingress = chart.get("Ingress", FULL);
    assertEquals(List.of(Map.of("secretName", "gpt-api-tls", "hosts", List.of("api.gpt.ai"))),
        at(ingress, "spec", "tls"));
    assertEquals("http", at(ingress, "spec", "rules", "0", "http", "paths", "0", "backend", "service", "port", "name"));
    assertNull(at(chart.get("Deployment", FULL), "spec", "replicas"), "the HPA owns the replica count");
    assertEquals(12, (int) at(chart.get("HorizontalPodAutoscaler", FULL), "spec", "maxReplicas"));
    assertEquals(4, chart.all("NetworkPolicy").size());
    assertEquals("metrics", at(chart.get("ServiceMonitor", FULL), "spec", "endpoints", "0", "port"));
    Map<String, Object> dashboard = chart.get("ConfigMap", FULL + "-dashboard");
    assertEquals("1", at(dashboard, "metadata", "labels", "grafana_dashboard"));
    assertTrue(((String) at(dashboard, "data", "gpt-api.json")).contains("\"uid\": \"gpt-api\""));
  }

  @Test
  @DisplayName("llama.cpp per model: -np, --alias, --api-key, GPU, PVC or download; headless Services in BACKEND_DNS")
  void llamaBackends() {
    Chart chart = Chart.render(Chart.FULL);
    Map<String, Object> service = chart.get("Service", FULL + "-llama-gpt-fast");
    assertEquals("None", at(service, "spec", "clusterIP"), "headless: its DNS name resolves to the pods");
    assertEquals(false, at(service, "spec", "publishNotReadyAddresses"));
    Map<String, Object> fast = at(chart.get("Deployment", FULL + "-llama-gpt-fast"), "spec", "template", "spec");
    Map<String, Object> server = at(fast, "containers", "0");
    List<String> args = at(server, "args");
    assertEquals("4", args.get(args.indexOf("-np") + 1));
    assertEquals("gpt-fast", args.get(args.indexOf("--alias") + 1));
    assertEquals("$(LLAMA_API_KEY)", args.get(args.indexOf("--api-key") + 1));
    assertEquals("BACKEND_DNS_API_KEY", at(server, "env", "0", "valueFrom", "secretKeyRef", "key"));
    assertEquals(1, (int) at(server, "resources", "limits", "nvidia.com/gpu"));
    assertEquals("true", at(fast, "nodeSelector", "nvidia.com/gpu.present"));
    assertEquals("models", at(fast, "volumes", "0", "persistentVolumeClaim", "claimName"));
    assertEquals(true, at(server, "volumeMounts", "0", "readOnly"));
    assertEquals(Map.of("path", "/health", "port", "http"), at(server, "readinessProbe", "httpGet"));
    assertEquals(2, (int) at(chart.get("Deployment", FULL + "-llama-gpt-fast"), "spec", "replicas"));

    Map<String, Object> embed = at(chart.get("Deployment", FULL + "-llama-embed"), "spec", "template", "spec");
    assertTrue(((List<?>) at(embed, "containers", "0", "args")).contains("--embeddings"));
    assertEquals("download-model", at(embed, "initContainers", "0", "name"));
    assertEquals("https://models.example.com/snowflake-arctic-embed2.gguf",
        env(at(embed, "initContainers", "0")).get("MODEL_URL"));

    // The gateway resolves exactly these Services; remote RunPod backends come with their keys.
    Map<String, String> config = at(chart.get("ConfigMap", FULL), "data");
    assertEquals("gpt-fast=prod-gpt-api-llama-gpt-fast.ai.svc.cluster.local:8080,"
        + "embed=prod-gpt-api-llama-embed.ai.svc.cluster.local:8080", config.get("BACKEND_DNS"));
    assertEquals("gpt-full=https://abc123-8080.proxy.runpod.net", config.get("BACKENDS"));
    assertEquals("gpt-full=runpod-key", at(chart.get("Secret", FULL), "stringData", "BACKEND_API_KEYS"));

    IllegalStateException noKey = assertThrows(IllegalStateException.class,
        () -> Chart.render(Chart.FULL, c -> c.set("secrets.values.BACKEND_DNS_API_KEY", "")));
    assertTrue(noKey.getMessage().contains("BACKEND_DNS_API_KEY is required"), noKey.getMessage());
  }

  @Test
  @DisplayName("checksums: a settings change rolls the pods through checksum/config, a secret change through checksum/secret")
  void checksums() {
    Map<String, String> base = podAnnotations(Chart.render(Chart.FULL));
    Map<String, String> config = podAnnotations(Chart.render(Chart.FULL, c -> c.set("config.QUEUE_SIZE", "128")));
    Map<String, String> secret = podAnnotations(Chart.render(Chart.FULL,
        c -> c.set("secrets.values.JWT_SECRET", "another-jwt-secret-another-jwt-secret")));
    assertNotEquals(base.get("checksum/config"), config.get("checksum/config"));
    assertEquals(base.get("checksum/secret"), config.get("checksum/secret"));
    assertNotEquals(base.get("checksum/secret"), secret.get("checksum/secret"));
    assertEquals(base.get("checksum/config"), secret.get("checksum/config"));
    assertEquals(base, podAnnotations(Chart.render(Chart.FULL)), "the same values give the same checksums");
  }

  @Test
  @DisplayName("Redis Cluster: REDIS_URL lists the nodes and reaches the pods as given; the schema refuses other URLs")
  void redisCluster(@TempDir Path dir) throws IOException {
    String nodes = "redis://:pw@redis-0.redis:6379,redis://:pw@redis-1.redis:6379,rediss://:pw@redis-2.redis:6379";
    Path values = dir.resolve("cluster.yaml");
    Files.writeString(values, "secrets:\n  values:\n    REDIS_URL: \"" + nodes + "\"\n");
    Chart chart = Chart.render(Chart.FULL, c -> c.withValuesFile(values));
    assertEquals(nodes, at(chart.get("Secret", FULL), "stringData", "REDIS_URL"));
    for (String bad : List.of("http://redis:6379", "redis://a:6379,http://b:6379", "redis://a:6379,", "redis://a b")) {
      Files.writeString(values, "secrets:\n  values:\n    REDIS_URL: \"" + bad + "\"\n");
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> Chart.render(Chart.FULL, c -> c.withValuesFile(values)), bad);
      assertTrue(e.getMessage().contains("schema"), e.getMessage());
    }
  }

  @Test
  @DisplayName("updateStrategy: RollingUpdate by default; Recreate for an upgrade that moves metering keys in Redis")
  void updateStrategy() {
    Chart rolling = Chart.render(Chart.MINIMAL);
    assertEquals("RollingUpdate", at(rolling.get("Deployment", FULL), "spec", "strategy", "type"));
    Chart recreate = Chart.render(Chart.MINIMAL, c -> c.set("updateStrategy.type", "Recreate"));
    assertEquals(Map.of("type", "Recreate"), at(recreate.get("Deployment", FULL), "spec", "strategy"));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> Chart.render(Chart.MINIMAL, c -> c.set("updateStrategy.type", "Replace")));
    assertTrue(e.getMessage().contains("schema"), e.getMessage());
  }

  @Test
  @DisplayName("values.schema.json rejects typos and wrong types")
  void schemaRejectsTypos() {
    List<Map.Entry<String, String>> bad = List.of(
        Map.entry("config.QUEUE_SIZ", "1"), // a misspelt setting
        Map.entry("ingress.enabeld", "true"),
        Map.entry("replicaCount", "two"),
        Map.entry("config.QUEUE_SIZE", "many"),
        Map.entry("config.METERING_FAILURE_POLICY", "sometimes"),
        Map.entry("config.METERING", "false"),
        Map.entry("secrets.values.KEY_PEPER", "x"),
        Map.entry("llama.models[0].nmae", "gpt-fast"));
    for (Map.Entry<String, String> value : bad) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> Chart.render(Chart.MINIMAL, c -> c.set(value.getKey(), value.getValue())), value.getKey());
      assertTrue(e.getMessage().contains("schema"), e.getMessage());
    }
  }

  @Test
  @DisplayName("every variable of .env.example and every one the code reads is reachable from values")
  @SuppressWarnings("unchecked")
  void everySettingReachable() throws IOException {
    Set<String> variables = new HashSet<>();
    Matcher m = Pattern.compile("(?m)^#?([A-Z][A-Z0-9_]+)=").matcher(Files.readString(Path.of(".env.example")));
    while (m.find()) {
      variables.add(m.group(1));
    }
    assertTrue(variables.size() > 70, "parsed .env.example: " + variables.size());
    try (var files = Files.walk(Path.of("src", "main", "java"))) {
      Pattern read = Pattern.compile("(?:env\\.get|positiveLong\\(env,|text\\(env,)\\s*\\(?\"([A-Z][A-Z0-9_]+)\"");
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        Matcher r = read.matcher(Files.readString(f));
        while (r.find()) {
          assertTrue(variables.contains(r.group(1)) || r.group(1).equals("HOSTNAME"),
              r.group(1) + " is read by " + f + " but missing from .env.example");
        }
      }
    }
    Map<String, Object> values = new Yaml().load(Files.readString(Chart.DIR.resolve("values.yaml")));
    Set<String> fromValues = new HashSet<>(((Map<String, Object>) values.get("config")).keySet());
    fromValues.addAll(((Map<String, Object>) at(values, "secrets", "values")).keySet());
    // Composed by the chart from other values: llama.models (BACKEND_DNS), migrations.job (MIGRATE_ON_START).
    fromValues.addAll(List.of("BACKEND_DNS", "MIGRATE_ON_START"));
    List<String> missing = new ArrayList<>(variables);
    missing.removeAll(fromValues);
    assertEquals(List.of(), missing, "not configurable from values");
    // And a value given reaches the pod's environment (ConfigMap or Secret).
    Chart chart = Chart.render(Chart.FULL);
    Map<String, String> env = new HashMap<>(at(chart.get("ConfigMap", FULL), "data"));
    env.putAll(at(chart.get("Secret", FULL), "stringData"));
    assertEquals("http://127.0.0.1:9999", env.get("INDEED_OAUTH_SITE"));
    assertEquals("in-cluster-llama-key", env.get("BACKEND_DNS_API_KEY"));
  }

  private static Map<String, String> podAnnotations(Chart chart) {
    return at(chart.get("Deployment", FULL), "spec", "template", "metadata", "annotations");
  }

  private static Map<String, String> env(Map<String, Object> container) {
    Map<String, String> out = new HashMap<>();
    List<Map<String, Object>> env = at(container, "env");
    for (Map<String, Object> e : env) {
      if (e.get("value") != null) {
        out.put((String) e.get("name"), (String) e.get("value"));
      }
    }
    return out;
  }

}
