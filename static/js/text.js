// The chat page: conversations live on the server (/api/v1/conversations) and the
// URL names the open one (?c=<id>), so it reopens after a reload and on any
// device. The page draws the conversation from its JSON (the server's
// preformatted text is what shows without JavaScript): answers as Markdown
// (static/js/markdown.js), each message with Copy and its versions ("‹ 1/2 ›"),
// and the actions: regenerate, edit a question, continue a cut-off answer, stop.
// Each action is one POST /text/generations with `conversation`; the page then
// draws the conversation again and follows the new job's socket. The sidebar
// lists the caller's conversations: new, rename, delete; search is a GET form.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-generate=text]");
  const list = document.querySelector("[data-messages]");
  const sidebar = document.querySelector("[data-sidebar]");
  const conversations = document.querySelector("[data-conversations]");
  const title = document.querySelector("[data-chat-title]");
  const jobs = new GenHub.LiveJobs(document.querySelector("[data-live]"), onEvent, { unit: "" });
  const SAMPLING = ["max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed"];
  const ENDED = new Set(["succeeded", "cancelled"]);
  const chatId = () => form.elements.conversation.value;
  // The answer parts on the page by their job: a part is one message of the
  // conversation; a continuation is a part of the answer it continues.
  const byJob = new Map();
  // What each followed job has written so far, heard on its socket: a redraw
  // (after an action or a switch) starts from it, not from the stored text.
  const streamed = new Map();

  // On a phone the list folds away above the chat.
  if (window.matchMedia("(max-width: 760px)").matches) sidebar.open = false;
  conversations.querySelectorAll("[data-actions]").forEach((actions) => (actions.hidden = false));

  // --- drawing the conversation ------------------------------------------------

  // The shown messages as bubbles: an answer whose parent is the answer before
  // it continues that answer, and joins its bubble.
  function bubblesOf(messages) {
    const bubbles = [];
    for (const message of messages) {
      const last = bubbles.at(-1);
      if (last?.role === "assistant" && message.role === "assistant" && message.parent === last.parts.at(-1).id) {
        last.parts.push(message);
      } else {
        bubbles.push({ role: message.role, parts: [message] });
      }
    }
    return bubbles;
  }

  const sourceOf = (bubble) =>
    bubble.parts.filter((part) => part.status !== "failed").map((part) => part.content).join("");
  const running = (part) => part.status === "queued" || part.status === "running";

  function draw(detail) {
    byJob.clear();
    const items = [];
    const bubbles = bubblesOf(detail ? detail.messages : []);
    bubbles.forEach((bubble, index) => {
      bubble.last = index === bubbles.length - 1;
      items.push(bubbleElement(bubble));
      for (const part of bubble.parts) if (part.note) items.push(note(part.note));
    });
    if (!items.length) {
      items.push(Object.assign(document.createElement("li"), { className: "empty", textContent: "Ask something to start a conversation." }));
      items[0].dataset.empty = "";
    }
    list.replaceChildren(...items);
    list.scrollTop = list.scrollHeight;
    for (const bubble of bubbles) {
      for (const part of bubble.parts) if (part.job && running(part)) jobs.follow({ id: part.job, status: part.status });
    }
  }

  function note(text) {
    const item = Object.assign(document.createElement("li"), { className: "note", textContent: text });
    item.dataset.note = "";
    return item;
  }

  function bubbleElement(bubble) {
    const head = bubble.parts[0];
    const item = document.createElement("li");
    item.className = `message ${bubble.role}`;
    item.dataset.message = head.id;
    const body = document.createElement("div");
    body.className = "message-body";
    body.dataset.body = "";
    const error = document.createElement("p");
    error.className = "message-error";
    const actions = document.createElement("div");
    actions.className = "message-actions";
    item.append(body, error, actions);
    bubble.element = item;
    bubble.body = body;
    bubble.error = error;
    bubble.actions = actions;
    if (bubble.role === "assistant") {
      bubble.live = new GenHubMarkdown.LiveMarkdown(body);
      for (const part of bubble.parts) {
        if (!part.job) continue;
        byJob.set(part.job, { bubble, part });
        if (running(part) && streamed.has(part.job)) part.content = streamed.get(part.job);
      }
    } else {
      body.textContent = head.content;
    }
    refresh(bubble, true);
    return item;
  }

  // Bring a bubble's text, state and buttons up to date with its parts.
  function refresh(bubble, now = false) {
    const last = bubble.parts.at(-1);
    const item = bubble.element;
    if (bubble.live) {
      if (now) bubble.live.now(sourceOf(bubble));
      else bubble.live.set(sourceOf(bubble));
    }
    item.classList.toggle("streaming", running(last));
    item.classList.toggle("failed", last.status === "failed");
    if (last.job) {
      item.dataset.job = last.job;
      item.dataset.status = last.status;
    }
    const problem = last.status === "failed" ? last.error || "The answer failed."
      : last.status === "deleted" ? "(This answer's job was deleted.)" : "";
    bubble.error.textContent = problem;
    bubble.error.hidden = !problem;
    bubble.actions.replaceChildren(...actionsOf(bubble));
  }

  function button(label, name, onClick, className = "small") {
    const element = Object.assign(document.createElement("button"), { type: "button", className, textContent: label });
    if (name) element.setAttribute("aria-label", name);
    element.addEventListener("click", () => onClick(element));
    return element;
  }

  function actionsOf(bubble) {
    const head = bubble.parts[0];
    const last = bubble.parts.at(-1);
    const answer = bubble.role === "assistant";
    const made = [];
    if (head.siblings.length > 1) made.push(switcher(head, answer ? "answer" : "message"));
    if (answer && running(last)) {
      made.push(button("Stop", "Stop the answer", (element) => {
        element.disabled = true;
        GenHub.cancel(last.job);
      }, "small danger"));
      return made;
    }
    made.push(GenHubMarkdown.copyButton(answer ? "Copy answer" : "Copy message", () => answer ? sourceOf(bubble) : head.content));
    if (!answer) {
      made.push(button("Edit", "Edit message", () => edit(bubble)));
      return made;
    }
    made.push(button("Regenerate", "Regenerate answer", () => act({ parent: head.parent, ...sampling() })));
    if (bubble.last && last.finish_reason === "length") {
      made.push(button("Continue", "Continue answer", () => act({ continue_message: last.id, ...sampling(false) })));
    }
    return made;
  }

  // "‹ 1/2 ›": the versions of a message; picking one shows its branch.
  function switcher(message, noun) {
    const group = document.createElement("span");
    group.className = "versions";
    group.dataset.versions = "";
    const at = message.sibling_index;
    const count = message.siblings.length;
    const go = (index) => async () => {
      const { status, data } = await GenHub.call("PATCH", `/conversations/${chatId()}`, { leaf: message.siblings[index] });
      if (status === 200) draw(data);
    };
    const back = button("‹", `Previous ${noun}`, go(at - 1), "small version");
    back.disabled = at === 0;
    const position = Object.assign(document.createElement("span"), { textContent: `${at + 1}/${count}` });
    position.dataset.position = "";
    const next = button("›", `Next ${noun}`, go(at + 1), "small version");
    next.disabled = at === count - 1;
    group.append(back, position, next);
    return group;
  }

  // The form's model and sampling settings, for a turn or an action.
  function sampling(withModel = true) {
    const payload = {};
    if (withModel && form.elements.model.value) payload.model = form.elements.model.value;
    for (const name of SAMPLING) {
      const value = form.elements[name]?.value;
      if (value !== undefined && value !== "") payload[name] = Number(value);
    }
    return payload;
  }

  // One action on the open conversation: the job is made, and the conversation drawn again.
  async function act(fields) {
    const job = await GenHub.submit(form, { conversation: chatId(), ...fields });
    if (!job) return null;
    // Followed with its params, before the redraw follows it by id: the live bar
    // counts its tokens from the start, however soon a fast model ends.
    jobs.follow(job);
    await reload();
    return job;
  }

  async function reload() {
    const { status, data } = await GenHub.call("GET", `/conversations/${chatId()}`);
    if (status !== 200) return;
    draw(data);
    showTitle(data);
  }

  // A question edited in place; sending it branches the conversation there.
  function edit(bubble) {
    const head = bubble.parts[0];
    const editor = Object.assign(document.createElement("textarea"), { value: head.content, rows: 3 });
    editor.setAttribute("aria-label", "Edited message");
    editor.dataset.editor = "";
    bubble.body.replaceChildren(editor);
    const close = () => {
      bubble.body.textContent = head.content;
      refresh(bubble);
    };
    const send = button("Send", "Send edited message", () => {
      if (editor.value.trim()) act({ prompt: editor.value, parent: head.parent, ...sampling() });
    });
    bubble.actions.replaceChildren(send, button("Cancel", "Cancel editing", close));
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        send.click();
      }
    });
    editor.focus();
  }

  // --- the sidebar -------------------------------------------------------------

  function sidebarItem(id, text) {
    const item = document.createElement("li");
    item.dataset.conversation = id;
    const link = Object.assign(document.createElement("a"), { href: `?c=${id}`, textContent: text });
    link.dataset.title = "";
    const actions = document.createElement("span");
    actions.className = "actions";
    actions.dataset.actions = "";
    for (const [name, label] of [["rename", "Rename"], ["delete", "Delete"]]) {
      const element = Object.assign(document.createElement("button"), { type: "button", textContent: label });
      element.className = name === "delete" ? "small danger" : "small";
      element.dataset[name] = "";
      actions.append(element);
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

  function showTitle(data) {
    title.textContent = data.title || "Untitled";
    let item = conversations.querySelector(`[data-conversation="${CSS.escape(data.id)}"]`);
    if (!item) item = sidebarItem(data.id, "");
    item.querySelector("[data-title]").textContent = data.title || "Untitled";
    conversations.prepend(item);  // the newest first
    markCurrent(data.id);
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

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = form.elements.message.value;
    if (!text.trim()) {
      GenHub.showErrors(form, [{ loc: ["body", "prompt"], msg: "Write a message first." }]);
      return;
    }
    const id = await ensureConversation(form.elements.system.value.trim());
    if (!id) return;
    const job = await act({ prompt: text, ...sampling() });
    if (!job) return;
    form.elements.message.value = "";
  });

  // An event of a job this page follows: its answer grows, if the open
  // conversation holds it (a job sent from elsewhere shows only in the live panel).
  function onEvent(event, job) {
    let text = streamed.get(job.id) ?? "";
    if (event.type === "snapshot") text = event.text || "";
    if (event.type === "started" || event.type === "requeued") text = "";
    if (event.type === "token") text += event.text;
    streamed.set(job.id, text);
    const found = byJob.get(job.id);
    if (!found) return;
    const { bubble, part } = found;
    part.content = text;
    part.status = event.status;
    if (ENDED.has(event.status) && event.result) {
      part.content = event.result.text;
      part.finish_reason = event.result.finish_reason;
      if (event.result.note && !part.note) {
        part.note = event.result.note;
        bubble.element.after(note(event.result.note));
      }
    }
    if (event.status === "failed") part.error = event.error;
    const ended = GenHub.TERMINAL.has(event.status);
    refresh(bubble, ended);
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

  // The conversation the page opened with, drawn from its JSON; answers still
  // being written stream on.
  draw(JSON.parse(document.getElementById("conversation-data").textContent));
  jobs.followListed();
});
