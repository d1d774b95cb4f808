/* The chat widget for customers' websites. No dependencies; renders into a Shadow DOM.
 *
 * <script src="https://support.example.com/chat/widget.js" data-entry-point="PUBLIC_ID" async></script>
 *
 * Talks to /ws/chat/<id>/ over a WebSocket (reconnects with backoff; unsent
 * messages are resent with their client id, which the server stores once).
 * The visitor's signed token is kept in this site's localStorage so a
 * returning visitor sees their history. Everything shown is set as text.
 * Files of the conversation are fetched with the token (never a bare URL) and
 * shown from blobs: proven images inline, anything else as a download.
 */
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector("script[data-entry-point], script[data-preview]");
  if (!script || script.dataset.chatStarted) { return; }
  script.dataset.chatStarted = "true";

  var preview = script.dataset.preview === "true";
  var widgetId = script.dataset.entryPoint || "";
  var base = new URL(script.src, location.href).origin;
  var storageKey = "support-chat:" + widgetId;

  var CSS = [
    ":host{all:initial;--accent:#4f46e5;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2430}",
    ".root{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;flex-direction:column;align-items:flex-end;gap:12px}",
    ".root.inline{position:static;align-items:flex-start}",
    "button{font:inherit;cursor:pointer}",
    ".launcher{width:56px;height:56px;border-radius:50%;border:0;background:var(--accent);color:#fff;box-shadow:0 6px 20px rgba(0,0,0,.2);display:grid;place-items:center;position:relative}",
    ".launcher:focus-visible,.icon-btn:focus-visible,.send:focus-visible,textarea:focus-visible,input:focus-visible,.link:focus-visible{outline:3px solid #1f2430;outline-offset:2px}",
    ".badge{position:absolute;top:-2px;right:-2px;min-width:18px;height:18px;border-radius:9px;background:#dc2626;color:#fff;font-size:11px;display:grid;place-items:center;padding:0 4px}",
    ".panel{width:min(360px,calc(100vw - 40px));height:min(520px,calc(100vh - 120px));background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.22);display:flex;flex-direction:column;overflow:hidden}",
    ".inline .panel{box-shadow:0 4px 18px rgba(0,0,0,.14);height:440px}",
    ".head{background:var(--accent);color:#fff;padding:14px 16px;display:flex;align-items:center;gap:10px}",
    ".head h2{font-size:15px;margin:0;font-weight:600}",
    ".status{font-size:12px;opacity:.9}",
    ".dot{display:inline-block;width:8px;height:8px;border-radius:50%;background:#a3a3a3;margin-right:5px}",
    ".dot.on{background:#4ade80}",
    ".head .titles{flex:1}",
    ".icon-btn{background:transparent;border:0;color:inherit;width:32px;height:32px;border-radius:8px;display:grid;place-items:center}",
    ".icon-btn:hover{background:rgba(255,255,255,.15)}",
    ".log{flex:1;overflow-y:auto;padding:14px;margin:0;list-style:none;display:flex;flex-direction:column;gap:8px;background:#f7f7fb}",
    ".msg{max-width:80%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;word-wrap:break-word}",
    ".msg.agent{background:#fff;border:1px solid #e6e6ef;align-self:flex-start;border-bottom-left-radius:4px}",
    ".msg.visitor{background:var(--accent);color:#fff;align-self:flex-end;border-bottom-right-radius:4px}",
    ".msg.greeting{background:#fff;border:1px solid #e6e6ef;align-self:flex-start}",
    ".meta{font-size:11px;color:#6b7280;margin-top:2px}",
    ".visitor+.meta,.meta.mine{align-self:flex-end}",
    ".meta.failed{color:#b91c1c}",
    ".who{font-size:11px;color:#6b7280;align-self:flex-start;margin-bottom:-6px}",
    ".notice{padding:10px 14px;background:#fff7ed;color:#7c2d12;font-size:13px;border-top:1px solid #fde7cf}",
    ".notice form,.contact form{display:flex;gap:6px;margin-top:6px;flex-wrap:wrap}",
    ".contact{padding:14px;background:#fff;border-top:1px solid #eee}",
    "input{font:inherit;flex:1;min-width:0;padding:7px 9px;border:1px solid #d4d4dc;border-radius:8px}",
    ".typing{font-size:12px;color:#6b7280;padding:0 14px 4px;min-height:18px;background:#f7f7fb}",
    ".composer{display:flex;align-items:flex-end;gap:6px;padding:10px;border-top:1px solid #eee;background:#fff}",
    "textarea{flex:1;resize:none;border:1px solid #d4d4dc;border-radius:10px;padding:8px 10px;font:inherit;max-height:96px;min-height:38px}",
    ".composer .icon-btn{color:#4b5563}",
    ".composer .icon-btn:hover{background:#f3f4f6}",
    ".send{background:var(--accent);color:#fff;border:0;border-radius:10px;padding:0 14px;height:38px}",
    ".send:disabled{opacity:.5;cursor:default}",
    ".error{color:#b91c1c;font-size:12px;padding:0 14px 6px;background:#fff}",
    ".error:empty{display:none}",
    ".link{background:none;border:0;color:inherit;text-decoration:underline;padding:0}",
    ".transcript{font-size:12px;color:#4b5563;padding:0 14px 10px;background:#fff}",
    ".transcript .link{font:inherit;cursor:pointer}",
    ".shot{display:block;max-width:100%;max-height:220px;border-radius:8px;margin-top:4px;background:#eef}",
    ".file svg{vertical-align:-2px}",
    ".file{display:block;background:none;border:0;color:inherit;text-decoration:underline;padding:0;margin-top:4px;text-align:left;font:inherit}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "[hidden]{display:none!important}"
  ].join("\n");

  var ICON_CHAT = "M4 5h16v11H8l-4 4z";
  var ICON_CLOSE = "M6 6l12 12M18 6L6 18";
  var ICON_CLIP = "M16.5 6.5l-7.8 7.8a2 2 0 002.8 2.8l7.8-7.8a4 4 0 00-5.6-5.6L5.9 11.5a6 6 0 008.5 8.5l6.1-6.1";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attrs[name]; } else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function icon(path, size) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size || 22));
    svg.setAttribute("height", String(size || 22));
    svg.setAttribute("aria-hidden", "true");
    var line = document.createElementNS(ns, "path");
    line.setAttribute("d", path);
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "currentColor");
    line.setAttribute("stroke-width", "2");
    line.setAttribute("stroke-linecap", "round");
    line.setAttribute("stroke-linejoin", "round");
    svg.appendChild(line);
    return svg;
  }

  function addStyles(root) {
    // A constructed stylesheet works under the host page's CSP (no inline <style>).
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (error) {
      root.appendChild(el("style", { text: CSS }));
    }
  }

  // --- the DOM --------------------------------------------------------------
  var host = el("div", { "data-support-chat": widgetId || "preview" });
  var shadow = host.attachShadow({ mode: "open" });
  addStyles(shadow);

  var launcher = el("button", { class: "launcher", type: "button", "aria-label": "Open chat", "aria-expanded": "false", "aria-controls": "chat-panel" }, [icon(ICON_CHAT)]);
  var badge = el("span", { class: "badge", hidden: "", "aria-hidden": "true" });
  launcher.appendChild(badge);
  var title = el("h2", { id: "chat-title", text: "Chat" });
  var statusText = el("span", { class: "status-text", text: "Connecting…" });
  var dot = el("span", { class: "dot", "aria-hidden": "true" });
  var closeButton = el("button", { class: "icon-btn", type: "button", "aria-label": "Close chat" }, [icon(ICON_CLOSE)]);
  // A list (no role="log": that would take the list semantics its items need); announced as it grows.
  var log = el("ol", { class: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "Messages" });
  var typingLine = el("div", { class: "typing", "aria-live": "polite" });
  var notice = el("div", { class: "notice", hidden: "" });
  var contact = el("div", { class: "contact", hidden: "" });
  var errorLine = el("div", { class: "error", role: "alert" });
  var textarea = el("textarea", { rows: "1", "aria-label": "Message", placeholder: "Write a message…" });
  var fileInput = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp", class: "sr", tabindex: "-1", "aria-hidden": "true" });
  var attachButton = el("button", { class: "icon-btn", type: "button", "aria-label": "Attach an image" }, [icon(ICON_CLIP)]);
  var sendButton = el("button", { class: "send", type: "submit", text: "Send" });
  var composer = el("form", { class: "composer", "aria-label": "Write to us" }, [attachButton, fileInput, textarea, sendButton]);
  // For a visitor who left an address: this chat by email, now (it also comes when the chat is closed).
  var transcriptButton = el("button", { class: "link", type: "button", text: "Email me this chat" });
  var transcriptStatus = el("span", { "aria-live": "polite" });
  var transcriptLine = el("div", { class: "transcript", hidden: "" }, [transcriptButton, document.createTextNode(" "), transcriptStatus]);
  var panel = el("section", { class: "panel", id: "chat-panel", role: "dialog", "aria-labelledby": "chat-title", hidden: "" }, [
    el("header", { class: "head" }, [
      el("div", { class: "titles" }, [title, el("div", { class: "status" }, [dot, statusText])]),
      closeButton
    ]),
    log, typingLine, notice, contact, errorLine, composer, transcriptLine
  ]);
  var root = el("div", { class: preview ? "root inline" : "root" }, [panel, launcher]);
  shadow.appendChild(root);

  // --- state ------------------------------------------------------------------
  var config = null;
  var visitor = { name: "", email: "" };
  var online = false;
  var shown = {};        // item id -> node, so nothing is shown twice
  var pending = {};      // client id -> {text, node, meta}, resent after a reconnect until acknowledged
  var socket = null;
  var ready = false;
  var attempts = 0;
  var unread = 0;
  var lastTypingSent = 0;
  var typingTimer = null;
  var lastAgentId = 0;
  var lastItemId = 0;    // the newest item shown: a reconnect catches up from it
  var historyShown = false;

  function applyConfig(widget) {
    config = widget;
    host.style.setProperty("--accent", widget.colour || "#4f46e5");
    title.textContent = widget.name || "Chat";
    textarea.maxLength = widget.max_chars || 2000;
  }

  function setStatus() {
    dot.classList.toggle("on", ready && online);
    if (!ready) { statusText.textContent = "Reconnecting…"; return; }
    statusText.textContent = online ? "We're online" : "Away — leave a message";
  }

  function scrollToEnd() { log.scrollTop = log.scrollHeight; }

  function metaLine(text, mine, failed) {
    return el("li", { class: "meta" + (mine ? " mine" : "") + (failed ? " failed" : ""), text: text });
  }

  function addGreeting() {
    if (config && config.greeting) {
      log.appendChild(el("li", { class: "msg greeting", text: config.greeting }));
    }
  }

  // The visitor's time zone, so the emailed transcript tells times as their clock does.
  function timeZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { return ""; }
  }

  function currentToken() {
    try { return localStorage.getItem(storageKey) || ""; } catch (error) { return ""; }
  }

  function fetchFile(attachment) {
    var url = base + "/chat/" + encodeURIComponent(widgetId) + "/files/" + encodeURIComponent(attachment.id) + "/";
    return fetch(url, { headers: { "X-Chat-Token": currentToken() }, credentials: "omit" }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.blob();
    });
  }

  function download(attachment) {
    fetchFile(attachment).then(function (blob) {
      // Typed as a download whatever it holds: a blob: URL runs in the host page's origin.
      var url = URL.createObjectURL(new Blob([blob], { type: "application/octet-stream" }));
      var link = el("a", { href: url, download: attachment.name || "file" });
      shadow.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    }).catch(function () { errorLine.textContent = "That file could not be downloaded. Try again."; });
  }

  function attachmentNode(attachment) {
    var name = attachment.name || (attachment.kind === "image" ? "Image" : "File");
    if (!attachment.id) { return el("span", { class: "file" }, [icon(ICON_CLIP, 14), document.createTextNode(" " + name)]); }
    if (attachment.inline) {
      var image = el("img", { class: "shot", alt: name });
      fetchFile(attachment).then(function (blob) {
        var url = URL.createObjectURL(blob);
        // Once shown (or refused) the picture no longer needs its blob: URL; released at once,
        // a long history does not keep every picture's bytes for the life of the page.
        function release() { URL.revokeObjectURL(url); }
        image.addEventListener("load", function () { release(); scrollToEnd(); }, { once: true });
        image.addEventListener("error", release, { once: true });
        image.src = url;
      }).catch(function () { image.replaceWith(el("span", { class: "file" }, [icon(ICON_CLIP, 14), document.createTextNode(" " + name)])); });
      return image;
    }
    var button = el("button", { class: "file", type: "button", "aria-label": "Download " + name }, [icon(ICON_CLIP, 14), document.createTextNode(" " + name)]);
    button.addEventListener("click", function () { download(attachment); });
    return button;
  }

  function messageNode(item, mine) {
    var node = el("li", { class: "msg " + (mine ? "visitor" : "agent") });
    if (item.text) { node.appendChild(el("span", { text: item.text })); }
    (item.attachments || []).forEach(function (attachment) { node.appendChild(attachmentNode(attachment)); });
    return node;
  }

  function statusLabel(status) {
    return { sent: "Sent", seen: "Seen", failed: "Not delivered", sending: "Sending…" }[status] || "";
  }

  function showItem(item) {
    lastItemId = Math.max(lastItemId, item.id);
    if (shown[item.id]) { return; }
    var mine = item.from === "visitor";
    if (mine && item.client_id && pending[item.client_id]) {
      // Our own message, confirmed: keep its bubble.
      var entry = pending[item.client_id];
      delete pending[item.client_id];
      if (!entry.node.isConnected) { log.appendChild(entry.node); log.appendChild(entry.meta); }
      if ((item.attachments || []).length) { entry.node.replaceWith(messageNode(item, true)); }
      entry.meta.textContent = statusLabel(item.status);
      entry.meta.dataset.itemId = item.id;
      shown[item.id] = entry.meta;
      return;
    }
    if (!mine && item.author) { log.appendChild(el("li", { class: "who", text: item.author })); }
    log.appendChild(messageNode(item, mine));
    var meta = metaLine(mine ? statusLabel(item.status) : "", mine, item.status === "failed");
    meta.dataset.itemId = item.id;
    if (!mine) { meta.hidden = true; lastAgentId = Math.max(lastAgentId, item.id); }
    log.appendChild(meta);
    shown[item.id] = meta;
  }

  function renderHistory(history) {
    log.textContent = "";
    shown = {};
    addGreeting();
    history.forEach(showItem);
    Object.keys(pending).forEach(function (clientId) {
      var entry = pending[clientId];
      log.appendChild(entry.node);
      log.appendChild(entry.meta);
    });
    scrollToEnd();
  }

  function renderNotice() {
    notice.textContent = "";
    contact.textContent = "";
    var needContact = config && config.ask_for_contact && !visitor.email;
    contact.hidden = !needContact;
    composer.hidden = !!needContact;
    if (needContact) {
      contact.appendChild(el("p", { text: "Before we start: who are we talking to?" }));
      contact.appendChild(contactForm(true));
    }
    transcriptLine.hidden = !visitor.email || needContact;
    notice.hidden = online || !ready || !config;
    if (!notice.hidden) {
      notice.appendChild(el("span", { text: config.offline_message }));
      if (!visitor.email && !needContact) { notice.appendChild(contactForm(false)); }
    }
  }

  function contactForm(withName) {
    var form = el("form", { "aria-label": "Your contact details" });
    var name = el("input", { type: "text", autocomplete: "name", placeholder: "Your name", "aria-label": "Your name" });
    var email = el("input", { type: "email", autocomplete: "email", placeholder: "Your email", "aria-label": "Your email", required: "" });
    if (withName) { form.appendChild(name); }
    form.appendChild(email);
    form.appendChild(el("button", { class: "send", type: "submit", text: "Save" }));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      send({ type: "contact", name: withName ? name.value : "", email: email.value });
    });
    return form;
  }

  function send(message) {
    if (socket && socket.readyState === 1 && ready) { socket.send(JSON.stringify(message)); return true; }
    return false;
  }

  function newClientId() {
    var bytes = new Uint8Array(9);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function sendText(text) {
    var clientId = newClientId();
    var node = el("li", { class: "msg visitor", text: text });
    var meta = metaLine("Sending…", true, false);
    pending[clientId] = { text: text, node: node, meta: meta };
    log.appendChild(node);
    log.appendChild(meta);
    scrollToEnd();
    send({ type: "message", client_id: clientId, text: text });
  }

  function resendPending() {
    Object.keys(pending).forEach(function (clientId) {
      if (pending[clientId].text) { send({ type: "message", client_id: clientId, text: pending[clientId].text }); }
    });
  }

  // Replies are read when the chat is open on a visible page; coming back to the tab with the
  // chat closed reads nothing, so the badge and the launcher's count stay.
  function markRead() {
    if (panel.hidden || document.visibilityState !== "visible") { return; }
    if (lastAgentId) { send({ type: "read", up_to: lastAgentId }); }
    unread = 0;
    badge.hidden = true;
    labelLauncher();
  }

  // The badge is only seen (and the log is hidden while the chat is closed): the launcher's
  // name tells a screen-reader user that replies are waiting.
  function labelLauncher() {
    var waiting = unread === 1 ? ", 1 new message" : unread > 1 ? ", " + unread + " new messages" : "";
    launcher.setAttribute("aria-label", panel.hidden ? "Open chat" + waiting : "Close chat");
  }

  function onMessage(event) {
    var data;
    try { data = JSON.parse(event.data); } catch (error) { return; }
    if (data.type === "ready") {
      ready = true;
      attempts = 0;
      try { localStorage.setItem(storageKey, data.token); } catch (error) { /* private mode: a new visitor each time */ }
      applyConfig(data.widget);
      visitor = data.visitor;
      online = data.online;
      if (data.catch_up) {
        // What we missed while away (and the latest items again): showItem skips what is shown.
        data.history.forEach(showItem);
        scrollToEnd();
      } else {
        renderHistory(data.history);
      }
      historyShown = true;
      renderNotice();
      setStatus();
      launcher.hidden = false;
      resendPending();
      markRead();
    } else if (data.type === "ack") {
      if (data.item) { showItem(data.item); }
    } else if (data.type === "message") {
      typingLine.textContent = "";
      showItem(data.item);
      scrollToEnd();
      if (panel.hidden) {
        unread += 1;
        badge.textContent = String(unread);
        badge.hidden = false;
        labelLauncher();
      } else { markRead(); }
    } else if (data.type === "typing") {
      clearTimeout(typingTimer);
      typingLine.textContent = data.typing ? (config && config.name ? config.name : "Support") + " is typing…" : "";
      typingTimer = setTimeout(function () { typingLine.textContent = ""; }, 6000);
    } else if (data.type === "seen") {
      Object.keys(shown).forEach(function (id) {
        var meta = shown[id];
        if (meta.classList.contains("mine") && !meta.classList.contains("failed")) { meta.textContent = "Seen"; }
      });
    } else if (data.type === "transcript_sent") {
      transcriptStatus.textContent = "On its way to " + data.email + ".";
      errorLine.textContent = "";
    } else if (data.type === "contact_saved") {
      visitor = { name: data.name, email: data.email };
      renderNotice();
      errorLine.textContent = "";
      textarea.focus();
    } else if (data.type === "error") {
      if (data.client_id && pending[data.client_id]) {
        var entry = pending[data.client_id];
        delete pending[data.client_id];
        entry.meta.textContent = "Not sent: " + data.message;
        entry.meta.classList.add("failed");
      } else {
        errorLine.textContent = data.message;
        transcriptStatus.textContent = "";
      }
    }
  }

  function connect() {
    var url = base.replace(/^http/, "ws") + "/ws/chat/" + encodeURIComponent(widgetId) + "/";
    socket = new WebSocket(url);
    socket.onopen = function () {
      var token = "";
      try { token = localStorage.getItem(storageKey) || ""; } catch (error) { token = ""; }
      var hello = { type: "hello", token: token, page_url: location.href, time_zone: timeZone() };
      if (historyShown) { hello.after = lastItemId; }
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = onMessage;
    socket.onclose = function () {
      ready = false;
      setStatus();
      attempts += 1;
      // Back off: 0.5 s, 1 s, 2 s … up to 15 s, with jitter so many visitors don't return at once.
      var delay = Math.min(15000, 500 * Math.pow(2, attempts - 1)) * (0.75 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }

  // --- interaction --------------------------------------------------------------
  function openPanel() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    scrollToEnd();
    var field = contact.hidden ? textarea : contact.querySelector("input");
    if (field) { field.focus(); }
    labelLauncher();
    markRead();
  }

  function closePanel() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    labelLauncher();
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) { openPanel(); } else { closePanel(); } });
  closeButton.addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { closePanel(); } });

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = textarea.value.trim();
    if (!text || preview) { return; }
    if (config && text.length > config.max_chars) {
      errorLine.textContent = "Messages can have at most " + config.max_chars + " characters.";
      return;
    }
    errorLine.textContent = "";
    textarea.value = "";
    lastTypingSent = 0;  // the next keystroke starts a new "typing"
    sendText(text);
  });
  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit ? composer.requestSubmit() : composer.dispatchEvent(new Event("submit"));
    }
  });
  textarea.addEventListener("input", function () {
    var now = Date.now();
    if (textarea.value && now - lastTypingSent > 2000) {
      lastTypingSent = now;
      send({ type: "typing", typing: true });
    }
  });
  document.addEventListener("visibilitychange", markRead);

  attachButton.addEventListener("click", function () { fileInput.click(); });
  transcriptButton.addEventListener("click", function () {
    transcriptStatus.textContent = send({ type: "transcript" }) ? "Sending…" : "Not connected; try again in a moment.";
  });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file || preview) { return; }
    if (config && file.size > config.max_attachment_bytes) {
      errorLine.textContent = "That file is too big. Images can be up to " + Math.round(config.max_attachment_bytes / 1048576) + " MB.";
      return;
    }
    if (!/^image\/(png|jpeg|gif|webp)$/.test(file.type)) {
      errorLine.textContent = "Only images (PNG, JPEG, GIF or WebP) can be attached.";
      return;
    }
    var clientId = newClientId();
    var node = el("li", { class: "msg visitor", text: "📎 " + file.name });
    var meta = metaLine("Uploading…", true, false);
    pending[clientId] = { text: "", node: node, meta: meta };
    log.appendChild(node);
    log.appendChild(meta);
    scrollToEnd();
    var body = new FormData();
    body.append("file", file);
    fetch(base + "/chat/" + encodeURIComponent(widgetId) + "/upload/", {
      method: "POST", body: body, headers: { "X-Chat-Token": currentToken(), "X-Chat-Client-Id": clientId }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (result.ok && result.data.item) { showItem(result.data.item); return; }
      delete pending[clientId];
      meta.textContent = "Not sent: " + (result.data.error || "the upload failed.");
      meta.classList.add("failed");
    }).catch(function () {
      delete pending[clientId];
      meta.textContent = "Not sent: the upload failed. Try again.";
      meta.classList.add("failed");
    });
  });

  // --- start ------------------------------------------------------------------
  if (preview) {
    applyConfig({
      name: script.dataset.name, colour: script.dataset.colour, greeting: script.dataset.greeting,
      offline_message: script.dataset.offlineMessage, ask_for_contact: script.dataset.askForContact === "true",
      max_chars: 2000, max_attachment_bytes: 0
    });
    ready = true;
    online = true;
    renderHistory([
      { id: -1, from: "visitor", text: "Hi! Do you ship to Spain?", status: "seen", attachments: [] },
      { id: -2, from: "agent", author: "Ada", text: "We do! Delivery takes 3–5 days.", status: "sent", attachments: [] }
    ]);
    renderNotice();
    setStatus();
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    script.parentNode.insertBefore(host, script.nextSibling);
    return;
  }
  launcher.hidden = true;  // shown once the server accepted this website
  function start() { document.body.appendChild(host); connect(); }
  if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }
})();
