// The composer's SMS counter: how many segments the reply takes and in which encoding,
// computed as channels_app/telephony/segments.py does (GSM 03.38: 160/153 in GSM-7, 70/67 in UCS-2;
// extension characters take two septets, astral characters two UTF-16 units; a split never halves a pair).
(function () {
  "use strict";

  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "^{}\\[~]|€\f";

  function segments(text) {
    var chars = Array.from(text);
    var gsm = chars.every(function (c) { return BASIC.indexOf(c) >= 0 || EXTENSION.indexOf(c) >= 0; });
    var widths = chars.map(function (c) {
      if (gsm) { return EXTENSION.indexOf(c) >= 0 ? 2 : 1; }
      return c.codePointAt(0) > 0xffff ? 2 : 1;
    });
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    var used = widths.reduce(function (a, b) { return a + b; }, 0);
    var encoding = gsm ? "GSM-7" : "UCS-2";
    if (used === 0) { return { encoding: encoding, count: 0, used: 0, per: single }; }
    if (used <= single) { return { encoding: encoding, count: 1, used: used, per: single }; }
    var count = 1, room = multi;
    widths.forEach(function (w) { if (w > room) { count += 1; room = multi; } room -= w; });
    return { encoding: encoding, count: count, used: used, per: multi };
  }

  function update() {
    var text = document.getElementById("composer-text");
    var out = document.querySelector("[data-sms-segments]");
    if (!text || !out) { return; }
    var s = segments(text.value);
    out.textContent = s.count === 0 ? "SMS · " + s.encoding :
      s.count + (s.count === 1 ? " segment" : " segments") + " · " + s.encoding + " · " + s.used + "/" + s.per * s.count;
    out.classList.toggle("ucs2", s.encoding === "UCS-2");
    out.title = s.encoding === "UCS-2" ?
      "A character outside the GSM alphabet (an emoji, a curly quote) makes every segment hold 67 characters instead of 153." :
      "Plain GSM-7 text: 160 characters in one SMS, 153 per segment when longer.";
  }

  document.addEventListener("input", function (event) { if (event.target.id === "composer-text") { update(); } });
  document.addEventListener("htmx:afterSettle", update);
  document.addEventListener("DOMContentLoaded", update);
  window.smsSegments = segments;
})();
