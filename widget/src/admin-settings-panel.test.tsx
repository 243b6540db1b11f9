import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { StrictMode } from "react";
import { afterEach, describe, expect, it } from "vitest";
import type { TenantConfig } from "./admin-settings";
import { TenantSettingsPanel } from "./admin-settings-panel";

afterEach(() => {
  cleanup();
});

const DEFAULTS: TenantConfig = {
  daily_cost_limit_cents: 10000,
  user_daily_cost_limit_cents: null,
  session_cost_limit_cents: 100,
  max_messages_per_session: 100,
  max_sessions_per_user_per_day: 50,
  retention_days: 90,
  session_types: {},
};

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * GET and PATCH /admin/config as the server answers them: an ETag per version, 412 for a stale If-Match, 403 for a
 * token that is not an admin's; `refuse` answers the next PATCH with a 422 naming a field.
 */
class FakeConfigServer {
  config: TenantConfig = { ...DEFAULTS };
  version = 0;
  admin = true;
  refuse: { field: string; detail: string } | null = null;
  readonly sent: Sent[] = [];

  /** Someone else's change, saved meanwhile. */
  changeElsewhere(patch: Partial<TenantConfig>): void {
    this.config = { ...this.config, ...patch };
    this.version += 1;
  }

  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>));
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    const method = init?.method ?? "GET";
    this.sent.push({ method, url: String(input), headers, body });
    const error = (status: number, code: string, detail: string, field: string | null = null): Response =>
      Response.json({ detail, code, field }, { status });
    if (!this.admin) return error(403, "forbidden", "This needs the admin role.");
    if (method === "PATCH") {
      if (!headers["If-Match"]) return error(428, "precondition_required", "Send If-Match.", "If-Match");
      if (headers["If-Match"] !== `"${this.version}"`) {
        return error(412, "precondition_failed", "The configuration changed since you read it.", "If-Match");
      }
      if (this.refuse) {
        const { field, detail } = this.refuse;
        this.refuse = null;
        return error(422, "invalid_input", detail, field);
      }
      const patch = body as Record<string, unknown>;
      const next = { ...this.config } as Record<string, unknown>;
      for (const [field, value] of Object.entries(patch)) next[field] = value === null ? (DEFAULTS as Record<string, unknown>)[field] : value;
      this.config = next as unknown as TenantConfig;
      this.version += 1;
    }
    return Response.json(this.config, { headers: { ETag: `"${this.version}"` } });
  };
}

function show(server: FakeConfigServer, strict = false): void {
  const panel = <TenantSettingsPanel apiBaseUrl="https://api.test" getToken={() => "admin-token"} fetch={server.fetch} />;
  render(strict ? <StrictMode>{panel}</StrictMode> : panel);
}

const field = (name: string): HTMLInputElement => screen.getByLabelText(name) as HTMLInputElement;
const patches = (server: FakeConfigServer): Sent[] => server.sent.filter((s) => s.method === "PATCH");

