// The job page: while the job runs, follow it live; when it ends, reload so the
// server shows the whole result (the same page works with JavaScript off).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const page = document.querySelector("[data-job-page]");
  if (!page || GenHub.TERMINAL.has(page.dataset.status)) return;
  const status = page.querySelector("[data-job-status]");
  const bar = page.querySelector("[data-progress]");
  const steps = page.querySelector("[data-steps]");
  const preview = page.querySelector("[data-preview]");
  const streamed = page.querySelector("[data-streamed]");
  const eta = page.querySelector("[data-eta]");
  let text = "";
  let current = page.dataset.status;
  // Bytes of the model so far: the job's own download, or the one before a generation.
  const mb = (bytes) => (Number(bytes) / 1e6).toFixed(1);
  const downloaded = (event) =>
    page.dataset.kind === "download"
      ? `Downloading: ${mb(event.step)} MB of ${mb(event.total)} MB`
      : `Downloading the model: ${mb(event.step)} of ${mb(event.total)} MB`;
  // A text job's tokens (from the API, below): its bar says "token 40 of 256".
  let tokens = null;

  // What a screen reader says for the bar: "step 12 of 30", "token 40 of 256".
  function valueText(event) {
    if (event.status === "queued") return "waiting in the queue";
    if (event.step && event.unit === "bytes") return downloaded(event);
    if (event.step) return `step ${event.step} of ${event.total}`;
    if (tokens) return `token ${Math.round(bar.value * tokens)} of ${tokens}`;
    return `${Math.round(bar.value * 100)} percent`;
  }

  // A queued job learns its new place (and so its start) from the API every few
  // seconds; between those, and between a running job's events, the ETA counts
  // down by itself (GenHub.showEta).
  async function refresh() {
    const { status: code, data } = await GenHub.call("GET", `/jobs/${page.dataset.jobPage}`);
    if (code !== 200) return;
    if (data.modality === "text") tokens = data.params?.max_new_tokens ?? null;
    if (data.status === "queued" && current === "queued") {
      GenHub.showEta(eta, data);
      if (data.waiting) steps.textContent = data.waiting;
    }
  }
  refresh();
  setInterval(() => current === "queued" && refresh(), 5000);

  new GenHub.JobStream(page.dataset.jobPage, (event) => {
    current = event.status;
    if (GenHub.carriesEta(event)) GenHub.showEta(eta, event);
    status.textContent = event.status;
    status.className = `status ${event.status}`;
    if (typeof event.progress === "number") bar.value = event.progress;
    if (event.step && event.unit === "bytes") steps.textContent = downloaded(event);
    else if (event.step) steps.textContent = `Step ${event.step} of ${event.total}`;
    else if (event.status !== "queued") steps.textContent = ""; // no longer "#1 in queue"
    bar.setAttribute("aria-valuetext", valueText(event));
    if (event.preview) {
      preview.src = event.preview;
      preview.hidden = false;
    }
    if (event.type === "snapshot") text = event.text || "";
    if (event.type === "started") text = "";
    if (event.type === "token") text += event.text;
    if (text) {
      streamed.textContent = text;
      streamed.hidden = false;
    }
    if (GenHub.TERMINAL.has(event.status)) location.reload();
  });
});
