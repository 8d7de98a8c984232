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
  if (!res.ok) throw new ApiError(detailOf(await res.text(), res.status, res.statusText));
  return res.json();
}

// The server's one-line {"detail": …} of a failed answer, else its status line.
function detailOf(text, status, statusText) {
  try {
    const j = JSON.parse(text);
    if (j && j.detail) return typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail);
  } catch (_) { /* not JSON */ }
  return `${status} ${statusText}`;
}

/** Upload `file` (multipart field "file") to `path`; `onProgress(fraction)` while it is sent.
 *  Resolves to the parsed answer, rejects with ApiError (XMLHttpRequest: fetch reports no
 *  upload progress). */
export function upload(path, file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText));
      else reject(new ApiError(detailOf(xhr.responseText, xhr.status, xhr.statusText)));
    };
    xhr.onerror = () => reject(new ApiError(`upload ${file.name}: the connection failed `
      + "(the server refuses a file over its upload limit before reading it)"));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}
