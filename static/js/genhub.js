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
    form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
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
        // Read out with the field (aria-describedby names the error's slot).
        slot.closest(".field")?.querySelector("input, textarea, select")?.setAttribute("aria-invalid", "true");
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

  // A job's wait in words: "3rd in line · starts in about 40 s", "About 2 min
  // left", "Finishing…". genhub/eta_words.py says the same sentences for the
  // server's pages (tests/test_eta_words.py holds both to one table).
  const GUESS = " (a guess from the model's recent run times)";
  function etaWords(status, place, etaSeconds, startSeconds, basis) {
    const about = (s) =>
      s < 10 ? "a few seconds"
        : s < 60 ? `about ${Math.max(10, Math.round(s / 5) * 5)} s`
          : s < 5400 ? `about ${Math.max(1, Math.round(s / 60))} min`
            : `about ${Math.round(s / 3600)} h`;
    const capitalized = (text) => text.charAt(0).toUpperCase() + text.slice(1);
    const guess = basis === "recent runs" ? GUESS : "";
    const known = (seconds) => seconds !== null && seconds !== undefined;
    if (status === "queued") {
      const parts = [inLine(place)];
      if (basis === "no worker serves its queue") {
        parts.push("no worker serves this queue right now");
      } else if (known(startSeconds)) {
        parts.push((startSeconds < 1 ? "starting any moment" : `starts in ${about(startSeconds)}`) + guess);
      } else if (basis === "no recent runs") {
        parts.push("no estimate yet (no recent runs of this model)");
      }
      return capitalized(parts.join(" · "));
    }
    if (status === "running") {
      if (!known(etaSeconds)) return "Running · no estimate yet (no recent runs of this model)";
      if (etaSeconds < 1) return "Finishing…";
      return capitalized(`${about(etaSeconds)} left${guess}`);
    }
    return "";
  }

  function inLine(place) {
    if (!place) return "queued";
    if (place === 1) return "next in line";
    const teen = place % 100 >= 10 && place % 100 <= 20;
    const suffix = teen ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[place % 10] ?? "th");
    return `${place}${suffix} in line`;
  }

  // An ETA element counts down on its own between events: it keeps the
  // deadlines (this browser's clock plus the server's `eta_seconds`, so the two
  // clocks need not agree) and a one-second tick rewrites the words. No polling.
  function showEta(element, job) {
    if (!element) return;
    const now = Date.now();
    const data = element.dataset;
    const same = data.etaStatus === job.status;
    // The server rounds to whole seconds: a deadline that moved by less than
    // that keeps the old one, or the words would flicker "35 s, 40 s, 35 s".
    const at = (seconds, before) => {
      if (seconds === null || seconds === undefined) return "";
      const fresh = now + seconds * 1000;
      return same && before && Math.abs(Number(before) - fresh) < 1500 ? before : String(fresh);
    };
    Object.assign(data, {
      etaStatus: job.status,
      etaPlace: job.queue_position ?? "",
      etaEnds: at(job.eta_seconds, data.etaEnds),
      etaStarts: at(job.eta_start_seconds, data.etaStarts),
      etaBasis: job.eta_basis ?? "",
    });
    tickEta(element);
  }

  function tickEta(element) {
    const data = element.dataset;
    const left = (at) => (at ? Math.max(0, (Number(at) - Date.now()) / 1000) : null);
    const words = etaWords(data.etaStatus, Number(data.etaPlace) || null,
      left(data.etaEnds), left(data.etaStarts), data.etaBasis || null);
    if (element.textContent !== words) element.textContent = words;
  }

  setInterval(() => document.querySelectorAll("[data-eta-status]").forEach(tickEta), 1000);

  // The server's `{% eta job %}` spans carry seconds from when the page was made:
  // they count down from there until an event or a poll says more.
  document.addEventListener("DOMContentLoaded", () => {
    const seconds = (text) => (text === "" || text === undefined ? null : Number(text));
    for (const element of document.querySelectorAll("[data-eta-in]")) {
      const data = element.dataset;
      showEta(element, {
        status: data.etaStatus,
        queue_position: seconds(data.etaPlace),
        eta_seconds: seconds(data.etaIn),
        eta_start_seconds: seconds(data.etaStartIn),
        eta_basis: data.etaBasis || null,
      });
    }
  });

  // What an event says about a job's ETA: every queued or running one carries it;
  // an ended job has none.
  const carriesEta = (event) => "eta_basis" in event || TERMINAL.has(event.status);

  // "'a lighthouse at dusk…'": a job named in a button's or a bar's label.
  const quoted = (prompt) =>
    `'${prompt.length > 40 ? `${prompt.slice(0, 39)}…` : prompt}'`;

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
      this.prompt = null;
      this.tokens = null; // a text job's max_new_tokens: the bar says "token 40 of 256"
      this.heardStatus = "";
      this.stop = element.querySelector("[data-stop]");
      this.bar = element.querySelector("[data-progress]");
      this.eta = element.querySelector("[data-eta]");
      // Beside the panel, not in it: the chat page hides the panel once an
      // answer is done, and a hidden live region says nothing.
      this.announcer = document.querySelector("[data-announce]");
      this.stop?.addEventListener("click", () => {
        if (this.jobId) cancel(this.jobId);
      });
    }

    start(job) {
      this.jobId = job.id;
      this.element.hidden = false;
      this.element.dataset.job = job.id;
      this.stop.hidden = false;
      this.tokens = null;
      this.prompt = null;
      this.heardStatus = "";
      this.stop.setAttribute("aria-label", "Stop the shown job");
      this.bar.setAttribute("aria-label", "Progress of the shown job");
      this.know(job);
      this.error("");
      this.steps("");
      if (this.eta) this.eta.textContent = "";
      this.update({ ...job, status: job.status, progress: job.progress ?? 0 });
      if (job.status === "queued" && job.queue_position) this.place(job.queue_position);
    }

    // What the page learns about the shown job (from the form's answer or the
    // queue poll): its prompt names the Stop button and the bar.
    know(job) {
      if (job.prompt) {
        this.prompt = job.prompt;
        this.stop.setAttribute("aria-label", `Stop ${quoted(job.prompt)}`);
        this.bar.setAttribute("aria-label", `Progress of ${quoted(job.prompt)}`);
      }
      if (job.modality === "text" && job.params?.max_new_tokens) this.tokens = job.params.max_new_tokens;
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
      if (typeof event.progress === "number") this.bar.value = event.progress;
      if (event.status !== "queued" && this.showsPlace) this.steps("");
      if (event.step && event.unit === "bytes") this.steps(downloading(event));
      else if (event.step) this.steps(`${this.unit} ${event.step} of ${event.total}`);
      if (event.status === "succeeded") this.steps(this.done(event));
      if (event.status === "cancelled") this.steps("Stopped");
      if (event.status === "failed") this.error(event.error);
      if (TERMINAL.has(event.status)) this.stop.hidden = true;
      if (carriesEta(event)) showEta(this.eta, event);
      this.bar.setAttribute("aria-valuetext", this.valueText(event));
      this.announce(event);
    }

    // What a screen reader says for the bar: "step 12 of 30", "token 40 of 256".
    valueText(event) {
      const progress = Number(this.bar.value) || 0;
      if (event.status === "queued") return "waiting in the queue";
      if (event.status === "succeeded") return "done";
      if (event.step && event.unit === "bytes") return downloading(event);
      if (event.step) return `${(this.unit || "step").toLowerCase()} ${event.step} of ${event.total}`;
      if (this.tokens) return `token ${Math.round(progress * this.tokens)} of ${this.tokens}`;
      return `${Math.round(progress * 100)} percent`;
    }

    // Status changes only, politely: not every token or step.
    announce(event) {
      if (!this.announcer || event.status === this.heardStatus) return;
      this.heardStatus = event.status;
      const name = this.prompt ? ` ${quoted(this.prompt)}` : "";
      const says = {
        queued: `Queued${name}.`,
        running: `Running${name}.`,
        succeeded: `Done${name}.`,
        failed: `Failed${name}: ${event.error || "no reason given"}`,
        cancelled: `Stopped${name}.`,
      };
      this.announcer.textContent = says[event.status] ?? "";
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

  // A model download's progress (`unit` "bytes") in MB.
  function downloading(event) {
    const mb = (bytes) => (Number(bytes) / 1e6).toFixed(1);
    return `Downloading the model: ${mb(event.step)} of ${mb(event.total)} MB`;
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
        showQueue(shown);
      } catch (error) {
        // The banner says so; try again at the next tick.
      }
    }
    setInterval(refresh, 2000);
  }

  function queueList() {
    return document.querySelector("[data-queue-list]");
  }

  // The list as the poll found it, changed in place: a Cancel button that has
  // the keyboard focus keeps it, and a screen reader does not hear a new list.
  function showQueue(jobs) {
    const list = queueList();
    const ids = new Set(jobs.map((job) => job.id));
    for (const item of list.querySelectorAll("[data-job]")) {
      if (!ids.has(item.dataset.job)) item.remove();
    }
    if (jobs.length) list.querySelector("[data-empty]")?.remove();
    jobs.forEach((job, index) => {
      let item = list.querySelector(`[data-job="${CSS.escape(job.id)}"]`);
      if (item) updateQueueItem(item, job);
      else item = queueItem(job);
      if (list.children[index] !== item) list.insertBefore(item, list.children[index] ?? null);
    });
    showEmptyQueue();
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
    } else if (item) {
      if (item.dataset.status !== job.status) {
        item.dataset.status = job.status;
        const badge = item.querySelector(".status");
        badge.className = `status ${job.status}`;
        badge.textContent = job.status;
      }
      if (carriesEta(job)) showEta(item.querySelector("[data-eta]"), job);
    }
  }

  // An item the poll found again: its badge and ETA as the API has them now.
  function updateQueueItem(item, job) {
    item.dataset.status = job.status;
    const badge = item.querySelector(".status");
    badge.className = `status ${job.status}`;
    badge.textContent = job.status === "queued" ? `#${job.queue_position} in queue` : job.status;
    showEta(item.querySelector("[data-eta]"), job);
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
    const eta = Object.assign(document.createElement("span"), { className: "eta" });
    eta.dataset.eta = "";
    if (carriesEta(job)) showEta(eta, job);
    const button = Object.assign(document.createElement("button"), {
      type: "button", className: "small", textContent: "Cancel",
    });
    button.dataset.cancel = job.id;
    button.setAttribute("aria-label", `Cancel ${quoted(job.prompt)}`);
    item.append(link, " ", status, " ", eta, " ", button);
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
          if (job.id === this.panel.jobId) this.panel.know(job);
          if (job.id === this.panel.jobId && job.status === "queued" && job.queue_position) {
            this.panel.place(job.queue_position);
            if (heard.get(job.id) === "queued") showEta(this.panel.eta, job);
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
        showInQueue({ ...event, id: job.id });
        if (this.panel.jobId !== job.id && this.takesPanel(job.id)) {
          this.panel.start({ ...job, ...event, id: job.id });
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

  // The header's theme switch: the same cookie genhub/web/theme.py sets, so the
  // server renders the next page in this theme; no request needed here.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-theme-switch] button[name=theme]");
    if (!button) return;
    event.preventDefault();
    const chosen = button.value;
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = chosen === "system"
      ? "genhub_theme=; Path=/; Max-Age=0; SameSite=Lax"
      : `genhub_theme=${chosen}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
    const root = document.documentElement;
    if (chosen === "system") delete root.dataset.theme;
    else root.dataset.theme = chosen;
    document.querySelector("meta[name=color-scheme]")
      ?.setAttribute("content", chosen === "system" ? "light dark" : chosen);
    for (const other of button.closest("[data-theme-switch]").querySelectorAll("button[name=theme]")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
  });

  // Ctrl+Enter (⌘+Enter on a Mac) sends the form being typed in, from any field;
  // Enter alone still makes a new line in a text area.
  const MAC = /Mac|iPhone|iPad/.test(navigator.userAgentData?.platform ?? navigator.platform);
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(MAC ? event.metaKey : event.ctrlKey)) return;
    if (event.isComposing || event.defaultPrevented) return; // a page's own Enter already sent it
    const field = event.target.closest?.("input, textarea, select");
    const form = field?.form;
    if (!form) return;
    event.preventDefault();
    const submitter = [...form.elements].find((element) => element.type === "submit");
    if (submitter?.disabled) return; // already being sent
    form.requestSubmit(submitter);
  });

  // The shortcut beside each form's main button, where it helps: forms with a
  // text area (Enter alone makes a new line there).
  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("form button.primary[type=submit]")) {
      if (!button.form.querySelector("textarea")) continue;
      button.setAttribute("aria-keyshortcuts", MAC ? "Meta+Enter" : "Control+Enter");
      const hint = Object.assign(document.createElement("small"), {
        className: "shortcut", textContent: MAC ? "⌘+Enter" : "Ctrl+Enter",
      });
      hint.setAttribute("aria-hidden", "true"); // aria-keyshortcuts says it
      button.after(hint);
    }
  });

  return {
    call, submit, showErrors, formData, JobStream, LiveJobs, cancel, TERMINAL,
    etaWords, showEta, carriesEta, quoted,
  };
})();
