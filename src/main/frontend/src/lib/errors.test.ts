import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "./api";
import { formatWait, routeError } from "./errors";
import * as toasts from "./toasts";

describe("routeError", () => {
  afterEach(() => vi.restoreAllMocks());

  it("puts an error on the form field it names", () => {
    const toast = vi.spyOn(toasts, "toast");
    const err = new ApiError(400, "invalid_request_error", "'email' is not an e-mail address.", "email");
    expect(routeError(err, ["email", "password"])).toEqual({ email: "'email' is not an e-mail address." });
    expect(toast).not.toHaveBeenCalled();
  });

  it("toasts red when no field of the form is named", () => {
    const toast = vi.spyOn(toasts, "toast");
    expect(routeError(new ApiError(401, "invalid_credentials", "Wrong e-mail or password."), ["email"])).toEqual({});
    expect(toast).toHaveBeenCalledWith("bad", "Please sign in", "Wrong e-mail or password.");
  });

  it("toasts yellow with the wait for a 429", () => {
    const toast = vi.spyOn(toasts, "toast");
    routeError(new ApiError(429, "too_many_attempts", "Too many sign-in attempts.", null, 120));
    expect(toast).toHaveBeenCalledWith("warn", "Slow down", "Too many sign-in attempts. Try again in 2 min.");
  });

  it("stays silent for an aborted request", () => {
    const toast = vi.spyOn(toasts, "toast");
    routeError(new DOMException("aborted", "AbortError"));
    expect(toast).not.toHaveBeenCalled();
  });

  it("formats waits", () => {
    expect([formatWait(5), formatWait(61), formatWait(7200)]).toEqual(["5 s", "2 min", "2 h"]);
  });
});
