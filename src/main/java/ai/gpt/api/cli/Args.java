package ai.gpt.api.cli;

import ai.gpt.api.input.WholeNumber;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Positional words and {@code --name value} options of a command line. */
final class Args {
  private final List<String> words = new ArrayList<>();
  private final Map<String, String> options = new HashMap<>();

  Args(List<String> args) {
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.startsWith("--")) {
        if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
          throw new CliException("Option " + a + " needs a value.");
        }
        options.put(a.substring(2), args.get(++i));
      } else {
        words.add(a);
      }
    }
  }

  String word(int index, String what) {
    if (index >= words.size()) {
      throw new CliException("Missing " + what + ".");
    }
    return words.get(index);
  }

  int wordCount() {
    return words.size();
  }

  String option(String name) {
    return options.get(name);
  }

  String required(String name) {
    String v = options.get(name);
    if (v == null) {
      throw new CliException("Missing --" + name + ".");
    }
    return v;
  }

  Integer positiveInt(String name) {
    String v = options.get(name);
    if (v == null) {
      return null;
    }
    try {
      return (int) WholeNumber.parse(v, 1, Integer.MAX_VALUE);
    } catch (IllegalArgumentException e) {
      throw new CliException("--" + name + " must be a positive whole number (it " + e.getMessage() + ").");
    }
  }

  void allowOnly(String... names) {
    for (String key : options.keySet()) {
      if (!List.of(names).contains(key)) {
        throw new CliException("Unknown option --" + key + ".");
      }
    }
  }
}
