// The sandbox page: polls /api/state and renders what Slack would show the chosen person;
// every click, form and message goes to /api/<action>, which sends it to the bot as Slack.
"use strict";

const S = { user: null, channel: null, thread: null, state: null, last: "", modalKey: "", busy: false };
const EMOJI = {
  warning: "⚠️", white_check_mark: "✅", rotating_light: "🚨", red_circle: "🔴",
  large_orange_circle: "🟠", large_yellow_circle: "🟡", alarm_clock: "⏰", x: "❌",
  hourglass_flowing_sand: "⏳", memo: "📝", bell: "🔔", calendar: "📅", clipboard: "📋",
};
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "html") node.innerHTML = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// ---------------------------------------------------------------- text
function htmlEscape(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
function slackUnescape(s) {
  return String(s).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
function emoji(s) {
  return s.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] || m);
}
function formatPlainRun(s) {
  // s is HTML-escaped already
  let t = s.replace(/```([\s\S]+?)```/g, (m, c) => `<pre>${c}</pre>`);
  t = t.replace(/`([^`\n]+)`/g, (m, c) => `<code>${c}</code>`);
  t = t.replace(/(^|[\s(>])\*([^*\n]+)\*(?=$|[\s).,:;!?<])/g, "$1<b>$2</b>");
  t = t.replace(/(^|[\s(>])_([^_\n]+)_(?=$|[\s).,:;!?<])/g, "$1<i>$2</i>");
  t = t.replace(/(^|[\s(>])~([^~\n]+)~(?=$|[\s).,:;!?<])/g, "$1<s>$2</s>");
  t = t.replace(/^&gt; (.*)$/gm, "<blockquote>$1</blockquote>");
  return emoji(t).replace(/\n/g, "<br>");
}
function datePretty(ts, fmt, fallback) {
  const st = S.state;
  const tz = (st && st.now_label.match(/\(([^)]+)\)$/) || [])[1] || undefined;
  const d = new Date(Number(ts) * 1000);
  if (isNaN(d)) return fallback;
  const day = (x) => x.toLocaleDateString("en-CA", { timeZone: tz });
  const now = st ? new Date(st.now) : new Date();
  const diff = Math.round((Date.parse(day(d)) - Date.parse(day(now))) / 86400000);
  const pretty = diff === 0 ? "today" : diff === 1 ? "tomorrow" : diff === -1 ? "yesterday" : null;
  const short = d.toLocaleDateString("en-GB", { timeZone: tz, day: "numeric", month: "short", year: "numeric" });
  const time = d.toLocaleTimeString("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit" });
  return fmt.replace("{date_short_pretty}", pretty || short).replace("{date_short}", short)
    .replace("{date_pretty}", pretty || short).replace("{date}", short).replace("{time}", time);
}
function mrkdwn(text) {
  // Slack's markup: <...> are links and mentions; elsewhere &amp; &lt; &gt; are escapes
  const names = (S.state && S.state.names) || {};
  let out = "";
  let last = 0;
  const re = /<([^<>]*)>/g;
  let m;
  const plainPart = (s) => formatPlainRun(htmlEscape(slackUnescape(s)));
  while ((m = re.exec(text)) !== null) {
    out += plainPart(text.slice(last, m.index));
    last = re.lastIndex;
    const [target, label] = m[1].split("|", 2);
    if (target.startsWith("@")) {
      const id = target.slice(1);
      out += `<span class="mention">@${htmlEscape(names[id] || label || id)}</span>`;
    } else if (target.startsWith("#")) {
      out += `<span class="mention">#${htmlEscape(label || target.slice(1))}</span>`;
    } else if (target.startsWith("!subteam^")) {
      out += `<span class="mention">@${htmlEscape(label || target.slice(9))}</span>`;
    } else if (target.startsWith("!date^")) {
      const parts = target.split("^");
      out += htmlEscape(datePretty(parts[1], parts[2] || "{date_short}", slackUnescape(label || "")));
    } else if (target.startsWith("!")) {
      out += `<span class="mention">@${htmlEscape(target.slice(1))}</span>`;
    } else if (/^(https?|mailto):/.test(target)) {
      out += `<a href="${htmlEscape(slackUnescape(target))}" target="_blank" rel="noopener noreferrer">${htmlEscape(slackUnescape(label || target))}</a>`;
    } else {
      out += htmlEscape(slackUnescape(m[0]));
    }
  }
  return out + plainPart(text.slice(last));
}
function textNode(obj) {
  if (!obj) return el("span");
  if (obj.type === "mrkdwn") return el("span", { class: "bk-text", html: mrkdwn(obj.text || "") });
  return el("span", { class: "bk-text", html: emoji(htmlEscape(obj.text || "")).replace(/\n/g, "<br>") });
}

