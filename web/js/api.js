// api.js - the gateway's JSON API (DESIGN.md "Answers").  Every failure becomes an
// ApiError whose message says what happened, in words the page can show as they are.

export class ApiError extends Error {
  constructor (message, status, path) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // HTTP status, 0 when the gateway could not be reached
    this.path = path;
  }
}

export function apiUrl (path, params = {}) {
  const url = new URL(`api/${path}`, document.baseURI);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  }
  return url;
}

export async function getJSON (path, params = {}, { signal } = {}) {
  const url = apiUrl(path, params);
  let response;
  try {
    response = await fetch(url, { headers: { Accept: 'application/json' }, signal });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(`cannot reach the portevo gateway (${err && err.message ? err.message : err})`, 0, path);
  }
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const apiMessage = body && typeof body === 'object' && typeof body.error === 'string' ? body.error : null;
  if (!response.ok) {
    let what = apiMessage;
    if (!what) what = `${response.status} ${response.statusText || 'error'}`.trim();
    const prefix = response.status === 503 && !/shard/i.test(what) ? 'no shard answered: ' : '';
    throw new ApiError(`${prefix}${what}`, response.status, path);
  }
  if (apiMessage) throw new ApiError(apiMessage, response.status, path);
  if (!body || typeof body !== 'object') {
    throw new ApiError(`the gateway's answer to /api/${path} is not JSON`, response.status, path);
  }
  return body;
}

export function missingShards (answer) {
  return answer && Array.isArray(answer.missing_shards) ? answer.missing_shards.map(String) : [];
}
