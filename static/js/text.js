// The chat page: the conversation lives in this browser (localStorage); each
// turn sends it whole to the API and the answer streams in token by token. An
// answer remembers its job, so after a reload it goes on streaming.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const STORE = "genhub.chat";
  const form = document.querySelector("form[data-generate=text]");
  const list = document.querySelector("[data-messages]");
  const jobs = new GenHub.LiveJobs(document.querySelector("[data-live]"), onEvent, { unit: "" });
  const SAMPLING = ["max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed"];
  let conversation = JSON.parse(localStorage.getItem(STORE) || "[]");

  function save() {
    localStorage.setItem(STORE, JSON.stringify(conversation));
  }

  function bubble(message) {
    const item = document.createElement("li");
    item.className = `message ${message.role}`;
    item.textContent = message.content;
    return item;
  }

  function render() {
    list.replaceChildren(...conversation.map(bubble));
    if (!conversation.length) {
      list.append(Object.assign(document.createElement("li"), {
        className: "empty", textContent: "Ask something to start a conversation.",
      }));
    }
  }

  document.querySelector("[data-clear]").addEventListener("click", () => {
    conversation = [];
    save();
    render();
    jobs.panel.element.hidden = true;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = form.elements.message.value;
    const system = form.elements.system.value.trim();
    const asked = [...conversation, { role: "user", content: text }];
    const payload = {
      model: form.elements.model.value || undefined,
      messages: [...(system ? [{ role: "system", content: system }] : []), ...asked]
        .map(({ role, content }) => ({ role, content })),
    };
    for (const name of SAMPLING) {
      const value = form.elements[name]?.value;
      if (value !== undefined && value !== "") payload[name] = Number(value);
    }
    const job = await GenHub.submit(form, payload);
    if (!job) return;
    conversation = [...asked, { role: "assistant", content: "", job: job.id }];
    form.elements.message.value = "";
    save();
    render();
    list.lastElementChild.classList.add("streaming");
    jobs.follow(job);
  });

  // An event of a job this page follows: its answer grows, if the conversation
  // holds it (a job sent from elsewhere shows only in the live panel).
  function onEvent(event, job) {
    const index = conversation.findIndex((message) => message.job === job.id);
    if (index < 0) return;
    const answer = conversation[index];
    if (event.type === "snapshot") answer.content = event.text || "";
    if (event.type === "started" || event.type === "requeued") answer.content = "";
    if (event.type === "token") answer.content += event.text;
    if (event.status === "succeeded" && event.result) answer.content = event.result.text;
    if (event.status === "cancelled" && event.result) answer.content = event.result.text;
    const answerBubble = list.children[index];
    answerBubble.textContent = answer.content;
    answerBubble.classList.toggle("streaming", !GenHub.TERMINAL.has(event.status));
    if (event.status === "succeeded" && jobs.shows(job.id)) jobs.panel.element.hidden = true;
    save();
    list.scrollTop = list.scrollHeight;
  }

  form.elements.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  render();
  jobs.followListed();
});
