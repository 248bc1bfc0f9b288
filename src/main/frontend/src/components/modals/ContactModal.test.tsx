import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useEffect } from "react";
import { describe, expect, it } from "vitest";
import { useModals } from "@/lib/modals";
import { fakeServer, renderApp } from "@/test/render";

function OpenContact() {
  const { open } = useModals();
  useEffect(() => open({ kind: "contact" }), [open]);
  return null;
}

const BAD_NAME = { error: { message: "'name' must be a single line.", type: "invalid_request_error", param: "name", code: null } };
const SLOW_DOWN = { error: { message: "Too many messages sent. Please try again later.", type: "invalid_request_error", param: null, code: "too_many_attempts" } };

describe("Contact Us", () => {
  it("sends the message and says so in a green toast", async () => {
    const user = userEvent.setup();
    const { client, calls } = fakeServer((method, url) => (method === "POST" && url === "/api/contact" ? [202, { id: 1 }] : undefined));
    renderApp(<OpenContact />, { client });
    const dialog = await screen.findByRole("dialog", { name: "Contact Us" });
    await user.type(within(dialog).getByLabelText("Name"), "Ann");
    await user.type(within(dialog).getByLabelText("E-mail"), "ann@example.com");
    await user.selectOptions(within(dialog).getByLabelText("Topic"), "billing");
    await user.type(within(dialog).getByLabelText("Message"), "Where is my invoice?");
    await user.click(within(dialog).getByRole("button", { name: "Send message" }));
    const toast = await screen.findByText("Message sent");
    expect(toast.closest("[data-kind]")).toHaveAttribute("data-kind", "good");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(calls.find((c) => c.url === "/api/contact")?.body).toEqual({ name: "Ann", email: "ann@example.com", topic: "billing", message: "Where is my invoice?" });
  });

  it("shows a field error at its field, and a rate limit as a yellow toast", async () => {
    const user = userEvent.setup();
    let answer: [number, unknown] = [400, BAD_NAME];
    const { client } = fakeServer((method, url) => (method === "POST" && url === "/api/contact" ? answer : undefined));
    renderApp(<OpenContact />, { client });
    const dialog = await screen.findByRole("dialog", { name: "Contact Us" });
    await user.type(within(dialog).getByLabelText("Name"), "Ann");
    await user.type(within(dialog).getByLabelText("E-mail"), "ann@example.com");
    await user.type(within(dialog).getByLabelText("Message"), "Hi");
    await user.click(within(dialog).getByRole("button", { name: "Send message" }));
    expect(await within(dialog).findByText("'name' must be a single line.")).toBeInTheDocument();
    answer = [429, SLOW_DOWN];
    await user.click(within(dialog).getByRole("button", { name: "Send message" }));
    const toast = await screen.findByText(/Too many messages sent/);
    expect(toast.closest("[data-kind]")).toHaveAttribute("data-kind", "warn");
  });
});