describe("the tenant settings panel", () => {
  it.each([false, true])("loads the values in force into labelled number inputs, and the version (StrictMode: %s)", async (strict) => {
    const server = new FakeConfigServer();
    show(server, strict);
    await waitFor(() => expect(field("Messages per conversation").value).toBe("100"));
    expect(field("Daily cost limit, whole tenant (cents)").value).toBe("10000");
    expect(field("Daily cost limit per user (cents)").value).toBe("");
    expect(field("Cost limit per conversation (cents)").value).toBe("100");
    expect(field("Conversations per user per day").value).toBe("50");
    expect(field("Keep conversations for (days)").value).toBe("90");
    expect(field("Messages per conversation").type).toBe("number");
    expect(screen.getByTestId("settings-etag").textContent).toBe('"0"');
    const get = server.sent[0]!;
    expect(get).toMatchObject({ method: "GET", url: "https://api.test/api/v1/ai/admin/config" });
    expect(get.headers.Authorization).toBe("Bearer admin-token");
    // One GET each mount, however often it renders.
    expect(server.sent.length).toBe(strict ? 2 : 1);
  });

  it("saves a merge patch of the one field changed, If-Match the ETag loaded, then shows Saved and the new version", async () => {
    const server = new FakeConfigServer();
    show(server);
    await waitFor(() => expect(field("Messages per conversation").value).toBe("100"));
    fireEvent.change(field("Messages per conversation"), { target: { value: "40" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await screen.findByText("Saved.");
    const [patch] = patches(server);
    expect(patch!.body).toEqual({ max_messages_per_session: 40 });
    expect(patch!.headers["If-Match"]).toBe('"0"');
    expect(patch!.headers["Content-Type"]).toBe("application/merge-patch+json");
    expect(screen.getByRole("status").textContent).toBe("Saved.");
    expect(screen.getByTestId("settings-etag").textContent).toBe('"1"');
    expect(field("Messages per conversation").value).toBe("40");
  });

  it("sends nothing when nothing changed", async () => {
    const server = new FakeConfigServer();
    show(server);
    await waitFor(() => expect(field("Messages per conversation").value).toBe("100"));
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await screen.findByText("Nothing changed, nothing to save.");
    expect(patches(server)).toEqual([]);
  });

  it("on 412 says someone else changed the settings and shows the values now in force", async () => {
    const server = new FakeConfigServer();
    show(server);
    await waitFor(() => expect(field("Messages per conversation").value).toBe("100"));
    server.changeElsewhere({ retention_days: 30 });
    fireEvent.change(field("Messages per conversation"), { target: { value: "40" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toMatch(/^Someone else changed the settings since you loaded them/);
    await waitFor(() => expect(field("Keep conversations for (days)").value).toBe("30"));
    expect(field("Messages per conversation").value).toBe("100");
    expect(screen.getByTestId("settings-etag").textContent).toBe('"1"');
    expect(server.sent.map((s) => s.method)).toEqual(["GET", "PATCH", "GET"]);
    expect(server.config.max_messages_per_session).toBe(100);

    // Saved again, it goes through with the version reloaded.
    fireEvent.change(field("Messages per conversation"), { target: { value: "40" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await screen.findByText("Saved.");
    expect(patches(server)[1]!.headers["If-Match"]).toBe('"1"');
    expect(server.config).toMatchObject({ max_messages_per_session: 40, retention_days: 30 });
  });

  it("on 422 shows the server's message next to the field it names, tied to its input", async () => {
    const server = new FakeConfigServer();
    show(server);
    await waitFor(() => expect(field("Messages per conversation").value).toBe("100"));
    server.refuse = { field: "retention_days", detail: "retention_days: at most 3650." };
    fireEvent.change(field("Keep conversations for (days)"), { target: { value: "9999" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    const row = document.querySelector('[data-field="retention_days"]') as HTMLElement;
    const message = await within(row).findByRole("alert");
    expect(message.textContent).toBe("retention_days: at most 3650.");
    const input = field("Keep conversations for (days)");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(input.getAttribute("aria-describedby")).toBe(message.id);
    expect(screen.getAllByRole("alert")).toHaveLength(1);
    expect(input.value).toBe("9999");
  });

  it("refuses an input that is not a number before sending anything", async () => {
    const server = new FakeConfigServer();
    show(server);
    await waitFor(() => expect(field("Messages per conversation").value).toBe("100"));
    fireEvent.change(field("Cost limit per conversation (cents)"), { target: { value: "" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    const row = document.querySelector('[data-field="session_cost_limit_cents"]') as HTMLElement;
    expect((await within(row).findByRole("alert")).textContent).toBe("Enter a number.");
    expect(patches(server)).toEqual([]);
  });

  it("resets one field to the deployment's value with null", async () => {
    const server = new FakeConfigServer();
    server.changeElsewhere({ max_messages_per_session: 7 });
    show(server);
    await waitFor(() => expect(field("Messages per conversation").value).toBe("7"));
    fireEvent.click(screen.getByRole("button", { name: "Reset Messages per conversation to default" }));
    await screen.findByText("Saved.");
    expect(patches(server)[0]!.body).toEqual({ max_messages_per_session: null });
    expect(field("Messages per conversation").value).toBe("100");
  });

  it("tells a token without the admin role that the settings are for administrators", async () => {
    const server = new FakeConfigServer();
    server.admin = false;
    show(server);
    await screen.findByText(/^Tenant settings are for administrators/);
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByRole("button", { name: "Save" })).toBeNull();
    expect(screen.getByRole("region", { name: "Tenant settings" })).toBeTruthy();
  });
});
