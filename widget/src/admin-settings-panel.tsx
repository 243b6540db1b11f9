/**
 * The demo's "Tenant settings" panel in the staff view: an admin reads the tenant's limits and retention in force and
 * changes them. Save sends only what changed, If-Match the version read; when someone else saved first (412) the
 * panel says so and shows the values now in force. A token without the admin role is told the panel is for admins.
 */
import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import type { ApiRequestOptions } from "./api-requests";
import {
  createSettingsClient, draftsOf, SETTING_FIELDS, SettingsError, settingsPatch,
  type LoadedSettings, type SettingDrafts, type SettingField, type TenantConfigPatch,
} from "./admin-settings";

const FIELD_LABELS: Record<SettingField, string> = {
  daily_cost_limit_cents: "Daily cost limit, whole tenant (cents)",
  user_daily_cost_limit_cents: "Daily cost limit per user (cents)",
  session_cost_limit_cents: "Cost limit per conversation (cents)",
  max_messages_per_session: "Messages per conversation",
  max_sessions_per_user_per_day: "Conversations per user per day",
  retention_days: "Keep conversations for (days)",
};

const FIELD_HINTS: Partial<Record<SettingField, string>> = {
  user_daily_cost_limit_cents: "Empty: no limit per user.",
};

const WHOLE_NUMBERS: ReadonlySet<SettingField> = new Set(["max_messages_per_session", "max_sessions_per_user_per_day", "retention_days"]);

const FORBIDDEN = "Tenant settings are for administrators: this token has no admin role "
  + "(mint one with make token USER=boss TENANT=acme ADMIN=1).";
const CONFLICT = "Someone else changed the settings since you loaded them. The values now in force are shown: "
  + "make your change again.";

type Status = "loading" | "ready" | "saving" | "forbidden" | "failed";

export interface TenantSettingsPanelProps extends ApiRequestOptions {}

export function TenantSettingsPanel(props: TenantSettingsPanelProps): ReactNode {
  // A host passes a new getToken each render (the demo does): the latest is read when a request goes out, so a render
  // never makes a new client, and so never loads again.
  const latest = useRef(props);
  latest.current = props;
  const { apiBaseUrl } = props;
  const client = useMemo(() => createSettingsClient({
    apiBaseUrl,
    getToken: () => latest.current.getToken(),
    fetch: (...args) => (latest.current.fetch ?? globalThis.fetch)(...args),
  }), [apiBaseUrl]);
  const id = useId();
  const [status, setStatus] = useState<Status>("loading");
  const [loaded, setLoaded] = useState<LoadedSettings | null>(null);
  const [drafts, setDrafts] = useState<SettingDrafts | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [alert, setAlert] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<{ field: SettingField; message: string } | null>(null);

  const show = useCallback((settings: LoadedSettings): void => {
    setLoaded(settings);
    setDrafts(draftsOf(settings.config));
    setStatus("ready");
  }, []);

  const fail = useCallback((error: unknown): void => {
    if (error instanceof SettingsError && error.kind === "forbidden") {
      setStatus("forbidden");
      return;
    }
    setAlert(error instanceof Error ? error.message : String(error));
    setStatus((current) => (current === "saving" ? "ready" : "failed"));
  }, []);

  const load = useCallback(async (): Promise<void> => {
    setStatus("loading");
    try {
      show(await client.load());
    } catch (error) {
      fail(error);
    }
  }, [client, show, fail]);

  useEffect(() => {
    void load();
  }, [load]);

  const send = async (patch: TenantConfigPatch): Promise<void> => {
    if (!loaded) return;
    setStatus("saving");
    setNotice(null);
    setAlert(null);
    setFieldError(null);
    try {
      show(await client.save(patch, loaded.etag));
      setNotice("Saved.");
    } catch (error) {
      if (error instanceof SettingsError && error.kind === "conflict") {
        setAlert(CONFLICT);
        await load();
      } else if (error instanceof SettingsError && error.kind === "invalid" && error.field) {
        setFieldError({ field: error.field, message: error.message });
        setStatus("ready");
      } else {
        fail(error);
      }
    }
  };

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (!loaded || !drafts || status === "saving") return;
    const result = settingsPatch(loaded.config, drafts);
    setNotice(null);
    setAlert(null);
    if ("field" in result) {
      setFieldError(result);
      return;
    }
    setFieldError(null);
    if (Object.keys(result.patch).length === 0) {
      setNotice("Nothing changed, nothing to save.");
      return;
    }
    void send(result.patch);
  };

  const headingId = `${id}-heading`;
  return (
    <section className="aichat-tenant-settings" aria-labelledby={headingId}>
      <h2 id={headingId}>Tenant settings</h2>
      {/* A state of the page rather than an error of an action: no alert, so the inbox's own alerts stay the page's only. */}
      {status === "forbidden" && <p>{FORBIDDEN}</p>}
      {status === "loading" && !loaded && <p>Loading the settings…</p>}
      {alert && <p role="alert">{alert}</p>}
      {loaded && drafts && status !== "forbidden" && (
        <form onSubmit={submit} noValidate aria-labelledby={headingId} aria-busy={status === "saving" || status === "loading"}>
          {SETTING_FIELDS.map((field) => {
            const inputId = `${id}-${field}`;
            const hint = FIELD_HINTS[field];
            const error = fieldError?.field === field ? fieldError.message : null;
            const described = [hint && `${inputId}-hint`, error && `${inputId}-error`].filter(Boolean).join(" ");
            return (
              <div key={field} className="aichat-setting" data-field={field}>
                <label htmlFor={inputId}>{FIELD_LABELS[field]}</label>{" "}
                <input
                  id={inputId}
                  type="number"
                  step={WHOLE_NUMBERS.has(field) ? 1 : "any"}
                  value={drafts[field]}
                  onChange={(e) => setDrafts({ ...drafts, [field]: e.target.value })}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={described || undefined}
                />{" "}
                <button type="button" disabled={status !== "ready"} onClick={() => void send({ [field]: null })}
                  aria-label={`Reset ${FIELD_LABELS[field]} to default`}>
                  Reset to default
                </button>
                {hint && <small id={`${inputId}-hint`}> {hint}</small>}
                {error && <p id={`${inputId}-error`} className="aichat-setting-error" role="alert">{error}</p>}
              </div>
            );
          })}
          <p>
            <button type="submit" disabled={status !== "ready"}>{status === "saving" ? "Saving…" : "Save"}</button>{" "}
            <small>Version <code data-testid="settings-etag">{loaded.etag}</code></small>
          </p>
          <p role="status">{notice}</p>
        </form>
      )}
    </section>
  );
}