// ---------------------------------------------------------------- Block Kit
function renderBlocks(blocks, ctx) {
  return (blocks || []).map((b) => renderBlock(b, ctx));
}
function renderBlock(b, ctx) {
  const blockId = b.block_id || "";
  switch (b.type) {
    case "header":
      return el("div", { class: "bk-header" }, textNode(b.text));
    case "divider":
      return el("hr", { class: "bk-divider" });
    case "section": {
      const node = el("div", { class: "bk-section", "data-block-id": blockId });
      const body = el("div", { class: "bk-text" });
      if (b.text) body.append(textNode(b.text));
      if (b.fields) body.append(el("div", { class: "bk-fields" }, b.fields.map((f) => el("div", { class: "bk-field" }, textNode(f)))));
      node.append(body);
      if (b.accessory) node.append(renderElement(b.accessory, blockId, ctx));
      return node;
    }
    case "context":
      return el("div", { class: "bk-context" }, (b.elements || []).map((e) => e.type === "image"
        ? el("img", { src: e.image_url, alt: e.alt_text, width: 16, height: 16 }) : textNode(e)));
    case "actions":
      return el("div", { class: "bk-actions", "data-block-id": blockId }, (b.elements || []).map((e) => renderElement(e, blockId, ctx)));
    case "image":
      return el("div", { class: "bk-image" }, el("img", { src: b.image_url, alt: b.alt_text }));
    case "input":
      return renderInput(b, ctx);
    default:
      return el("div", { class: "bk-context" }, `[${b.type} block]`);
  }
}
function renderElement(e, blockId, ctx) {
  if (e.type === "button") {
    const cls = "bk-button" + (e.style ? " " + e.style : "");
    return el("button", {
      type: "button", class: cls, "data-action-id": e.action_id,
      onclick: (ev) => { ev.preventDefault(); pressButton(e, blockId, ctx); },
    }, e.text ? e.text.text : "");
  }
  if (e.type === "image") return el("img", { src: e.image_url, alt: e.alt_text, width: 48 });
  // other interactive elements in messages: shown, not used by this bot
  return el("span", { class: "bk-context" }, `[${e.type}]`);
}
function pressButton(e, blockId, ctx) {
  if (e.url) window.open(e.url, "_blank", "noopener");
  const send = () => post("click", {
    action: e, block_id: blockId, channel: ctx.channel || null,
    message_ts: ctx.ts || null, view_id: ctx.view_id || null,
  });
  if (e.confirm) showConfirm(e.confirm, send); else send();
}
function showConfirm(c, onYes) {
  $("#confirm-title").textContent = c.title ? c.title.text : "Are you sure?";
  $("#confirm-text").replaceChildren(textNode(c.text));
  $("#confirm-yes").textContent = c.confirm ? c.confirm.text : "Yes";
  $("#confirm-no").textContent = c.deny ? c.deny.text : "Cancel";
  $("#confirm-yes").className = c.style === "danger" ? "danger bk-button" : "primary";
  $("#confirm-backdrop").hidden = false;
  $("#confirm-yes").onclick = () => { $("#confirm-backdrop").hidden = true; onYes(); };
  $("#confirm-no").onclick = () => { $("#confirm-backdrop").hidden = true; };
}

