// The chat page: conversations live on the server (/api/v1/conversations) and the
// URL names the open one (?c=<id>), so it reopens after a reload and on any
// device. A turn posts the question with the conversation's id; the server keeps
// the history and the answer streams in from its job. The sidebar lists the
// caller's conversations: new, rename, delete; search is a plain GET form.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-generate=text]");
  const list = document.querySelector("[data-messages]");
  const sidebar = document.querySelector("[data-sidebar]");
  const conversations = document.querySelector("[data-conversations]");
  const title = document.querySelector("[data-chat-title]");
  const jobs = new GenHub.LiveJobs(document.querySelector("[data-live]"), onEvent, { unit: "" });
  const SAMPLING = ["max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed"];
  const chatId = () => form.elements.conversation.value;

  // On a phone the list folds away above the chat.
  if (window.matchMedia("(max-width: 760px)").matches) sidebar.open = false;
  conversations.querySelectorAll("[data-actions]").forEach((actions) => (actions.hidden = false));

  function bubble(role, content, job) {
    const item = document.createElement("li");
    item.className = `message ${role}`;
    item.textContent = content;
    if (job) item.dataset.job = job;
    return item;
  }

  function sidebarItem(id, text) {
    const item = document.createElement("li");
    item.dataset.conversation = id;
    const link = Object.assign(document.createElement("a"), { href: `?c=${id}`, textContent: text });
    link.dataset.title = "";
    const actions = document.createElement("span");
    actions.className = "actions";
    actions.dataset.actions = "";
    for (const [name, label] of [["rename", "Rename"], ["delete", "Delete"]]) {
      const button = Object.assign(document.createElement("button"), { type: "button", textContent: label });
      button.className = name === "delete" ? "small danger" : "small";
      button.dataset[name] = "";
      actions.append(button);
    }
    item.append(link, actions);
    return item;
  }

  function markCurrent(id) {
    for (const item of conversations.querySelectorAll("[data-conversation]")) {
      if (item.dataset.conversation === id) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
    }
  }

  // The first turn of a new conversation makes it; later ones keep its system
  // prompt in step with the form's.
  async function ensureConversation(system) {
    if (chatId()) {
      const textarea = form.elements.system;
      if (system === textarea.dataset.saved) return chatId();
      const { status, data } = await GenHub.call("PATCH", `/conversations/${chatId()}`, { system_prompt: system });
      if (status !== 200) {
        GenHub.showErrors(form, data ? data.detail : `The server answered ${status}.`);
        return null;
      }
      textarea.dataset.saved = system;
      return chatId();
    }
    const { status, data } = await GenHub.call("POST", "/conversations", { system_prompt: system });
    if (status !== 201) {
      GenHub.showErrors(form, data ? data.detail : `The server answered ${status}.`);
      return null;
    }
    form.elements.conversation.value = data.id;
    form.elements.system.dataset.saved = system;
    history.replaceState(null, "", `?c=${data.id}`);
    conversations.querySelector("[data-no-conversations]")?.remove();
    return data.id;
  }

  async function showTitle(id) {
    const { status, data } = await GenHub.call("GET", `/conversations/${id}`);
    if (status !== 200) return;
    title.textContent = data.title || "Untitled";
    let item = conversations.querySelector(`[data-conversation="${CSS.escape(id)}"]`);
    if (!item) item = sidebarItem(id, "");
    item.querySelector("[data-title]").textContent = data.title || "Untitled";
    conversations.prepend(item);  // the newest first
    markCurrent(id);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = form.elements.message.value;
    if (!text.trim()) {
      GenHub.showErrors(form, [{ loc: ["body", "prompt"], msg: "Write a message first." }]);
      return;
    }
    const id = await ensureConversation(form.elements.system.value.trim());
    if (!id) return;
    const payload = { conversation: id, prompt: text, model: form.elements.model.value || undefined };
    for (const name of SAMPLING) {
      const value = form.elements[name]?.value;
      if (value !== undefined && value !== "") payload[name] = Number(value);
    }
    const job = await GenHub.submit(form, payload);
    if (!job) return;
    list.querySelector("[data-empty]")?.remove();
    const answer = bubble("assistant", "", job.id);
    answer.classList.add("streaming");
    list.append(bubble("user", text), answer);
    form.elements.message.value = "";
    list.scrollTop = list.scrollHeight;
    jobs.follow(job);
    showTitle(id);
  });

  // An event of a job this page follows: its answer grows, if the open
  // conversation holds it (a job sent from elsewhere shows only in the live panel).
  function onEvent(event, job) {
    const answer = list.querySelector(`.message[data-job="${CSS.escape(job.id)}"]`);
    if (!answer) return;
    if (event.type === "snapshot") answer.textContent = event.text || "";
    if (event.type === "started" || event.type === "requeued") answer.textContent = "";
    if (event.type === "token") answer.textContent += event.text;
    if ((event.status === "succeeded" || event.status === "cancelled") && event.result) {
      answer.textContent = event.result.text;
      if (event.result.note) {
        const note = Object.assign(document.createElement("li"), { className: "note", textContent: event.result.note });
        answer.after(note);
      }
    }
    if (event.status === "failed") {
      answer.textContent = event.error || "The answer failed.";
      answer.classList.add("failed");
    }
    answer.classList.toggle("streaming", !GenHub.TERMINAL.has(event.status));
    if (event.status === "succeeded" && jobs.shows(job.id)) jobs.panel.element.hidden = true;
    list.scrollTop = list.scrollHeight;
  }

  async function rename(item) {
    const link = item.querySelector("[data-title]");
    const input = Object.assign(document.createElement("input"), { value: link.textContent, maxLength: 200 });
    input.setAttribute("aria-label", "New title");
    link.hidden = true;
    item.prepend(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const wanted = input.value.trim();
      input.remove();
      link.hidden = false;
      if (!save || !wanted || wanted === link.textContent) return;
      const { status, data } = await GenHub.call("PATCH", `/conversations/${item.dataset.conversation}`, { title: wanted });
      if (status !== 200) return;
      link.textContent = data.title;
      if (item.dataset.conversation === chatId()) title.textContent = data.title;
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") finish(true);
      if (event.key === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true));
  }

  async function remove(item) {
    const name = item.querySelector("[data-title]").textContent;
    if (!window.confirm(`Delete “${name}” and its answers?`)) return;
    const id = item.dataset.conversation;
    const { status } = await GenHub.call("DELETE", `/conversations/${id}`);
    if (status !== 204 && status !== 404) return;
    item.remove();
    if (id === chatId()) window.location.assign(window.location.pathname);
  }

  conversations.addEventListener("click", (event) => {
    const item = event.target.closest("[data-conversation]");
    if (!item) return;
    if (event.target.closest("[data-rename]")) rename(item);
    if (event.target.closest("[data-delete]")) remove(item);
  });

  form.elements.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  // Answers still being written when the page was made stream on.
  for (const answer of list.querySelectorAll(".message[data-job]")) {
    if (!GenHub.TERMINAL.has(answer.dataset.status)) jobs.follow({ id: answer.dataset.job, status: answer.dataset.status });
  }
  jobs.followListed();
});
