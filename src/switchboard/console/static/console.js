// The console's shared script: htmx settings, the page behaviours every page may use (data-* attributes, so that
// pages carry no inline script and the Content-Security-Policy can forbid it), and a small client for the API
// that the pages' scripts use (same origin, the session cookie, the CSRF token from the page; never an API key).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (window.htmx) {
    htmx.config.allowEval = false; // no hx-on or trigger filters: the CSP forbids evaluated code
    // Errors are swapped too: console routes answer them with a notice retargeted to #flash.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "[45]..", swap: true, error: true },
    ];
  }
});

// An error that is not a console notice (the API's JSON, a proxy's page) never replaces part of the page: its
// message is shown in #flash instead, and what was there (a polled table, say) stays and goes on polling.
document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  if (xhr.status < 400 || xhr.getResponseHeader("HX-Retarget")) return;
  event.detail.shouldSwap = false;
  let message = `${xhr.status} ${xhr.statusText}`;
  try {
    const body = JSON.parse(xhr.responseText);
    if (body && body.error && body.error.message) message = body.error.message;
  } catch (_) { /* not JSON */ }
  window.Switchboard.flash(message);
});
document.addEventListener("htmx:sendError", () => {
  window.Switchboard.flash("The server did not answer: is it running? Try again in a moment.");
});

// <button data-dismiss> closes the notice it is in.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-dismiss]");
  if (button) button.closest(".flash, article")?.remove();
});

// The menu button (narrow screens): shows and hides the pages' links.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest(".menu-toggle");
  if (!toggle) return;
  const open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", String(open));
  document.getElementById(toggle.getAttribute("aria-controls"))?.classList.toggle("open", open);
});

// <form data-confirm="question">: sent only if the person says yes (before htmx or the browser sends it).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// <form data-reset-on-success [data-clear="#a,#b"] [data-remove="#c"]>: after its own htmx request succeeds, the
// form is emptied, the elements of data-clear emptied and those of data-remove removed.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (!event.detail.successful || !(form instanceof HTMLFormElement) || !form.hasAttribute("data-reset-on-success")) {
    return;
  }
  form.reset();
  const selectors = (name) => (form.getAttribute(name) || "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const selector of selectors("data-clear")) document.querySelector(selector)?.replaceChildren();
  for (const selector of selectors("data-remove")) document.querySelector(selector)?.remove();
});

// An element that polls (hx-trigger="every …") with data-hold-while-focused skips its refresh while the keyboard
// focus is inside it or a form in it has something typed: a refresh would take the focus or the text away.
document.addEventListener("htmx:beforeRequest", (event) => {
  const element = event.detail.elt;
  if (!element.hasAttribute || !element.hasAttribute("data-hold-while-focused")) return;
  const typed = [...element.querySelectorAll("input:not([type=hidden]), textarea")].some((field) => field.value);
  if (element.contains(document.activeElement) || typed) event.preventDefault();
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
    close.setAttribute("data-dismiss", "");
    close.textContent = "×";
    notice.append(close);
    area.replaceChildren(notice);
  }

  return { api, stream, flash, csrf };
})();