// ---------------------------------------------------------------- modal inputs
function optionLabel(o) { return o.text ? o.text.text : o.value; }
function selectOptions(e, sel) {
  const initial = e.initial_option ? e.initial_option.value : null;
  const initials = (e.initial_options || []).map((o) => o.value);
  const add = (parent, o) => parent.append(el("option", {
    value: o.value, selected: o.value === initial || initials.includes(o.value),
  }, optionLabel(o)));
  (e.options || []).forEach((o) => add(sel, o));
  (e.option_groups || []).forEach((g) => {
    const grp = el("optgroup", { label: g.label ? g.label.text : "" });
    (g.options || []).forEach((o) => add(grp, o));
    sel.append(grp);
  });
}
function renderInput(b, ctx) {
  const e = b.element || {};
  const id = "in-" + b.block_id;
  const wrap = el("div", { class: "bk-input", "data-block-id": b.block_id, "data-type": e.type });
  wrap.append(el("label", { for: id }, b.label ? b.label.text : "", b.optional ? el("span", { class: "optional" }, " (optional)") : null));
  const ph = e.placeholder ? e.placeholder.text : null;
  let field;
  switch (e.type) {
    case "plain_text_input":
      field = e.multiline
        ? el("textarea", { id, placeholder: ph, maxlength: e.max_length })
        : el("input", { id, type: "text", placeholder: ph, maxlength: e.max_length });
      if (e.initial_value) field.value = e.initial_value;
      break;
    case "number_input": case "email_text_input": case "url_text_input":
      field = el("input", { id, type: { number_input: "number", email_text_input: "email", url_text_input: "url" }[e.type], placeholder: ph });
      if (e.initial_value) field.value = e.initial_value;
      break;
    case "static_select": case "multi_static_select": {
      const multi = e.type.startsWith("multi_");
      field = el("select", { id, multiple: multi });
      if (!multi) field.append(el("option", { value: "" }, ph || "Choose an option"));
      selectOptions(e, field);
      break;
    }
    case "users_select": case "multi_users_select": {
      const multi = e.type.startsWith("multi_");
      field = el("select", { id, multiple: multi });
      if (!multi) field.append(el("option", { value: "" }, ph || "Choose a person"));
      for (const p of S.state.people) {
        field.append(el("option", { value: p.id, selected: e.initial_user === p.id }, p.name));
      }
      break;
    }
    case "external_select": {
      field = el("div", { class: "bk-external" });
      const search = el("input", { id, type: "text", placeholder: ph || "Type to search" });
      const pick = el("select", { class: "external-options" }, el("option", { value: "" }, "—"));
      let timer = null;
      search.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(async () => {
          const r = await api("options", { view_id: ctx.view_id, block_id: b.block_id, action_id: e.action_id, value: search.value });
          pick.replaceChildren(el("option", { value: "" }, r.options && r.options.length ? "Choose" : "No options"));
          for (const o of r.options || []) pick.append(el("option", { value: JSON.stringify(o) }, optionLabel(o)));
        }, 250);
      });
      field.append(search, pick);
      break;
    }
    case "radio_buttons": case "checkboxes": {
      const kind = e.type === "radio_buttons" ? "radio" : "checkbox";
      const initials = [e.initial_option, ...(e.initial_options || [])].filter(Boolean).map((o) => o.value);
      field = el("div", { id, class: "choices" }, (e.options || []).map((o, i) => el("label", { class: "choice" },
        el("input", { type: kind, name: id, value: o.value, checked: initials.includes(o.value), "data-index": i }),
        textNode(o.text))));
      break;
    }
    case "datepicker":
      field = el("input", { id, type: "date", value: e.initial_date });
      break;
    case "timepicker":
      field = el("input", { id, type: "time", value: e.initial_time });
      break;
    case "file_input":
      field = el("input", { id, type: "file", multiple: (e.max_files || 10) > 1, accept: (e.filetypes || []).map((t) => "." + t).join(",") || null });
      break;
    default:
      field = el("div", { class: "bk-context" }, `[${e.type}]`);
  }
  wrap.append(field);
  if (b.hint) wrap.append(el("div", { class: "hint" }, b.hint.text));
  wrap.append(el("div", { class: "bk-error", hidden: true }));
  return wrap;
}
function answers() {
  const out = {};
  for (const w of document.querySelectorAll("#modal-blocks .bk-input")) {
    const type = w.dataset.type;
    const id = w.dataset.blockId;
    if (type === "radio_buttons") {
      const c = w.querySelector("input:checked");
      out[id] = c ? c.value : null;
    } else if (type === "checkboxes") {
      out[id] = [...w.querySelectorAll("input:checked")].map((c) => c.value);
    } else if (type === "multi_static_select" || type === "multi_users_select") {
      out[id] = [...w.querySelector("select").selectedOptions].map((o) => o.value);
    } else if (type === "external_select") {
      const v = w.querySelector("select.external-options").value;
      out[id] = v ? JSON.parse(v) : null;
    } else if (type === "file_input") {
      out[id] = [...w.querySelector("input").files].map((f) => f.name);
    } else {
      const f = w.querySelector("input, textarea, select");
      out[id] = f ? f.value : null;
    }
  }
  return out;
}
function renderModal(st) {
  const m = st.modal;
  $("#modal-backdrop").hidden = !m;
  if (!m) { S.modalKey = ""; return; }
  const v = m.view;
  const key = v.id + "/" + v.hash;
  if (key !== S.modalKey) {
    S.modalKey = key;
    $("#modal-title").textContent = v.title ? v.title.text : "";
    $("#modal-submit").textContent = v.submit ? v.submit.text : "";
    $("#modal-submit").hidden = !v.submit;
    $("#modal-close").textContent = v.close ? v.close.text : "Close";
    $("#modal-blocks").replaceChildren(...renderBlocks(v.blocks, { view_id: v.id }));
  }
  for (const w of document.querySelectorAll("#modal-blocks .bk-input")) {
    const msg = (m.errors || {})[w.dataset.blockId];
    const box = w.querySelector(".bk-error");
    box.hidden = !msg;
    box.textContent = msg || "";
    w.classList.toggle("has-error", Boolean(msg));
  }
}

