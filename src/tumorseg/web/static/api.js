// Calls to the tumorseg server: bearer token from the page URL, errors as one line taken from
// the server's {"detail": …}.

const TOKEN = new URLSearchParams(window.location.search).get("token");

/** The URL with ?token=… appended when the page has one (for NiiVue fetches, downloads). */
export function withToken(url) {
  if (!TOKEN) return url;
  return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}

/** Headers carrying the token, if any. */
export function authHeaders() {
  return TOKEN ? { Authorization: `Bearer ${TOKEN}` } : {};
}

/** A failed request; `message` is the server's one-line detail. */
export class ApiError extends Error {}

/** JSON request to the server; resolves to the parsed answer, rejects with ApiError. */
export async function api(path, { method = "GET", body = undefined } = {}) {
  const opts = { method, headers: authHeaders() };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (err) {
    throw new ApiError(`cannot reach the server (${err.message})`);
  }
  if (!res.ok) {
    let detail = `${res.status} ${res.statusText}`;
    try {
      const j = await res.json();
      if (j && j.detail) detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail);
    } catch (_) { /* not JSON */ }
    throw new ApiError(detail);
  }
  return res.json();
}
