/**
 * A tenant's own limits and retention over GET and PATCH /admin/config (role admin), for the demo's staff view: what
 * its settings panel loads and saves. A save is a JSON merge patch of the changed fields only, sent with If-Match the
 * ETag they were loaded with, so a change someone else saved meanwhile is refused (412) rather than overwritten.
 */
import type { components } from "./api-schema.generated";
import { createApiRequests, type ApiRequestOptions } from "./api-requests";

export type TenantConfig = components["schemas"]["TenantConfigOut"];
export type TenantConfigPatch = components["schemas"]["TenantConfigPatch"];

/** The fields the panel shows, in its order: the five limits, then the retention. */
export const SETTING_FIELDS = [
  "daily_cost_limit_cents",
  "user_daily_cost_limit_cents",
  "session_cost_limit_cents",
  "max_messages_per_session",
  "max_sessions_per_user_per_day",
  "retention_days",
] as const satisfies readonly (keyof TenantConfig & keyof TenantConfigPatch)[];

export type SettingField = (typeof SETTING_FIELDS)[number];

/** What an input holds for each field: text, as typed; empty for a limit that is not set (null). */
export type SettingDrafts = Record<SettingField, string>;

/** The configuration in force and the ETag naming its stored version (If-Match for the next change). */
export interface LoadedSettings {
  config: TenantConfig;
  etag: string;
}

/** Why a load or a save failed, in the terms the panel decides on. */
export type SettingsFailureKind =
  | "forbidden" // 403: the token has no admin role
  | "conflict" // 412 (someone else saved first) or 428 (no ETag sent)
  | "invalid" // 422: `field` names the field, when it is one of SETTING_FIELDS
  | "failed"; // anything else: the network, the server, an expired token

export class SettingsError extends Error {
  override readonly name = "SettingsError";

  constructor(
    readonly kind: SettingsFailureKind,
    message: string,
    readonly status: number,
    readonly field: SettingField | null = null,
  ) {
    super(message);
  }
}

function isSettingField(value: unknown): value is SettingField {
  return typeof value === "string" && (SETTING_FIELDS as readonly string[]).includes(value);
}

function kindOf(status: number): SettingsFailureKind {
  if (status === 403) return "forbidden";
  if (status === 412 || status === 428) return "conflict";
  if (status === 422) return "invalid";
  return "failed";
}

async function failure(response: Response): Promise<SettingsError> {
  let body: { detail?: unknown; field?: unknown } = {};
  try {
    const parsed: unknown = await response.json();
    if (typeof parsed === "object" && parsed !== null) body = parsed;
  } catch {
    // A proxy's error page or an empty body: the status alone tells what happened.
  }
  const detail = typeof body.detail === "string" && body.detail.trim() ? body.detail : `The server answered ${response.status}.`;
  return new SettingsError(kindOf(response.status), detail, response.status, isSettingField(body.field) ? body.field : null);
}

/** GET and PATCH /admin/config over fetch, with `Authorization: Bearer <getToken()>`; failures throw SettingsError. */
export function createSettingsClient(options: ApiRequestOptions) {
  const { base, bearer } = createApiRequests(options);

  async function request(init: RequestInit & { headers: Record<string, string> }): Promise<LoadedSettings> {
    const doFetch = options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await doFetch(`${base}/admin/config`, {
        ...init,
        headers: { Accept: "application/json", Authorization: await bearer(), ...init.headers },
      });
    } catch (e) {
      throw new SettingsError("failed", e instanceof Error ? e.message : "The server could not be reached.", 0);
    }
    if (!response.ok) throw await failure(response);
    return { config: (await response.json()) as TenantConfig, etag: response.headers.get("ETag") ?? "" };
  }

  return {
    load: () => request({ method: "GET", headers: {} }),
    /** Send `patch` (only the fields to change; null resets one to the deployment's value) If-Match `etag`. */
    save: (patch: TenantConfigPatch, etag: string) => request({
      method: "PATCH",
      headers: { "Content-Type": "application/merge-patch+json", "If-Match": etag },
      body: JSON.stringify(patch),
    }),
  };
}

export type SettingsClient = ReturnType<typeof createSettingsClient>;

/** The inputs' text for `config`. */
export function draftsOf(config: TenantConfig): SettingDrafts {
  return Object.fromEntries(SETTING_FIELDS.map((field) => [field, config[field] === null ? "" : String(config[field])])) as SettingDrafts;
}

/**
 * The merge patch of the fields whose input differs from `config`, or, for an input that is not a number, the field
 * and why. A limit that is not set stays unset while its input is empty.
 */
export function settingsPatch(config: TenantConfig, drafts: SettingDrafts):
  { patch: TenantConfigPatch } | { field: SettingField; message: string } {
  const patch: Partial<Record<SettingField, number>> = {};
  for (const field of SETTING_FIELDS) {
    const text = drafts[field].trim();
    const current = config[field];
    if (text === "" && current === null) continue;
    const value = Number(text);
    if (text === "" || !Number.isFinite(value)) return { field, message: "Enter a number." };
    if (value !== current) patch[field] = value;
  }
  return { patch };
}
