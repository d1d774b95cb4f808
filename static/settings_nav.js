// Settings on a tablet: below 1100 px the left navigation folds into the top bar's Menu button and opens as
// a drawer (Escape or a click outside closes it). Without this script the navigation stays on the page.
(function () {
  "use strict";
  var NARROW = window.matchMedia("(max-width: 1100px)");

  function start() {
    var button = document.querySelector("[data-settings-menu]");
    var nav = document.getElementById("settings-nav");
    var header = document.querySelector(".settings-topbar");
    if (!button || !nav) return;
    document.body.classList.add("has-nav-menu");
    button.hidden = false;

    function isOpen() { return button.getAttribute("aria-expanded") === "true"; }
    function open() {
      nav.style.top = Math.max(header.getBoundingClientRect().bottom, 0) + "px";
      button.setAttribute("aria-expanded", "true");
      document.body.classList.add("nav-open");
      var current = nav.querySelector("[aria-current=page]") || nav.querySelector("a");
      if (current) current.focus();
    }
    function close(returnFocus) {
      button.setAttribute("aria-expanded", "false");
      document.body.classList.remove("nav-open");
      if (returnFocus) button.focus();
    }
    button.addEventListener("click", function () { if (isOpen()) close(false); else open(); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen()) close(true);
    });
    document.addEventListener("click", function (event) {
      if (isOpen() && !nav.contains(event.target) && !button.contains(event.target)) close(false);
    });
    // Back to a laptop's width: the navigation is on the page again, nothing left open.
    NARROW.addEventListener("change", function () { if (!NARROW.matches) close(false); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
