/**
 * The locales the package ships, and the labels a component shows: a locale's whole set with a host's own words
 * over it.
 */
import { de } from "./labels-de";
import { en, type Labels } from "./labels";

/** The shipped locales by name. */
export const LOCALES = { en, de } as const satisfies Record<string, Labels>;

export type LocaleName = keyof typeof LOCALES;

/** The labels to show: `locale`'s (English by default), each key `labels` gives replaced by its. */
export function resolveLabels(locale: LocaleName | undefined, labels: Partial<Labels> | undefined): Labels {
  const base = LOCALES[locale ?? "en"] ?? en;
  return labels ? { ...base, ...labels } : base;
}
