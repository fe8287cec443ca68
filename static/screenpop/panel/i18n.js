// Translations come from Django's JavaScript catalogue (/widget/jsi18n/<language>.js, loaded before the modules),
// which defines globalThis.django. Without it (a failed load) the English source strings show.

const catalogue = globalThis.django || {};

export function gettext(message) {
  return catalogue.gettext ? catalogue.gettext(message) : message;
}

export function ngettext(singular, plural, count) {
  if (catalogue.ngettext) return catalogue.ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

// Named placeholders, as Django's `interpolate(fmt, values, true)`: "Call from %(number)s".
export function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (match, name) => (name in values ? String(values[name]) : match));
}

const UNITS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

// "3 minutes ago" in the panel's language (Intl does the grammar); "" for a missing or unreadable time.
export function relativeTime(isoTime, language, now = Date.now()) {
  const at = Date.parse(isoTime || "");
  if (Number.isNaN(at)) return "";
  const seconds = Math.round((at - now) / 1000);
  let formatter;
  try {
    formatter = new Intl.RelativeTimeFormat(language, { numeric: "auto" });
  } catch {
    formatter = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  }
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return formatter.format(Math.trunc(seconds / size), unit);
  }
  return Math.abs(seconds) < 45 ? formatter.format(0, "second") : formatter.format(-1, "minute");
}

export function absoluteTime(isoTime, language) {
  const at = Date.parse(isoTime || "");
  if (Number.isNaN(at)) return "";
  try {
    return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" }).format(at);
  } catch {
    return new Date(at).toISOString();
  }
}
