// The agents' everyday tools in the inbox: the `/` Answers list in the composer,
// checkboxes and the bulk bar, and the keyboard shortcuts with their sheet (`?`).
// Kept apart from inbox.js (live updates, composer basics) so each stays small.
(function () {
  "use strict";

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  // --- Answers: "/" then words in the composer lists matching answers -------
  var slash = null; // {start, query} while the list is open

  function picker() { return document.getElementById("answer-picker"); }
  function options() { var p = picker(); return p ? Array.prototype.slice.call(p.querySelectorAll("[data-answer-id]")) : []; }

  function slashToken(text) {
    // "/" at the start or after a space, then the words typed so far (no newline).
    var upToCaret = text.value.slice(0, text.selectionStart);
    var match = /(^|\s)\/([^\n\/]*)$/.exec(upToCaret);
    if (!match) { return null; }
    return { start: upToCaret.length - match[2].length - 1, query: match[2] };
  }

  function closePicker() {
    slash = null;
    var p = picker();
    if (p) { p.hidden = true; p.innerHTML = ""; }
  }

  function searchAnswers(text) {
    var token = slashToken(text);
    if (!token) { closePicker(); return; }
    slash = token;
    var p = picker();
    p.hidden = false;
    htmx.ajax("GET", p.dataset.pickerUrl, { target: "#answer-picker", swap: "innerHTML", values: { q: token.query } });
  }

  function activate(index) {
    var all = options();
    if (!all.length) { return; }
    index = (index + all.length) % all.length;
    all.forEach(function (option, i) {
      option.classList.toggle("is-active", i === index);
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    all[index].scrollIntoView({ block: "nearest" });
  }

  function insertAnswer(option) {
    var text = document.getElementById("composer-text");
    if (!text || !slash || !option) { return; }
    var filled = option.querySelector("template[data-answer-text]").content.textContent;
    var before = text.value.slice(0, slash.start);
    var after = text.value.slice(text.selectionStart);
    text.value = before + filled + after;
    var caret = (before + filled).length;
    text.setSelectionRange(caret, caret);
    var form = text.form;
    if (!form.querySelector("input[name=answer][value='" + option.dataset.answerId + "']")) {
      var used = document.createElement("input");
      used.type = "hidden"; used.name = "answer"; used.value = option.dataset.answerId;
      form.appendChild(used);
    }
    closePicker();
    text.focus();
  }

  document.addEventListener("input", function (event) {
    if (event.target.id === "composer-text") { searchAnswers(event.target); }
  });
  // Capture on window: runs before inbox.js's Enter-to-send while the list is open.
  window.addEventListener("keydown", function (event) {
    if (event.target.id !== "composer-text" || !slash) { return; }
    var all = options();
    var current = all.findIndex(function (option) { return option.classList.contains("is-active"); });
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      activate(current + (event.key === "ArrowDown" ? 1 : -1));
    } else if ((event.key === "Enter" || event.key === "Tab") && all.length) {
      event.preventDefault();
      event.stopImmediatePropagation();
      insertAnswer(all[Math.max(current, 0)]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopImmediatePropagation();
      closePicker();
    }
  }, true);
  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest("#answer-picker [data-answer-id]");
    if (option) { event.preventDefault(); insertAnswer(option); }
  });

  // --- Bulk: checked rows show the bar; checks survive live list updates ---
  function checkedIds() {
    return Array.prototype.map.call(document.querySelectorAll(".row-check:checked"), function (box) { return box.value; });
  }
  function syncBulkBar() {
    var bar = document.getElementById("bulk");
    if (!bar) { return; }
    var count = checkedIds().length;
    bar.hidden = count === 0;
    document.body.classList.toggle("bulk-selecting", count > 0);
    var label = bar.querySelector("[data-bulk-count]");
    if (label) { label.textContent = count + " selected"; }
  }
  document.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("row-check")) { syncBulkBar(); }
  });
  // A live update redraws the list (#list-pane), its rows (#list-body) or single rows (#row-<id>).
  function redrawsRows(event) {
    var id = event.detail.target ? event.detail.target.id : "";
    return id === "list-pane" || id === "list-body" || id.indexOf("row-") === 0;
  }
  var keptChecks = [];
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    if (redrawsRows(event)) { keptChecks = keptChecks.concat(checkedIds()); }
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (!redrawsRows(event)) { return; }
    keptChecks.forEach(function (id) {
      var box = document.querySelector(".row-check[value='" + id + "']");
      if (box) { box.checked = true; }
    });
    keptChecks = [];
    syncBulkBar();
  });

  // A live update redraws the conversation's header: a menu the agent has open stays open.
  var openMenu = null;
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details.menu")) { return; }
    if (menu.open) { openMenu = menu.dataset.testid; } else if (document.contains(menu)) { openMenu = null; }
  }, true);
  document.addEventListener("submit", function (event) {
    if (event.target.closest("details.menu")) { openMenu = null; }
  }, true);
  document.addEventListener("htmx:oobAfterSwap", function () {
    // After pending toggle events (they are queued), which may have just opened the old menu.
    window.setTimeout(function () {
      if (!openMenu) { return; }
      var menu = document.querySelector("details.menu[data-testid='" + openMenu + "']");
      if (menu && !menu.open) { menu.open = true; }
    }, 0);
  });

  // --- Notifications: new conversations offered to me, new messages in mine --
  // The server lists them in #notifier (pushed over the inbox socket, or polled
  // every 10 s while it is down, also while the tab is hidden); they are shown
  // only while this tab is not in front, as the agent chose.
  function setting(selector) {
    var box = document.querySelector(selector);
    return box ? box.checked : false;
  }
  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { return; }
    var context = new Context();
    var tone = context.createOscillator();
    var gain = context.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, context.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + 0.4);
    tone.connect(gain); gain.connect(context.destination);
    tone.start(); tone.stop(context.currentTime + 0.4);
  }
  function notify(notifier) {
    var notices = notifier.querySelectorAll("[data-notice]");
    if (!notices.length || document.hasFocus()) { return; }
    if (setting("[data-notify-desktop]") && "Notification" in window && Notification.permission === "granted") {
      notices.forEach(function (notice) {
        var shown = new Notification(notice.dataset.title, { body: notice.dataset.body, tag: notice.dataset.tag });
        shown.onclick = function () { window.focus(); window.location.href = notice.dataset.url; shown.close(); };
      });
    }
    if (setting("[data-notify-sound]")) { beep(); }
  }
  function syncPermissionButton() {
    var ask = document.querySelector("[data-ask-notifications]");
    var blocked = document.querySelector("[data-notifications-blocked]");
    var supported = "Notification" in window;
    if (ask) { ask.hidden = !supported || Notification.permission !== "default"; }
    if (blocked) { blocked.hidden = !supported || Notification.permission !== "denied"; }
  }
  document.addEventListener("htmx:load", function (event) {
    var element = event.detail.elt;
    if (element.id === "notifier") { notify(element); }
    if (element.id === "notification-settings" || element.querySelector && element.querySelector("#notification-settings")) { syncPermissionButton(); }
  });
  document.addEventListener("inbox:notices", function (event) { notify(event.target); });
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("[data-ask-notifications]")) { return; }
    // Browsers grant the permission only on a click, never unasked.
    Notification.requestPermission().then(syncPermissionButton);
  });
  document.addEventListener("DOMContentLoaded", syncPermissionButton);

  // --- Presence: tell the others I am typing (over the inbox socket, or the form's 5 s poll while it is down) ---
  var typingTimer = null;
  function presenceForm() { return document.querySelector("form[data-presence]"); }
  function setTyping(value) {
    var form = presenceForm();
    if (!form) { return; }
    var input = form.querySelector("[data-typing]");
    if (input.value === value) { return; }
    input.value = value;
    htmx.trigger(form, "presence-typing");
  }
  document.addEventListener("input", function (event) {
    if (event.target.id !== "composer-text") { return; }
    setTyping(event.target.value.trim() ? "1" : "0");
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(function () { setTyping("0"); }, 5000);
  });

  // --- Files in the composer: chosen, dropped or pasted, listed before sending ---
  function fileInput() { return document.querySelector("#composer [data-testid=attach-input]"); }
  function showChosen() {
    var input = fileInput();
    var list = document.querySelector("#composer [data-chosen-files]");
    if (!input || !list) { return; }
    list.textContent = Array.prototype.map.call(input.files, function (file) {
      return file.name + " (" + Math.max(1, Math.round(file.size / 1000)) + " KB)";
    }).join(", ");
    document.getElementById("composer").classList.toggle("has-files", input.files.length > 0);
  }
  function addFiles(files) {
    var input = fileInput();
    if (!input || !files.length) { return false; }
    var all = new DataTransfer();
    Array.prototype.forEach.call(input.files, function (file) { all.items.add(file); });
    Array.prototype.forEach.call(files, function (file) { all.items.add(file); });
    input.files = all.files;
    showChosen();
    return true;
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-testid=attach-input]")) { showChosen(); }
  });
  document.addEventListener("dragover", function (event) {
    var composer = event.target.closest && event.target.closest("#composer[data-attachments=on]");
    if (composer) { event.preventDefault(); composer.classList.add("drop-here"); }
  });
  document.addEventListener("dragleave", function (event) {
    var composer = event.target.closest && event.target.closest("#composer");
    if (composer && !composer.contains(event.relatedTarget)) { composer.classList.remove("drop-here"); }
  });
  document.addEventListener("drop", function (event) {
    var composer = event.target.closest && event.target.closest("#composer[data-attachments=on]");
    if (!composer) { return; }
    event.preventDefault();
    composer.classList.remove("drop-here");
    addFiles(event.dataTransfer.files);
  });
  document.addEventListener("paste", function (event) {
    if (event.target.id !== "composer-text" || !event.clipboardData || !event.clipboardData.files.length) { return; }
    if (addFiles(event.clipboardData.files)) { event.preventDefault(); }
  });

  // --- Keyboard shortcuts and their sheet ----------------------------------
  function click(selector) {
    var element = document.querySelector(selector);
    if (element) { element.click(); return true; }
    return false;
  }
  function focus(selector) {
    var element = document.querySelector(selector);
    if (element) { element.focus(); return true; }
    return false;
  }
  function activeRowCheck() {
    var row = document.querySelector(".conv-row.is-active");
    return row ? row.parentElement.querySelector(".row-check") : null;
  }
  var SHORTCUTS = {
    "?": function () { var sheet = document.getElementById("shortcut-sheet"); if (sheet.open) { sheet.close(); } else { sheet.showModal(); } return true; },
    "/": function () { return focus(".list-search input[name=q]"); },
    "n": function () {
      var note = document.querySelector("input[name=mode][value=note]");
      if (!note) { return false; }
      note.checked = true; note.dispatchEvent(new Event("change", { bubbles: true }));
      return focus("#composer-text");
    },
    "a": function () {
      var select = document.querySelector("[data-testid=assignee]");
      if (!select || !select.querySelector("option[value=me]")) { return false; }
      select.value = "me"; select.dispatchEvent(new Event("change", { bubbles: true }));
      return true;
    },
    "c": function () { return click("[data-testid=close]") || click("[data-testid=reopen]"); },
    "z": function () {
      if (click("[data-testid=wake]")) { return true; }
      var menu = document.querySelector("[data-testid=snooze-menu]");
      if (!menu) { return false; }
      menu.open = !menu.open;
      if (menu.open) { focus("[data-testid=snooze-menu] .menu-item"); }
      return true;
    },
    "t": function () { return focus("[data-testid=add-topic]"); },
    "A": function () { return focus("[data-testid=assignee]"); },
    "T": function () { return focus("[data-testid=transfer]"); },
    "e": function () { return click("[data-testid=edit-customer]"); },
    "m": function () {
      var box = document.querySelector("[data-testid=merge-box]");
      if (!box) { return false; }
      box.open = true;
      return focus("[data-testid=merge-search]");
    },
    "x": function () {
      var box = activeRowCheck();
      if (!box) { return false; }
      box.checked = !box.checked; syncBulkBar();
      return true;
    },
    "u": function () { return click("#new-message-pill:not([hidden])"); },
    "g": function () { window.location.href = "/inbox/answers/"; return true; },
  };
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var menu = document.querySelector("details.menu[open]");
      if (menu) { menu.open = false; }
    }
    if (typing(event.target) || event.metaKey || event.ctrlKey || event.altKey) { return; }
    var action = SHORTCUTS[event.key];
    if (action && document.getElementById("shortcut-sheet") && action()) { event.preventDefault(); }
  });
  // Choosing a snooze or a topic closes its menu; a click elsewhere closes open menus.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcut-sheet]")) { SHORTCUTS["?"](); }
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.open = false; }
    });
  });
})();
