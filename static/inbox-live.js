// Push for the agents' inbox: a WebSocket (/ws/inbox/) says which conversation
// changed, and the page asks the changes endpoint for the fragments at once,
// the same request the fallback poll makes. While the socket is down the
// one-second poll runs and the page says live updates are degraded; after a
// reconnect one catch-up request from the page's cursor brings everything
// missed (the fragments replace what is shown, so nothing appears twice).
// The socket also brings notifications (#notifier) and who else has the open
// conversation (the presence form); their polls run only while it is down.
(function () {
  "use strict";
  // A boosted navigation swaps the body and htmx runs its scripts again: one socket per page.
  if (window.inboxLiveStarted) { return; }
  window.inboxLiveStarted = true;

  var socket = null;
  var up = false;
  var attempts = 0;
  var inFlight = false;
  var again = false;
  var lastTypingSent = 0;
  var typingTimer = null;
  var VIEWING_EVERY = 10000; // the server forgets an agent after 15 s without a report
  var KNOWN_IDS = 100; // inbox.timeline.KNOWN_IDS

  function poller() { return document.getElementById("poller"); }
  function banner() { return document.getElementById("live-status"); }

  function pageState() {
    var element = poller();
    if (!element) { return { shown: [], open: null }; }
    try {
      var values = JSON.parse(element.getAttribute("hx-vals"));
      var shown = String(values.shown || "").split(",").filter(Boolean).map(Number);
      return { shown: shown, open: values.open ? Number(values.open) : null };
    } catch (error) { return { shown: [], open: null }; }
  }

  function setUp(value) {
    up = value;
    document.documentElement.dataset.live = value ? "up" : "down";
    var element = banner();
    if (element) { element.hidden = value; }
  }

  function send(message) {
    if (socket && up) { socket.send(JSON.stringify(message)); }
  }

  // Ask for the changed fragments: the poller's own request (its cursor and page state), marked
  // as pushed. Coalesced: one at a time, and one more if a push came meanwhile, started at least
  // a gap after the one before: FETCH_GAP, or twice the last answer's time when the server is
  // slower than that (up to a second, the fallback poll's period). A busy conversation pushes
  // many notes a second; each fetch brings everything up to its moment, so spacing them costs a
  // little delay and spares a loaded server a request per note.
  var FETCH_GAP = 250;
  var lastFetch = 0;
  var lastTook = 0;
  var gapTimer = null;
  function refresh() {
    var element = poller();
    if (!element) { return; }
    if (inFlight || gapTimer) { again = true; return; }
    var wait = lastFetch + Math.min(1000, Math.max(FETCH_GAP, 2 * lastTook)) - Date.now();
    if (wait > 0) {
      gapTimer = setTimeout(function () { gapTimer = null; again = false; refresh(); }, wait);
      return;
    }
    inFlight = true;
    lastFetch = Date.now();
    htmx.ajax("GET", element.getAttribute("hx-get"), {
      source: element, target: element, swap: "outerHTML", values: { trigger: "push" }
    }).catch(function () { /* the socket or the next push tries again */ }).then(function () {
      inFlight = false;
      lastTook = Date.now() - lastFetch;
      afterSwap();
      if (again) { again = false; refresh(); }
    });
  }

  // After each fetch: tell the socket what the page shows now. Only what changed is sent, as
  // fetches come many times a second while a conversation is busy: the watched ids when they
  // differ, "seen" when the open conversation's newest item did (at most once a second, the last
  // one always), and who is viewing when the conversation's presence form was drawn anew.
  var watching = "";
  var viewedForm = null;
  var seenItem = "";
  var seenTimer = null;
  var lastSeenSent = 0;

  function afterSwap() {
    var state = pageState();
    var ids = state.shown.slice();
    if (state.open && ids.indexOf(state.open) === -1) { ids.push(state.open); }
    var key = ids.join(",");
    if (key !== watching) {
      watching = key;
      send({ type: "watch", conversation_ids: ids });
    }
    var timeline = timelineState();
    var newest = state.open ? state.open + ":" + (timeline ? timeline.newest : "") : "";
    if (state.open && newest !== seenItem && document.visibilityState === "visible") {
      seenItem = newest;
      clearTimeout(seenTimer);
      seenTimer = setTimeout(function () {
        lastSeenSent = Date.now();
        send({ type: "seen", conversation_id: state.open });
      }, Math.max(0, 1000 - (Date.now() - lastSeenSent)));
    }
    var form = presenceForm();
    if (form !== viewedForm) {
      viewedForm = form;
      reportViewing(true);
    }
  }

  // The open conversation's timeline as the page shows it: the revision it was drawn at and its
  // newest item ids, so the changes endpoint answers only the items the page lacks.
  function timelineState() {
    var items = document.getElementById("timeline-items");
    if (!items) { return null; }
    var ids = [];
    items.querySelectorAll("[id^=item-]").forEach(function (item) {
      var id = Number(item.id.slice(5));
      if (id > 0) { ids.push(id); }
    });
    ids = ids.slice(-KNOWN_IDS);
    return { rev: items.dataset.rev || "", known: ids.join(","), newest: ids.length ? Math.max.apply(null, ids) : "" };
  }

  // --- Presence: the open conversation's form says who I am, the socket who else is there ---
  function presenceForm() { return document.querySelector("form[data-presence]"); }

  // `fresh`: the form was just drawn, so the socket answers with who is there now.
  function reportViewing(fresh) {
    var form = presenceForm();
    var typing = form ? form.querySelector("[data-typing]") : null;
    send({
      type: "viewing",
      conversation_id: form ? Number(form.id.replace("presence-", "")) : null,
      typing: !!(typing && typing.value === "1"),
      fresh: !!fresh
    });
  }

  function showPresence(conversationId, others) {
    var form = document.getElementById("presence-" + conversationId);
    var list = form ? form.querySelector(".presence-list") : null;
    if (!list) { return; }
    list.textContent = "";
    others.forEach(function (other) {
      var who = document.createElement("span");
      who.className = "presence-who" + (other.typing ? " typing" : "");
      who.setAttribute("data-testid", "presence");
      who.textContent = other.name + (other.typing ? " is typing a reply…" : " is viewing");
      list.appendChild(who);
    });
  }

  // --- Notifications: the same marks the fallback poll's #notifier holds, then workspace.js shows them ---
  function notifier() { return document.getElementById("notifier"); }

  function notifyFrom() {
    var element = notifier();
    if (!element) { return; }
    try {
      var after = Number(JSON.parse(element.getAttribute("hx-vals")).after);
      if (after >= 0) { send({ type: "notify_from", after: after }); }
    } catch (error) { /* no cursor: the server does not notify this page */ }
  }

  function showNotices(notices, after) {
    var element = notifier();
    if (!element) { return; }
    element.textContent = "";
    notices.forEach(function (notice) {
      var mark = document.createElement("span");
      mark.setAttribute("data-notice", "");
      mark.dataset.title = notice.title;
      mark.dataset.body = notice.body;
      mark.dataset.url = notice.url;
      mark.dataset.tag = notice.tag;
      element.appendChild(mark);
    });
    // If the socket drops, the fallback poll goes on from here.
    element.setAttribute("hx-vals", JSON.stringify({ after: String(after) }));
    element.dispatchEvent(new CustomEvent("inbox:notices", { bubbles: true }));
  }

  function showTyping(conversationId, typing) {
    var state = pageState();
    var composer = document.getElementById("composer");
    if (state.open !== conversationId || !composer) { return; }
    var line = document.getElementById("live-typing");
    if (!line) {
      line = document.createElement("div");
      line.id = "live-typing";
      line.className = "live-typing";
      line.setAttribute("role", "status");
      line.setAttribute("data-testid", "customer-typing");
      composer.parentNode.insertBefore(line, composer);
    }
    var head = document.querySelector(".conv-head h1");
    line.textContent = typing ? (head ? head.textContent.trim() : "The customer") + " is typing…" : "";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { line.textContent = ""; }, 6000);
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/inbox/");
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (error) { return; }
      if (data.type === "hello") {
        var wasDown = attempts > 0 || document.documentElement.dataset.live === "down";
        attempts = 0;
        setUp(true);
        notifyFrom();
        watching = "";  // a new socket knows nothing yet
        viewedForm = null;
        afterSwap();
        // Catch up from the page's cursor: whatever changed while we were not listening.
        if (wasDown) { refresh(); }
      } else if (data.type === "changed") {
        refresh();
      } else if (data.type === "typing") {
        showTyping(data.conversation_id, data.typing);
      } else if (data.type === "presence") {
        showPresence(data.conversation_id, data.others || []);
      } else if (data.type === "notify") {
        showNotices(data.notices || [], data.after);
      }
    };
    socket.onclose = function () {
      socket = null;
      setUp(false);
      attempts += 1;
      var delay = Math.min(10000, 500 * Math.pow(2, attempts - 1)) * (0.75 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }

  // While the socket is up the polls ask nothing: the changes poller's timer, the
  // notifier's, and the presence form's (its reports go over the socket instead).
  document.addEventListener("htmx:configRequest", function (event) {
    var element = event.detail.elt;
    if (element && element.id === "poller") {
      var timeline = timelineState();
      if (timeline) {
        event.detail.parameters.rev = timeline.rev;
        event.detail.parameters.known = timeline.known;
      }
      var head = document.getElementById("conversation-head");
      if (head && head.dataset.head) { event.detail.parameters.head = head.dataset.head; }
    }
    if (!element || !up) { return; }
    if (element.id === "poller" && event.detail.parameters.trigger !== "push") {
      event.preventDefault();
    } else if (element.id === "notifier") {
      event.preventDefault();
    } else if (element.matches && element.matches("form[data-presence]")) {
      event.preventDefault();
      reportViewing(event.detail.triggeringEvent && event.detail.triggeringEvent.type === "load");
    }
  });
  setInterval(function () { if (up && presenceForm()) { reportViewing(); } }, VIEWING_EVERY);
  // A boosted navigation (a row clicked) replaces the body: tell the socket what the page shows now.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (target && (target.id === "conversation-pane" || target.tagName === "BODY")) {
      setUp(up);
      afterSwap();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && up) { refresh(); }
  });
  document.addEventListener("input", function (event) {
    if (event.target.id !== "composer-text") { return; }
    var now = Date.now();
    var state = pageState();
    if (state.open && event.target.value && now - lastTypingSent > 2000) {
      lastTypingSent = now;
      send({ type: "typing", conversation_id: state.open, typing: true });
    }
  });
  function start() {
    if (poller() && "WebSocket" in window) { connect(); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
