package ai.gpt.api.orgs;

import java.util.Locale;

/** A member's role in an organization, weakest first. */
public enum Role {
  MEMBER,
  ADMIN,
  OWNER;

  public boolean atLeast(Role other) {
    return compareTo(other) >= 0;
  }

  public String code() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses owner, admin or member; null otherwise. */
  public static Role parse(String code) {
    for (Role r : values()) {
      if (r.code().equals(code)) {
        return r;
      }
    }
    return null;
  }
}
