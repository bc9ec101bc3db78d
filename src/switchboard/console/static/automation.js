// The automation pages: copy buttons beside a secret shown once (the secret stays in the page only until it is left).
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(field.value);
  } catch (_) {
    field.select();  // no clipboard permission (plain http off localhost): leave it selected to copy by hand
    document.execCommand && document.execCommand("copy");
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; }, 1500);
});

// A secret shown once is scrolled into view (the form that made it may be far below it).
document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (target && target.id && target.id.endsWith("-secret") && target.firstElementChild) {
    target.scrollIntoView({ block: "start" });
  }
});