// ---------------------------------------------------------------- messages
function initials(name) { return (name || "?").split(/\s+/).map((p) => p[0]).join("").slice(0, 2).toUpperCase(); }
function renderMessage(msg, channel, { inThread = false, ephemeral = false } = {}) {
  const st = S.state;
  const isBot = msg.user === st.bot_user || msg.bot_id;
  const name = isBot ? "Complaint desk" : (st.names[msg.user] || msg.user);
  const body = el("div", { class: "body" });
  body.append(el("div", { class: "meta" }, el("b", {}, name), isBot ? el("span", { class: "app" }, "APP") : null,
    datePretty(msg.ts, "{time}", ""), msg.edited ? el("span", { class: "edited" }, " (edited)") : null));
  if (ephemeral) body.append(el("div", { class: "only-you" }, "Only visible to you"));
  const ctx = { channel, ts: msg.ts };
  if (msg.blocks && msg.blocks.length) body.append(...renderBlocks(msg.blocks, ctx));
  else body.append(el("div", { html: mrkdwn(msg.text || "") }));
  if (!inThread && !ephemeral) {
    const n = (msg.replies || []).length;
    body.append(el("div", { class: "thread-links" },
      n ? el("a", { class: "replies-link", onclick: () => openThread(channel, msg.ts) }, `${n} ${n === 1 ? "reply" : "replies"}`) : null,
      el("a", { class: "reply-btn", onclick: () => openThread(channel, msg.ts) }, "Reply in thread")));
  }
  return el("div", { class: "msg" + (ephemeral ? " ephemeral" : ""), "data-ts": msg.ts, "data-user": msg.user || "" },
    el("div", { class: "avatar" + (isBot ? " bot" : "") }, isBot ? "CD" : initials(name)), body);
}
function renderChannel(st) {
  const home = S.channel === "home";
  $("#messages").hidden = home;
  $("#composer").hidden = home;
  $("#home").hidden = !home;
  const chan = st.channels.find((c) => c.id === S.channel);
  $("#channel-title").textContent = home ? "Complaint desk — Home" : chan.kind === "dm" ? "Complaint desk (direct message)" : "# " + chan.name;
  if (home) {
    const view = st.home;
    $("#home").replaceChildren(el("div", { class: "home-tabs" }, "Home · Messages · About"),
      view ? el("div", { class: "home-body" }, renderBlocks(view.blocks, { view_id: view.id }))
        : el("div", { class: "empty" }, "The app has not published a Home tab for you yet."));
    return;
  }
  const items = (st.messages[S.channel] || []).map((m) => ({ ts: m.ts, node: renderMessage(m, S.channel) }));
  for (const e of st.ephemerals) {
    if (e.channel === S.channel && !e.thread_ts) items.push({ ts: e.ts, node: renderMessage({ ...e, user: st.bot_user }, S.channel, { ephemeral: true }) });
  }
  items.sort((a, b) => Number(a.ts) - Number(b.ts));
  const box = $("#messages");
  const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 40;
  box.replaceChildren(...(items.length ? items.map((i) => i.node) : [el("div", { class: "empty" }, "No messages yet.")]));
  if (atEnd) box.scrollTop = box.scrollHeight;
}
function renderThread(st) {
  const pane = $("#thread");
  if (!S.thread) { pane.hidden = true; return; }
  const parent = (st.messages[S.thread.channel] || []).find((m) => m.ts === S.thread.ts);
  if (!parent) { pane.hidden = true; return; }
  pane.hidden = false;
  const chan = st.channels.find((c) => c.id === S.thread.channel);
  $("#thread-channel").textContent = chan ? (chan.kind === "dm" ? "" : "# " + chan.name) : "";
  const n = parent.replies.length;
  $("#thread-messages").replaceChildren(renderMessage(parent, S.thread.channel, { inThread: true }),
    el("div", { class: "divider-count" }, `${n} ${n === 1 ? "reply" : "replies"}`),
    ...parent.replies.map((r) => renderMessage(r, S.thread.channel, { inThread: true })));
}
function openThread(channel, ts) {
  S.thread = { channel, ts };
  renderThread(S.state);
}
function renderSidebar(st) {
  const dm = st.channels.find((c) => c.kind === "dm");
  const link = (id, label) => el("a", { class: S.channel === id ? "active" : "", "data-channel": id, onclick: () => selectChannel(id) }, label);
  $("#channel-list").replaceChildren(...st.channels.filter((c) => c.kind === "channel").map((c) => link(c.id, "# " + c.name)));
  $("#app-list").replaceChildren(link("home", "🏠 Complaint desk — Home"), link(dm.id, "💬 Complaint desk — Messages"));
  $("#refused").replaceChildren(...(st.refused.length ? [el("div", {}, "Web API calls Slack refused:")] : []),
    ...st.refused.map((r) => el("div", { class: "refused-call" }, `${r.method}: ${r.error}`)));
}
function render(st) {
  S.state = st;
  $("#sandbox-note").textContent = st.note + " Database: " + st.database;
  $("#clock-now").textContent = st.now_label;
  const person = $("#person");
  if (!person.options.length) {
    for (const p of st.people) person.append(el("option", { value: p.id }, `${p.name} — ${p.role}`));
  }
  person.value = S.user;
  if (!S.channel) S.channel = st.channels[0].id;
  renderSidebar(st);
  renderChannel(st);
  renderThread(st);
  renderModal(st);
  $("#notices").replaceChildren(...st.notices.map((n) => el("div", { class: "notice" }, n.text)));
}

