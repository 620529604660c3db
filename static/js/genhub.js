// GenHub's shared page code: API calls with the session, field errors, the job
// WebSocket (reconnects and catches up from the snapshot), the queue panel and
// the "server unreachable" banner. No framework and no build step.
"use strict";

const GenHub = (() => {
  const body = document.body;
  const API = body.dataset.api;
  const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

  function banner(show) {
    const element = document.getElementById("banner");
    if (element) element.hidden = !show;
  }

  // One API call. Resolves to {status, data}; a network failure shows the banner.
  async function call(method, path, payload) {
    const options = {
      method,
      credentials: "same-origin",
      headers: { "X-CSRFToken": body.dataset.csrf, Accept: "application/json" },
    };
    if (payload instanceof FormData) {
      options.body = payload;
    } else if (payload !== undefined) {
      options.body = JSON.stringify(payload);
      options.headers["Content-Type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(API + path, options);
    } catch (error) {
      banner(true);
      throw error;
    }
    banner(false);
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    return { status: response.status, data };
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach((e) => (e.textContent = ""));
    form.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
    const general = form.querySelector(".form-error");
    if (general) general.remove();
  }

  // Put each error of a 422 beside its field; what names no field goes on top.
  function showErrors(form, detail) {
    clearErrors(form);
    const errors = Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail) }];
    for (const error of errors) {
      const loc = (error.loc || []).filter((part) => part !== "body");
      const name = loc.length ? String(loc[0]) : "";
      const slot = name && form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      if (slot) {
        if (!slot.textContent) slot.textContent = error.msg;
        slot.closest(".field")?.classList.add("invalid");
        slot.closest("details")?.setAttribute("open", "");
      } else {
        const general = document.createElement("p");
        general.className = "form-error";
        general.textContent = (name ? `${name}: ` : "") + error.msg;
        form.querySelector("h1, .field")?.after(general);
      }
    }
    form.querySelector(".invalid input, .invalid textarea, .invalid select")?.focus();
  }

  // The form's fields, leaving out empty ones (the schema's defaults apply).
  function formData(form) {
    const data = new FormData(form);
    for (const [key, value] of [...data.entries()]) {
      if (key === "csrfmiddlewaretoken" || value === "" || (value instanceof File && !value.name)) {
        data.delete(key);
      }
    }
    return data;
  }

  // A job's events. A new connection starts with a snapshot of the whole job,
  // so a dropped socket is simply opened again; `seq` drops what was seen.
  class JobStream {
    constructor(jobId, onEvent) {
      this.jobId = jobId;
      this.onEvent = onEvent;
      this.seq = -1;
      this.failures = 0;
      this.finished = false;
      this.connect();
    }

    connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      this.socket = new WebSocket(`${scheme}://${location.host}/ws/jobs/${this.jobId}/`);
      this.socket.onopen = () => {
        this.failures = 0;
        banner(false);
      };
      this.socket.onmessage = (message) => {
        const event = JSON.parse(message.data);
        // The server lost Redis: the socket closes next and is opened again (with
        // backoff) until a fresh snapshot arrives; show that the page is catching up.
        if (event.type === "interrupted") return banner(true);
        if (event.type !== "snapshot" && event.seq <= this.seq) return;
        this.seq = event.seq;
        if (TERMINAL.has(event.status) && (event.type === "snapshot" || TERMINAL.has(event.type))) {
          this.finished = true;
        }
        this.onEvent(event);
      };
      this.socket.onclose = (closed) => {
        if (this.finished || closed.code === 4401 || closed.code === 4404) return;
        this.failures += 1;
        if (this.failures > 2) banner(true);
        const wait = Math.min(5000, 300 * 2 ** this.failures);
        setTimeout(() => this.connect(), wait);
      };
    }

    close() {
      this.finished = true;
      this.socket.close();
    }
  }

  // The "live" panel: status, progress bar, step count, error and a Stop button,
  // for one job at a time. `unit` names a step ("Step", "Frame"); `done(event)`
  // says what a finished job made.
  class LivePanel {
    constructor(element, { unit = "Step", done = () => "" } = {}) {
      this.element = element;
      this.unit = unit;
      this.done = done;
      this.jobId = null;
      this.showsPlace = false;
      element.querySelector("[data-stop]")?.addEventListener("click", () => {
        if (this.jobId) cancel(this.jobId);
      });
    }

    start(job) {
      this.jobId = job.id;
      this.element.hidden = false;
      this.element.dataset.job = job.id;
      this.element.querySelector("[data-stop]").hidden = false;
      this.error("");
      this.steps("");
      this.update({ status: job.status, progress: job.progress ?? 0 });
      if (job.status === "queued" && job.queue_position) this.place(job.queue_position);
    }

    update(event) {
      const labels = {
        queued: "Queued",
        running: "Running",
        succeeded: "Done",
        failed: "Failed",
        cancelled: "Cancelled",
      };
      this.element.querySelector("[data-live-status]").textContent =
        labels[event.status] || event.status;
      this.element.dataset.status = event.status;
      if (typeof event.progress === "number") {
        this.element.querySelector("[data-progress]").value = event.progress;
      }
      if (event.status !== "queued" && this.showsPlace) this.steps("");
      if (event.step) this.steps(`${this.unit} ${event.step} of ${event.total}`);
      if (event.status === "succeeded") this.steps(this.done(event));
      if (event.status === "cancelled") this.steps("Stopped");
      if (event.status === "failed") this.error(event.error);
      if (TERMINAL.has(event.status)) this.element.querySelector("[data-stop]").hidden = true;
    }

    // "#2 in queue", until the job leaves the queue.
    place(position) {
      this.steps(`#${position} in queue`);
      this.showsPlace = true;
    }

    steps(text) {
      this.element.querySelector("[data-steps]").textContent = text;
      this.showsPlace = false;
    }

    error(text) {
      const slot = this.element.querySelector("[data-job-error]");
      slot.textContent = text;
      slot.hidden = !text;
    }
  }

  async function cancel(jobId) {
    await call("POST", `/jobs/${jobId}/cancel`);
  }

  // The latest status this page heard for each job it follows; the queue panel
  // trusts it over a poll that may have been answered a moment earlier.
  const heard = new Map();

  // The queue panel: this page's queued and running jobs. Events of followed jobs
  // update it at once; a poll every 2 s catches jobs sent from elsewhere and
  // tells each page (the "genhub:queue" event) what is waiting.
  function watchQueue() {
    const panel = document.querySelector("[data-queue]");
    if (!panel) return;
    async function refresh() {
      try {
        const modality = panel.dataset.queue;
        const [queued, running] = await Promise.all([
          call("GET", `/jobs?modality=${modality}&status=queued&mine=true&page_size=50`),
          call("GET", `/jobs?modality=${modality}&status=running&mine=true&page_size=50`),
        ]);
        const jobs = [...running.data.items, ...queued.data.items.reverse()];
        document.dispatchEvent(new CustomEvent("genhub:queue", { detail: jobs }));
        const shown = jobs
          .map((job) => ({ ...job, status: heard.get(job.id) ?? job.status }))
          .filter((job) => !TERMINAL.has(job.status));
        queueList().replaceChildren(...shown.map(queueItem));
        showEmptyQueue();
      } catch (error) {
        // The banner says so; try again at the next tick.
      }
    }
    setInterval(refresh, 2000);
  }

  function queueList() {
    return document.querySelector("[data-queue-list]");
  }

  function showEmptyQueue() {
    const list = queueList();
    if (!list.querySelector("[data-job]") && !list.querySelector("[data-empty]")) {
      const empty = Object.assign(document.createElement("li"), {
        className: "empty", textContent: "Nothing queued.",
      });
      empty.dataset.empty = "";
      list.append(empty);
    }
  }

  // A job's place in the queue panel: its badge follows its status, and a job
  // that ended leaves the list.
  function showInQueue(job) {
    const list = queueList();
    if (!list) return;
    const item = list.querySelector(`[data-job="${CSS.escape(job.id)}"]`);
    if (TERMINAL.has(job.status)) {
      item?.remove();
      showEmptyQueue();
    } else if (!item && job.prompt !== undefined) {
      list.querySelector("[data-empty]")?.remove();
      list.append(queueItem(job));
    } else if (item && item.dataset.status !== job.status) {
      item.dataset.status = job.status;
      const badge = item.querySelector(".status");
      badge.className = `status ${job.status}`;
      badge.textContent = job.status;
    }
  }

  function queueItem(job) {
    const item = document.createElement("li");
    item.dataset.job = job.id;
    item.dataset.status = job.status;
    const link = Object.assign(document.createElement("a"), {
      href: `/jobs/${job.id}/`,
      textContent: job.prompt.length > 50 ? job.prompt.slice(0, 49) + "…" : job.prompt,
    });
    const status = Object.assign(document.createElement("span"), {
      className: `status ${job.status}`,
      textContent: job.status === "queued" ? `#${job.queue_position} in queue` : job.status,
    });
    const button = Object.assign(document.createElement("button"), {
      type: "button", className: "small", textContent: "Cancel",
    });
    button.dataset.cancel = job.id;
    item.append(link, " ", status, " ", button);
    return item;
  }

  // The caller's active jobs on this page, each followed through its own socket.
  // Every event goes to the page (`onEvent(event, job)`: results into the gallery
  // or the chat); the live panel shows the job that is running, or else the one
  // the caller waits for, and its Stop cancels that job. Queued jobs keep their
  // own Cancel buttons in the queue panel.
  class LiveJobs {
    constructor(element, onEvent, options) {
      this.panel = new LivePanel(element, options);
      this.onEvent = onEvent;
      this.followed = new Set();
      document.addEventListener("genhub:queue", (event) => {
        for (const job of event.detail) {
          this.follow(job);
          if (job.id === this.panel.jobId && job.status === "queued" && job.queue_position) {
            this.panel.place(job.queue_position);
          }
        }
      });
    }

    // The jobs the queue panel listed when the page was made: after a reload the
    // running one comes back to the live panel (its socket starts with a snapshot).
    followListed() {
      const items = [...queueList()?.querySelectorAll("[data-job]") ?? []];
      const jobs = items.map((item) => ({
        id: item.dataset.job,
        prompt: item.querySelector("a").textContent,
        status: item.dataset.status,
        queue_position: Number(item.dataset.place) || null,
      }));
      for (const job of jobs.filter((j) => j.status === "running")) this.follow(job);
      for (const job of jobs.filter((j) => j.status !== "running")) this.follow(job);
    }

    follow(job) {
      if (this.followed.has(job.id) || TERMINAL.has(job.status)) return;
      this.followed.add(job.id);
      heard.set(job.id, job.status);
      showInQueue(job);
      if (this.takesPanel(job.id)) this.panel.start(job);
      new JobStream(job.id, (event) => {
        heard.set(job.id, event.status);
        showInQueue({ id: job.id, status: event.status });
        if (this.panel.jobId !== job.id && this.takesPanel(job.id)) {
          this.panel.start({ id: job.id, status: event.status, progress: event.progress });
        }
        if (this.panel.jobId === job.id) this.panel.update(event);
        this.onEvent(event, job);
      });
    }

    shows(jobId) {
      return this.panel.jobId === jobId;
    }

    // A job takes the panel from one that ended, or from a queued one once it runs.
    takesPanel(jobId) {
      const shown = heard.get(this.panel.jobId);
      if (!this.panel.jobId || TERMINAL.has(shown)) return true;
      return shown === "queued" && heard.get(jobId) === "running";
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-cancel]");
    if (button) {
      button.disabled = true;
      cancel(button.dataset.cancel).finally(() => (button.disabled = false));
    }
  });
  document.addEventListener("DOMContentLoaded", watchQueue);

  // Picking another model puts its defaults (else the schema's) in the settings
  // that depend on it; the prompt and the seed stay as they are.
  document.addEventListener("change", (event) => {
    const picker = event.target.closest("form[data-generate] select[name=model]");
    if (!picker) return;
    const defaults = JSON.parse(picker.selectedOptions[0]?.dataset.defaults || "{}");
    for (const input of picker.form.querySelectorAll("[data-schema-default]")) {
      input.value = defaults[input.name] ?? input.dataset.schemaDefault;
    }
    // And its limits (an image model's largest size, a music model's longest clip).
    const limits = JSON.parse(picker.selectedOptions[0]?.dataset.limits || "{}");
    for (const input of picker.form.querySelectorAll("input[data-schema-max]")) {
      input.max = limits[input.name] ?? input.dataset.schemaMax;
    }
  });

  // Submit a generation form through the API. Resolves to the job, or null when
  // the request was refused (the errors are then beside their fields).
  async function submit(form, payload) {
    clearErrors(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const { status, data } = await call("POST", form.dataset.endpoint, payload ?? formData(form));
      if (status === 202) return data;
      showErrors(form, data ? data.detail : `The server answered ${status}.`);
      return null;
    } catch (error) {
      showErrors(form, "The server cannot be reached; nothing was sent. Try again.");
      return null;
    } finally {
      button.disabled = false;
    }
  }

  return { call, submit, showErrors, formData, JobStream, LiveJobs, cancel, TERMINAL };
})();
