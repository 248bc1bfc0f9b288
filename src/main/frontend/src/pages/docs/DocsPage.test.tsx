import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import DocsPage from "./DocsPage";
import { BASE_URL_PLACEHOLDER, LANGUAGES, SECTIONS, forSite } from "./examples";

function renderDocs() {
  return render(
    <MemoryRouter>
      <DocsPage />
    </MemoryRouter>,
  );
}

describe("Docs page", () => {
  it("has every section in every language, each with what its curl example must answer", () => {
    expect(SECTIONS.map((s) => s.id)).toEqual(["setup", "chat", "streaming", "embeddings", "models", "errors", "rate-limits", "retries"]);
    for (const s of SECTIONS) {
      for (const [language] of LANGUAGES) expect(s.code[language], `${s.id} in ${language}`).toBeTruthy();
      expect(s.curl_expect.length, s.id).toBeGreaterThan(0);
    }
  }, 60_000);

  it("switches every section's language at once, remembers it, and copies the shown example", async () => {
    const user = userEvent.setup();
    renderDocs();
    expect(screen.getByRole("link", { name: /API reference/ })).toHaveAttribute("href", "/api/docs");
    const chat = screen.getByRole("region", { name: "Chat completions" });
    expect(within(chat).getByText(/curl -sS "\$GPTAPI_BASE_URL\/v1\/chat\/completions"/)).toBeInTheDocument();

    await user.click(within(chat).getByRole("tab", { name: "Python" }));
    expect(within(chat).getByText(/client\.chat\.completions\.create/)).toBeInTheDocument();
    const streaming = screen.getByRole("region", { name: "Streaming" });
    expect(within(streaming).getByRole("tab", { name: "Python" })).toHaveAttribute("aria-selected", "true");
    expect(localStorage.getItem("gptapi.docs.language")).toBe("python");

    await user.click(within(chat).getByRole("button", { name: "Copy the Chat completions — Python example" }));
    expect(await navigator.clipboard.readText()).toBe(SECTIONS.find((s) => s.id === "chat")!.code.python);
  }, 60_000);

  it("shows this site's address in place of the placeholder", () => {
    expect(forSite(`export GPTAPI_BASE_URL="${BASE_URL_PLACEHOLDER}"`, "https://api.example")).toBe('export GPTAPI_BASE_URL="https://api.example"');
    renderDocs();
    const setup = screen.getByRole("region", { name: "Set up" });
    expect(within(setup).getByText(new RegExp(`GPTAPI_BASE_URL="${window.location.origin}"`))).toBeInTheDocument();
  }, 60_000);

  it("lists the error statuses with their codes", () => {
    renderDocs();
    const errors = screen.getByRole("region", { name: "Errors" });
    const codes = ["invalid_api_key", "insufficient_quota", "rate_limit_exceeded", "model_not_found", "gateway_overloaded"];
    for (const code of codes) {
      expect(within(errors).getByRole("cell", { name: code })).toBeInTheDocument();
    }
  }, 60_000);
});