// ---------------------------------------------------------------- talking to the sandbox
async function api(action, data) {
  const r = await fetch("/api/" + action, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: S.user, ...data }),
  });
  return r.json();
}
async function post(action, data) {
  S.busy = true;
  document.body.classList.add("busy");
  try {
    await api(action, data);
  } finally {
    S.busy = false;
    document.body.classList.remove("busy");
    await refresh(true);
  }
}
async function refresh(force) {
  if (S.busy && !force) return;
  const r = await fetch("/api/state?user=" + encodeURIComponent(S.user));
  const text = await r.text();
  if (text === S.last && !force) return;
  S.last = text;
  render(JSON.parse(text));
  document.body.dataset.version = String(Number(document.body.dataset.version || 0) + 1);
}
function selectChannel(id) {
  S.channel = id;
  if (id === "home") post("home", {});
  else render(S.state);
}

$("#person").addEventListener("change", (ev) => {
  S.user = ev.target.value;
  S.thread = null;
  S.modalKey = "";
  S.channel = null;
  refresh(true);
});
$("#composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("#composer-input");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  if (text.startsWith("/")) post("command", { channel: S.channel, text });
  else post("message", { channel: S.channel, text });
});
$("#thread-composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("#thread-input");
  if (!input.value.trim() || !S.thread) return;
  const text = input.value;
  input.value = "";
  post("message", { channel: S.thread.channel, thread_ts: S.thread.ts, text });
});
$("#thread-close").addEventListener("click", () => { S.thread = null; renderThread(S.state); });
$("#modal-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  post("submit", { view_id: S.state.modal.view.id, answers: answers() });
});
$("#modal-close").addEventListener("click", () => post("close", { view_id: S.state.modal.view.id }));
$("#clock-hour").addEventListener("click", () => post("clock", { step: "hour" }));
$("#clock-day").addEventListener("click", () => post("clock", { step: "day" }));

S.user = new URLSearchParams(location.search).get("user") || "U0SBMKT";
refresh(true);
setInterval(() => refresh(false), 1500);
