package ai.gpt.api.helm;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The chart in helm/gpt-api rendered by Helm itself (helm-java runs Helm's Go library in-process: no binary, no
 * cluster), parsed into plain maps for assertions.
 *
 * <p>helm-java's template returns the release manifest, which leaves hooks out (the helm CLI prints them
 * separately). So the chart is rendered from a copy whose {@code helm.sh/hook*} annotation keys are renamed to
 * {@link #HOOK}{@code *}: the hook objects then render like any other, with their hook annotations to assert on.
 */
public final class Chart {
  public static final Path DIR = Path.of("helm", "gpt-api");
  /** The smallest real install: every secret from an existing Secret. */
  public static final Path MINIMAL = Path.of("src", "test", "resources", "helm", "minimal-values.yaml");
  /** Every feature on: chart-made Secret, ingress with TLS, HPA, network policies, llama.cpp, RunPod, monitoring. */
  public static final Path FULL = Path.of("src", "test", "resources", "helm", "full-values.yaml");

  /** The hook annotation's key in what {@link #render} returns. */
  public static final String HOOK = "rendered.helm.sh/hook";
  private static Path copy;

  private final List<Map<String, Object>> objects;

  private Chart(List<Map<String, Object>> objects) {
    this.objects = objects;
  }

  /** Renders with a values file and extra --set values. */
  public static Chart render(Path values, UnaryOperator<TemplateCommand> more) {
    TemplateCommand command = new Helm(hooksVisible()).template().withName("prod").withNamespace("ai").withKubeVersion("1.30.0");
    if (values != null) {
      command = command.withValuesFile(values);
    }
    String yaml = more.apply(command).call();
    List<Map<String, Object>> objects = new ArrayList<>();
    Yaml parser = new Yaml(new LoaderOptions());
    for (Object doc : parser.loadAll(yaml)) {
      if (doc != null) {
        @SuppressWarnings("unchecked")
        Map<String, Object> object = (Map<String, Object>) doc;
        objects.add(object);
      }
    }
    return new Chart(objects);
  }

  private static synchronized Path hooksVisible() {
    if (copy == null) {
      try {
        Path target = Files.createTempDirectory("gpt-api-chart");
        try (Stream<Path> files = Files.walk(DIR)) {
          for (Path file : files.toList()) {
            Path to = target.resolve(DIR.relativize(file).toString());
            if (Files.isDirectory(file)) {
              Files.createDirectories(to);
            } else {
              Files.writeString(to, Files.readString(file).replace("helm.sh/hook", HOOK));
            }
          }
        }
        copy = target;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return copy;
  }

  public static Chart render(Path values) {
    return render(values, c -> c);
  }

  public List<Map<String, Object>> all() {
    return objects;
  }

  public List<Map<String, Object>> all(String kind) {
    return objects.stream().filter(o -> kind.equals(o.get("kind"))).toList();
  }

  /** The one object of that kind and name. */
  public Map<String, Object> get(String kind, String name) {
    return objects.stream()
        .filter(o -> kind.equals(o.get("kind")) && name.equals(at(o, "metadata", "name")))
        .findFirst().orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in " + names()));
  }

  public List<String> names() {
    return objects.stream().map(o -> o.get("kind") + "/" + at(o, "metadata", "name")).toList();
  }

  /** Walks maps by key and lists by index ("0"). */
  @SuppressWarnings("unchecked")
  public static <T> T at(Object node, String... path) {
    Object current = node;
    for (String step : path) {
      if (current instanceof Map<?, ?> map) {
        current = map.get(step);
      } else if (current instanceof List<?> list) {
        current = list.get(Integer.parseInt(step));
      } else {
        throw new AssertionError("no " + step + " in " + Objects.toString(current));
      }
    }
    return (T) current;
  }
}
