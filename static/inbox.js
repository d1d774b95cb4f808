// Keyboard shortcuts and the composer's Enter-to-send: the few things htmx cannot do.
(function () {
  "use strict";

  function timeline() { return document.getElementById("timeline"); }
  function scrollTimelineToEnd() { var t = timeline(); if (t) { t.scrollTop = t.scrollHeight; } }
  function nearEnd() { var t = timeline(); return !t || t.scrollHeight - t.scrollTop - t.clientHeight < 80; }

  function composerMode(form) {
    var checked = form.querySelector("input[name=mode]:checked");
    return checked ? checked.value : "reply";
  }

  function syncComposer(form) {
    if (!form) { return; }
    var note = composerMode(form) === "note";
    form.classList.toggle("note-mode", note);
    var text = form.querySelector("textarea");
    if (text) { text.placeholder = note ? text.dataset.notePlaceholder : text.dataset.replyPlaceholder; }
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.id === "composer-text" && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      var form = target.form;
      var submitter = form.querySelector(composerMode(form) === "note" ? ".send-note" : ".send-reply");
      // A click (not requestSubmit) so that htmx honours the button's formaction.
      if (submitter && !submitter.disabled && target.value.trim()) { submitter.click(); }
      return;
    }
    if (event.key === "Escape" && typing(target)) { target.blur(); return; }
    if (typing(target) || event.metaKey || event.ctrlKey || event.altKey) { return; }
    if (event.key === "j" || event.key === "k") {
      var rows = Array.prototype.slice.call(document.querySelectorAll(".conv-row"));
      if (!rows.length) { return; }
      var current = rows.findIndex(function (row) { return row.classList.contains("is-active"); });
      var next = current === -1 ? 0 : current + (event.key === "j" ? 1 : -1);
      if (next >= 0 && next < rows.length) { event.preventDefault(); rows[next].click(); }
    } else if (event.key === "r") {
      var text = document.getElementById("composer-text");
      if (text) {
        event.preventDefault();
        var reply = text.form.querySelector("input[name=mode][value=reply]");
        if (reply && !reply.disabled) { reply.checked = true; syncComposer(text.form); }
        text.focus();
      }
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.name === "mode") { syncComposer(event.target.form); }
    // The template picker: only the chosen template's variables are shown and sent.
    if (event.target.matches("[data-testid=template-select]")) { syncTemplatePicker(event.target); }
  });
  function syncTemplatePicker(select) {
    var chosen = select.value;
    select.form.querySelectorAll("fieldset[data-template]").forEach(function (fieldset) {
      fieldset.hidden = fieldset.disabled = fieldset.dataset.template !== chosen;
    });
  }
  // A live update can keep a fieldset shown while the select starts over: show the select's choice again.
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-testid=template-select]").forEach(syncTemplatePicker);
  });

  // Live updates replace the timeline's items: keep the reader's place unless
  // they were at the end, where new messages should come into view; otherwise
  // a "New message ↓" pill says one arrived. `pinned` remembers whether the
  // reader is at the end, so pictures that load later (and make the timeline
  // taller) keep the newest message in view.
  var followEnd = true;
  var pinned = true;
  var lastItemBefore = null;
  function pill() { return document.getElementById("new-message-pill"); }
  function lastItemId() {
    var items = document.querySelectorAll("#timeline-items [id^=item-]");
    return items.length ? items[items.length - 1].id : null;
  }
  function toEnd() {
    scrollTimelineToEnd();
    pinned = true;
    var p = pill();
    if (p) { p.hidden = true; }
  }
  document.addEventListener("scroll", function (event) {
    if (event.target.id !== "timeline") { return; }
    pinned = nearEnd();
    var p = pill();
    if (pinned && p) { p.hidden = true; }
  }, true);
  document.addEventListener("load", function (event) {
    var t = timeline();
    if (pinned && t && event.target.tagName && t.contains(event.target)) { scrollTimelineToEnd(); }
  }, true);
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("#new-message-pill")) { toEnd(); }
  });
  function isTimelineSwap(event) {
    var target = event.detail.target;
    return !!target && (target.id === "timeline-items" || target.id === "timeline-delta");
  }
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    if (isTimelineSwap(event)) {
      followEnd = pinned || nearEnd();
      lastItemBefore = lastItemId();
    }
  });
  // A live update that brings only the items the page lacks (#timeline-delta, see
  // templates/inbox/_changes.html): each goes after the item it follows in the timeline's
  // order; one the page has already is kept (a fetch overtaken by another), a queued one
  // shown again replaces its old self.
  function mergeDelta() {
    var delta = document.getElementById("timeline-delta");
    var items = document.getElementById("timeline-items");
    if (!delta || !items) { return; }
    Array.prototype.slice.call(delta.children).forEach(function (wrapper) {
      var id = "item-" + Number(wrapper.dataset.item);
      var shown = items.querySelector("#" + id);
      var fresh = wrapper.querySelector("#" + id);
      if (wrapper.hasAttribute("data-replace")) {
        if (shown && fresh) { shown.replaceWith(fresh); }
      } else if (!shown && fresh) {
        var empty = items.querySelector(".timeline-empty");
        if (empty) { empty.remove(); }
        var follows = wrapper.dataset.follows ? items.querySelector("#item-" + Number(wrapper.dataset.follows)) : null;
        var nodes = document.createDocumentFragment();
        while (wrapper.firstChild) { nodes.appendChild(wrapper.firstChild); }
        if (follows) {
          follows.after(nodes);
        } else if (!wrapper.dataset.follows) {
          var earlier = items.querySelector(".earlier");
          items.insertBefore(nodes, earlier ? earlier.nextSibling : items.firstChild);
        } else {
          items.appendChild(nodes);
        }
      }
      wrapper.remove();
    });
  }
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (!isTimelineSwap(event)) { return; }
    if (event.detail.target.id === "timeline-delta") { mergeDelta(); }
    if (followEnd) {
      toEnd();
    } else if (lastItemId() !== lastItemBefore) {
      var p = pill();
      if (p) { p.hidden = false; }
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (target && (target.id === "conversation-pane" || target.tagName === "BODY")) {
      toEnd();
      syncComposer(document.getElementById("composer"));
      if (target.id === "conversation-pane") {
        var text = document.getElementById("composer-text");
        if (text && !text.value) { text.focus(); }
      }
    }
  });
  // The poller asks for changes only while the tab is visible. This check lives
  // here rather than in an hx-trigger filter because htmx runs filters through
  // eval, which the Content-Security-Policy forbids.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.id === "poller" && document.visibilityState !== "visible") { event.preventDefault(); }
  });
  // An email's remote images load only when the agent asks: loading them tells
  // the sender the message was opened (tracking), so they are held back as
  // data-remote-src by the Email Channel. No Referer goes with them.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-load-remote-images]");
    if (!button) { return; }
    var email = button.closest("[data-email]");
    email.querySelectorAll("img[data-remote-src]").forEach(function (image) {
      image.referrerPolicy = "no-referrer";
      image.src = image.dataset.remoteSrc;
      image.removeAttribute("data-remote-src");
    });
    button.remove();
  });
  document.addEventListener("DOMContentLoaded", function () {
    toEnd();
    syncComposer(document.getElementById("composer"));
  });
})();
