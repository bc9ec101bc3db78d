// The console's shared script: htmx settings, and a small client for the API that the pages' scripts use
// (same origin, the session cookie, the CSRF token from the page; never an API key).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (window.htmx) {
    // Errors are swapped too: console routes answer them with a notice retargeted to #flash.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "[45]..", swap: true, error: true },
    ];
  }
});

window.Switchboard = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // An API error's message (the API's one error shape), or the status when the body is not that shape.
  async function failure(response) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (_) { /* not JSON */ }
    const error = new Error(message);
    error.status = response.status;
    return error;
  }

  async function api(path, options = {}) {
    const init = { method: options.method || "GET", credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(path, init);
    if (!response.ok) throw await failure(response);
    return response.status === 204 ? null : response.json();
  }

  // POST (or GET) a route that answers with server-sent events; calls onEvent(type, data, id) for each event.
  async function stream(path, body, onEvent, options = {}) {
    const headers = { "X-CSRF-Token": csrf(), Accept: "text/event-stream" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (options.lastEventId) headers["Last-Event-ID"] = String(options.lastEventId);
    const response = await fetch(path, {
      method: body === undefined ? "GET" : "POST",
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options.signal,
    });
    if (!response.ok) throw await failure(response);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = "message", id = null;
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") type = text;
          else if (field === "data") data.push(text);
          else if (field === "id") id = text;
        }
        if (!data.length) continue;
        let parsed = data.join("\n");
        try { parsed = JSON.parse(parsed); } catch (_) { /* plain text */ }
        onEvent(type, parsed, id);
      }
    }
  }

  // A notice in the page's #flash area (errors say what to fix; they stay until dismissed).
  function flash(message, kind = "error") {
    const area = document.getElementById("flash");
    if (!area) return;
    const notice = document.createElement("article");
    notice.className = `flash ${kind}`;
    notice.setAttribute("role", kind === "error" ? "alert" : "status");
    notice.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => notice.remove());
    notice.append(close);
    area.replaceChildren(notice);
  }

  return { api, stream, flash, csrf };
})();
