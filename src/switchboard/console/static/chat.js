// The chat page: sends each message to POST /v1/chat/stream and streams the reply into the transcript, tool calls
// and results as expandable cards; a call waiting for approval gets Approve/Deny in its card, decided with
// POST /v1/runs/{id}/approvals, after which the resumed run is followed (GET /v1/runs/{id}/events, Last-Event-ID)
// to its end. The thread's context (a JSON object) is edited beside the chat: checked here, sent with the next
// message or saved with PATCH /v1/threads/{id}. The page itself (threads, history) is rendered by the server.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("chat");
  if (!root) return;
  const sb = window.Switchboard;
  const transcript = document.getElementById("transcript");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("message");
  const sendButton = document.getElementById("send");
  const agentSelect = document.getElementById("agent");
  const contextArea = document.getElementById("context");
  const contextStatus = document.getElementById("context-status");
  const threadList = document.getElementById("thread-list");

  let threadId = root.dataset.thread || null;
  const mayChat = root.dataset.mayChat !== "false"; // the key has runs:write
  let contextSaved = contextArea.value.trim(); // the context the thread has, as last sent or saved
  let busy = false;

  const clone = (id) => document.getElementById(id).content.firstElementChild.cloneNode(true);
  const pretty = (value) => (typeof value === "string" ? value : JSON.stringify(value, null, 2));
  const oneLine = (value) => {
    const text = (typeof value === "string" ? value : JSON.stringify(value)).replace(/\s+/g, " ");
    return text.length <= 80 ? text : `${text.slice(0, 79)}…`;
  };
  // The text with its **bold** pieces in <strong> (the one bit of Markdown replies commonly use), never as HTML.
  const showText = (element, text) => {
    const pieces = text.split("**");
    if (pieces.length % 2 === 0) { element.textContent = text; return; }
    element.replaceChildren(...pieces.map((piece, index) => {
      if (index % 2 === 0) return document.createTextNode(piece);
      const strong = document.createElement("strong");
      strong.textContent = piece;
      return strong;
    }));
  };
  const scrollDown = () => { transcript.scrollTop = transcript.scrollHeight; };
  const cardOf = (callId) =>
    [...transcript.querySelectorAll("details.tool")].find((card) => card.dataset.call === callId) || null;

  // Busy while any reply streams (a turn, or runs being followed): each setBusy(true) is paired with a false.
  let streaming = 0;
  function setBusy(value) {
    streaming = Math.max(0, streaming + (value ? 1 : -1));
    busy = streaming > 0;
    sendButton.disabled = busy || !mayChat;
    sendButton.setAttribute("aria-busy", busy ? "true" : "false");
    // While a reply streams in, screen readers wait for it whole rather than re-reading it at every token.
    transcript.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function linkRun(element, runId) {
    const link = element.querySelector("a.run-link");
    if (!link || !runId) return;
    link.href = `/console/runs/${runId}`;
    link.hidden = false;
  }

  // One assistant message being streamed: its text and its tool cards.
  class Reply {
    constructor() { this.element = null; this.text = ""; }
    bubble() {
      if (!this.element) {
        this.element = clone("tpl-assistant");
        transcript.append(this.element);
      }
      return this.element;
    }
    show() { showText(this.bubble().querySelector(".text"), this.text); scrollDown(); }
    handle(type, data) {
      if (type === "text_delta") { this.text += data.delta; this.show(); }
      else if (type === "retry") { // the text since the last tool result is void: it streams again
        this.text = this.text.slice(0, Math.max(0, this.text.length - (data.void_chars || 0)));
        this.show();
      }
      else if (type === "tool_call") this.card(data.tool_call_id, data.tool_name, data.args);
      else if (type === "tool_result") {
        const card = this.card(data.tool_call_id, data.tool_name, null);
        const result = card.querySelector(".tool-result");
        result.querySelector("pre").textContent = pretty(data.result);
        result.hidden = false;
        card.querySelector(".tool-state").textContent = "done";
        scrollDown();
      }
    }
    // The call's card: the one shown already (a call shown before its approval is not shown again), or a new one.
    card(callId, name, args) {
      let card = cardOf(callId);
      if (card) return card;
      card = clone("tpl-tool");
      card.dataset.call = callId;
      card.querySelector(".tool-name").textContent = name;
      card.querySelector(".tool-args").textContent = args === null ? "" : oneLine(args);
      card.querySelector(".tool-args-full").textContent = args === null ? "" : pretty(args);
      this.bubble().querySelector(".tools").append(card);
      scrollDown();
      return card;
    }
    // The run's calls that wait for a person: Approve/Deny in their cards.
    pending(runId, calls) {
      for (const call of calls) {
        const card = this.card(call.tool_call_id, call.tool_name, call.args);
        if (card.querySelector(".approval")) continue;
        const box = clone("tpl-approval");
        box.dataset.run = runId;
        box.dataset.call = call.tool_call_id;
        card.classList.add("pending");
        card.querySelector(".tool-state").textContent = "waiting for approval";
        card.append(box);
        card.open = true;
      }
      scrollDown();
      watchDecision(runId);
      offerOnlyWhatTheKeyMay(transcript);
    }
  }

  // --- threads ---

  function enterThread(id, firstMessage) {
    if (threadId === id) return;
    threadId = id;
    root.dataset.thread = id;
    history.replaceState(null, "", `/console/chat?thread=${encodeURIComponent(id)}`);
    threadList.querySelector("li.none")?.remove();
    threadList.querySelector('[aria-current="page"]')?.removeAttribute("aria-current");
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `/console/chat?thread=${encodeURIComponent(id)}`;
    link.textContent = oneLine(firstMessage).slice(0, 60);
    link.setAttribute("aria-current", "page");
    const meta = document.createElement("small");
    meta.className = "muted";
    meta.textContent = ` ${agentSelect.value} · just now`;
    item.append(link, " ", meta);
    threadList.prepend(item);
    document.querySelector(".thread-note").firstChild.textContent = `Thread ${id} with ${agentSelect.value} `;
  }

  agentSelect.addEventListener("change", () => {
    // Another agent is another thread: a thread belongs to one agent.
    window.location.assign(`/console/chat?agent=${encodeURIComponent(agentSelect.value)}`);
  });

  // --- context ---

  function parseContext() {
    const text = contextArea.value.trim();
    if (!text) return { ok: true, value: null };
    let value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { ok: false, message: `The context is not valid JSON (${error.message}). Nothing was sent.` };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return { ok: false, message: 'The context must be a JSON object, like {"page": "order", "order_id": 2}. Nothing was sent.' };
    }
    return { ok: true, value };
  }

  function showContextState(message, bad) {
    contextStatus.textContent = message;
    contextStatus.classList.toggle("error", Boolean(bad));
    if (bad) contextArea.setAttribute("aria-invalid", "true");
    else contextArea.removeAttribute("aria-invalid");
  }

  contextArea.addEventListener("input", () => {
    const parsed = parseContext();
    if (parsed.ok) showContextState(contextArea.value.trim() === contextSaved ? "" : "Changed: sent with your next message.", false);
    else showContextState(parsed.message.replace(" Nothing was sent.", ""), true);
  });

  document.getElementById("save-context").addEventListener("click", async () => {
    const parsed = parseContext();
    if (!parsed.ok) { showContextState(parsed.message, true); contextArea.focus(); return; }
    if (!threadId) { showContextState("No thread yet: the context goes with your first message.", false); return; }
    try {
      await sb.api(`/v1/threads/${threadId}`, { method: "PATCH", body: { context: parsed.value } });
      contextSaved = contextArea.value.trim();
      showContextState(parsed.value === null ? "Cleared." : "Saved: the next turn sees it.", false);
    } catch (error) {
      showContextState(error.message, true);
      sb.flash(error.message);
    }
  });

  // --- a turn ---

  async function send(message) {
    const body = { agent: agentSelect.value, message };
    if (threadId) body.thread_id = threadId;
    const contextText = contextArea.value.trim();
    if (contextText !== contextSaved) {
      const parsed = parseContext();
      if (!parsed.ok) {
        showContextState(parsed.message, true);
        sb.flash(parsed.message);
        contextArea.focus();
        return false;
      }
      if (parsed.value !== null || threadId) body.context = parsed.value;
    }
    const said = clone("tpl-user");
    said.querySelector(".text").textContent = message;
    transcript.append(said);
    scrollDown();
    const reply = new Reply();
    let done = null;
    let started = false;
    setBusy(true);
    try {
      await sb.stream("/v1/chat/stream", body, (type, data) => {
        if (type === "thread") {
          started = true;
          enterThread(data.thread_id, message);
          linkRun(said, data.run_id);
          if ("context" in body) { contextSaved = contextText; showContextState("", false); }
        } else if (type === "done") done = data;
        else if (type === "error") throw new Error(data.error?.message || "The turn failed.");
        else reply.handle(type, data);
      });
      if (!done) throw new Error("The reply ended before it was done; see the run.");
      if (!reply.text && done.status === "succeeded") { reply.text = done.reply; reply.show(); }
      if (done.pending_approvals?.length) reply.pending(done.run_id, done.pending_approvals);
      return true;
    } catch (error) {
      if (!started) said.remove(); // refused before it began (429, 409, 422…): nothing was said
      sb.flash(error.message);
      return started;
    } finally {
      setBusy(false);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (!message || busy) return;
    input.value = "";
    if (!(await send(message))) input.value = message; // not sent: keep it to edit or send again
    input.focus();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // --- approvals ---

  transcript.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-approve]");
    if (!button) return;
    const box = button.closest(".approval");
    const approve = button.dataset.approve === "true";
    const reason = box.querySelector('input[name="reason"]').value.trim();
    const runId = box.dataset.run;
    box.querySelectorAll("button, input").forEach((control) => { control.disabled = true; });
    try {
      const before = await sb.api(`/v1/runs/${runId}`); // events after this one are the resumed run's
      if (!before.pending_approvals.some((call) => call.tool_call_id === box.dataset.call)) {
        decidedElsewhere();
        return;
      }
      decidingHere.add(runId);
      const decision = { tool_call_id: box.dataset.call, approve };
      if (!approve && reason) decision.reason = reason;
      const run = await sb.api(`/v1/runs/${runId}/approvals`, { method: "POST", body: decision });
      const card = box.closest("details.tool");
      card.classList.remove("pending");
      card.querySelector(".tool-state").textContent = approve ? "approved" : "denied";
      const decided = document.createElement("p");
      decided.className = "decided";
      decided.textContent = approve ? "You approved this call." : `You denied this call${reason ? `: ${reason}` : "."}`;
      decided.tabIndex = -1;
      box.replaceWith(decided);
      decided.focus(); // the buttons are gone: keep the keyboard's place here
      if (!run.pending_approvals.length) await follow(runId, before.last_event_id);
      decidingHere.delete(runId); // a later pause of this run may be decided elsewhere again
    } catch (error) {
      box.querySelectorAll("button, input").forEach((control) => { control.disabled = false; });
      sb.flash(error.message);
    }
  });

  // A call waiting here may be decided elsewhere (the approvals inbox, another tab, the CLI): its run's events are
  // watched while the card waits, and when a decision arrives that was not made on this page, the page is shown
  // afresh (the server renders the decision; a run still at work then streams in).
  const decidingHere = new Set();
  const watched = new Set();
  function decidedElsewhere() {
    sb.flash("This call was decided elsewhere; the thread is shown as it is now.", "ok");
    window.location.reload();
  }
  async function watchDecision(runId) {
    if (!runId || watched.has(runId)) return;
    watched.add(runId);
    try {
      const run = await sb.api(`/v1/runs/${runId}`);
      const controller = new AbortController();
      await sb.stream(`/v1/runs/${runId}/events`, undefined, (type) => {
        if (type !== "approval_decided" && type !== "end") return;
        controller.abort();
        if (!decidingHere.has(runId)) decidedElsewhere();
      }, { lastEventId: run.last_event_id, signal: controller.signal });
    } catch (_) {
      /* aborted, or the stream failed: the buttons still answer (and say so if it was decided meanwhile) */
    } finally {
      watched.delete(runId);
    }
  }
  for (const box of transcript.querySelectorAll(".approval[data-run]")) watchDecision(box.dataset.run);

  // A key without runs:write can neither chat nor decide (the API would refuse): its controls are off.
  function offerOnlyWhatTheKeyMay(scope) {
    if (mayChat) return;
    for (const control of scope.querySelectorAll(".approval button, .approval input")) control.disabled = true;
    sendButton.disabled = true;
  }
  offerOnlyWhatTheKeyMay(document);

  // The resumed run's events to its end, or to its next pause for approval.
  async function follow(runId, after) {
    const reply = new Reply();
    const controller = new AbortController();
    let last = null;
    setBusy(true);
    try {
      await sb.stream(`/v1/runs/${runId}/events`, undefined, (type, data, id) => {
        if (last) return;
        if (type === "end" || type === "approval_required") { last = { type, data, id }; controller.abort(); }
        else reply.handle(type, data);
      }, { lastEventId: after, signal: controller.signal });
    } catch (error) {
      if (!last) sb.flash(error.message);
    } finally {
      setBusy(false);
    }
    if (!last) return;
    if (last.type === "approval_required") {
      const run = await sb.api(`/v1/runs/${runId}`);
      if (run.pending_approvals.length) reply.pending(runId, run.pending_approvals);
      else if (run.status !== "requires_action") await follow(runId, last.id); // decided since: read on
    } else if (last.data.status !== "succeeded") {
      sb.flash(`The run ${last.data.status}${last.data.error?.message ? `: ${last.data.error.message}` : "."}`);
    } else if (!reply.text && last.data.output != null) {
      reply.text = pretty(last.data.output);
      reply.show();
    }
  }

  // Runs of this thread still at work when the page was rendered (a reload during a reply): their replies, from
  // their first event, one after the other as the thread runs them.
  (async () => {
    for (const runId of (root.dataset.follow || "").split(" ").filter(Boolean)) await follow(runId, 0);
  })();
  scrollDown();
});
