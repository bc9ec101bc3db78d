// The run page: follows the run's events
// (GET /v1/runs/{id}/events, resumable) while it is not finished, streaming its text and listing its events
// (a status line announces the run's status changes), and reloads the page's run body (status, timeline,
// approvals, children) when the run changes and when it ends.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("run-live");
  if (!live || live.dataset.follow !== "yes" || !window.Switchboard) return;
  const text = live.querySelector(".live-text");
  const list = live.querySelector(".live-events");
  const state = document.getElementById("live-state");
  let after = Number(live.dataset.after || "0");
  let reloadTimer = null;

  function reloadBody() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => {
      if (window.htmx && document.getElementById("run-body")) {
        htmx.ajax("GET", live.dataset.body, { target: "#run-body", swap: "outerHTML" });
      }
    }, 150);
  }

  function note(type, data) {
    const item = document.createElement("li");
    let summary = "";
    if (type === "tool_call") summary = `${data.tool_name}(${JSON.stringify(data.args)})`;
    else if (type === "tool_result") summary = `${data.tool_name} → ${JSON.stringify(data.result).slice(0, 300)}`;
    else if (type === "status") summary = data.status;
    else if (type === "approval_required") summary = (data.calls || []).map((c) => c.tool_name).join(", ");
    else if (type === "approval_decided") summary = data.approved ? "approved" : `denied${data.reason ? ": " + data.reason : ""}`;
    else if (type === "end") summary = data.status;
    else if (type === "retry") summary = data.error || "";
    else if (type === "message") return; // stored messages: the timeline shows them
    const label = document.createElement("strong");
    label.textContent = type;
    item.append(label, summary ? " " + summary : "");
    list.append(item);
    list.scrollTop = list.scrollHeight;
  }

  // The stream closes now and then (the server's idle timeout, a restart, the network): it is opened again,
  // resuming after the last event seen, until the run's `end` event. A normal close reconnects after 1 s; failures
  // in a row back off (1 s, 2 s, 4 s … 30 s), and any event arriving starts the count again.
  let failures = 0;
  async function follow() {
    let ended = false;
    let failed = null;
    try {
      await Switchboard.stream(live.dataset.events, undefined, (type, data, id) => {
        if (failures) {
          failures = 0;
          state.textContent = "Following the run's events…";
        }
        if (id) after = Number(id);
        if (type === "text_delta") {
          text.append(document.createTextNode(data.delta || ""));
          return;
        }
        if (type === "retry" && data.void_chars) {
          text.textContent = text.textContent.slice(0, Math.max(0, text.textContent.length - data.void_chars));
        }
        note(type, data);
        if (type === "status") state.textContent = `The run is ${data.status}.`;
        if (["status", "approval_required", "approval_decided", "tool_result", "cancel_requested"].includes(type)) reloadBody();
        if (type === "end") {
          ended = true;
          state.textContent = `The run ended: ${data.status}.`;
          reloadBody();
        }
      }, { lastEventId: after });
    } catch (error) {
      failed = error;
    }
    if (ended) return;
    let delay = 1000;
    if (failed) {
      failures += 1;
      delay = Math.min(30000, 1000 * 2 ** (failures - 1));
      state.textContent = `Lost the run's events (${failed.message}); trying again in ${Math.round(delay / 1000)} s…`;
    }
    setTimeout(follow, delay);
  }
  follow();
});
