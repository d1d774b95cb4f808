// Settings › Business Hours: the year's holidays on a month calendar where a click (or Enter / Space) on a day
// adds or removes that holiday in the holiday list below, which stays the form that is saved (and where
// holidays get their names). Keyboard: one day is in the tab order; arrows move by day and week, Page Up /
// Page Down by month, Home / End to the week's start and end. No library; the server renders the same
// calendar, read-only, for browsers without JavaScript.
(function () {
  "use strict";

  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"];
  var WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

  function iso(date) {
    var month = String(date.getMonth() + 1).padStart(2, "0");
    var day = String(date.getDate()).padStart(2, "0");
    return date.getFullYear() + "-" + month + "-" + day;
  }
  function parse(value) {
    var match = /^(\d{4})-(\d{2})-(\d{2})$/.exec((value || "").trim());
    return match ? new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : null;
  }
  function addDays(date, days) {
    return new Date(date.getFullYear(), date.getMonth(), date.getDate() + days);
  }
  function addMonths(date, months) {
    var target = new Date(date.getFullYear(), date.getMonth() + months, 1);
    var last = new Date(target.getFullYear(), target.getMonth() + 1, 0).getDate();
    return new Date(target.getFullYear(), target.getMonth(), Math.min(date.getDate(), last));
  }
  function spoken(date) {
    return WEEKDAYS[(date.getDay() + 6) % 7] + " " + date.getDate() + " " + MONTHS[date.getMonth()] + " " + date.getFullYear();
  }

  function setUp(calendar) {
    var group = document.getElementById("holidays-group");
    if (!group) return;
    var months = calendar.querySelector("[data-months]");
    var yearLabel = calendar.querySelector("[data-year-label]");
    var status = calendar.querySelector("[data-holiday-status]");
    var year = Number(calendar.dataset.year);
    var focused = null;

    // The list's rows that are not Django's hidden template row.
    function rows() {
      return Array.prototype.filter.call(group.querySelectorAll("tbody tr.form-row"), function (row) {
        return !row.classList.contains("empty-form") && row.querySelector("input[name$='-date']");
      });
    }
    function parts(row) {
      return {
        row: row,
        date: row.querySelector("input[name$='-date']"),
        name: row.querySelector("input[name$='-name']"),
        remove: row.querySelector("input[name$='-DELETE']"),
        saved: Boolean((row.querySelector("input[name$='-id']") || {}).value),
      };
    }
    function holidays() {
      var found = {};
      rows().forEach(function (row) {
        var p = parts(row);
        var date = parse(p.date.value);
        if (date && !(p.remove && p.remove.checked)) found[iso(date)] = (p.name && p.name.value) || "Holiday";
      });
      return found;
    }

    function toggle(date) {
      var key = iso(date);
      var all = rows().map(parts);
      var matching = all.filter(function (p) { return parse(p.date.value) && iso(parse(p.date.value)) === key; });
      var active = matching.filter(function (p) { return !(p.remove && p.remove.checked); });
      if (active.length) {
        active.forEach(function (p) {
          if (p.saved && p.remove) p.remove.checked = true;
          else { p.date.value = ""; if (p.name) p.name.value = ""; }
        });
        say(spoken(date) + " is a working day again (saved when you save).");
      } else if (matching.length) {
        matching[0].remove.checked = false;
        say(spoken(date) + " is a holiday again (saved when you save).");
      } else {
        var blank = all.filter(function (p) { return !p.saved && !p.date.value; })[0];
        if (!blank) {
          var add = group.querySelector(".add-row a");
          if (add) add.click();
          var after = rows().map(parts);
          blank = after.filter(function (p) { return !p.saved && !p.date.value; })[0];
        }
        if (!blank) return;
        blank.date.value = key;
        say(spoken(date) + " is a holiday (saved when you save); name it in the list below.");
      }
      render();
    }

    function say(text) { status.textContent = text; }

    function render() {
      var found = holidays();
      var count = Object.keys(found).filter(function (key) { return key.slice(0, 4) === String(year); }).length;
      yearLabel.innerHTML = "";
      yearLabel.append(String(year) + " ");
      var quiet = document.createElement("span");
      quiet.className = "quiet";
      quiet.textContent = "· " + count + " holiday" + (count === 1 ? "" : "s");
      yearLabel.append(quiet);
      calendar.querySelectorAll("[data-year-step]").forEach(function (link) {
        var step = Number(link.dataset.yearStep);
        link.textContent = step < 0 ? "‹ " + (year - 1) : (year + 1) + " ›";
        link.setAttribute("aria-label", "Show " + (year + step));
      });
      if (!focused || focused.getFullYear() !== year) focused = new Date(year, 0, 1);
      var today = iso(new Date());
      months.innerHTML = "";
      for (var month = 0; month < 12; month++) {
        var table = document.createElement("table");
        table.className = "holiday-month";
        var caption = table.createCaption();
        caption.textContent = MONTHS[month] + " " + year;
        var head = table.createTHead().insertRow();
        WEEKDAYS.forEach(function (name) {
          var th = document.createElement("th");
          th.scope = "col";
          var abbr = document.createElement("abbr");
          abbr.title = name;
          abbr.textContent = name.slice(0, 2);
          th.appendChild(abbr);
          head.appendChild(th);
        });
        var body = table.createTBody();
        var first = new Date(year, month, 1);
        var day = addDays(first, -((first.getDay() + 6) % 7));
        while (day.getMonth() === month || day < first) {
          var row = body.insertRow();
          for (var i = 0; i < 7; i++) {
            var cell = row.insertCell();
            if (day.getMonth() === month) {
              var key = iso(day);
              var button = document.createElement("button");
              button.type = "button";
              button.className = "holiday-day" + (found[key] ? " is-holiday" : "") + (key === today ? " is-today" : "");
              button.dataset.date = key;
              button.textContent = String(day.getDate());
              button.setAttribute("aria-pressed", found[key] ? "true" : "false");
              button.setAttribute("aria-label", spoken(day) + (found[key] ? ", holiday: " + found[key] : ""));
              if (found[key]) button.title = found[key];
              button.tabIndex = key === iso(focused) ? 0 : -1;
              cell.appendChild(button);
            }
            day = addDays(day, 1);
          }
        }
        months.appendChild(table);
      }
    }

    function moveTo(date) {
      focused = date;
      if (date.getFullYear() !== year) { year = date.getFullYear(); render(); }
      months.querySelectorAll(".holiday-day").forEach(function (button) {
        button.tabIndex = button.dataset.date === iso(date) ? 0 : -1;
      });
      var target = months.querySelector(".holiday-day[data-date='" + iso(date) + "']");
      if (target) target.focus();
    }

    months.addEventListener("click", function (event) {
      var button = event.target.closest(".holiday-day");
      if (!button) return;
      focused = parse(button.dataset.date);
      toggle(focused);
      months.querySelector(".holiday-day[data-date='" + button.dataset.date + "']").focus();
    });
    months.addEventListener("keydown", function (event) {
      var button = event.target.closest(".holiday-day");
      if (!button) return;
      var date = parse(button.dataset.date);
      var weekday = (date.getDay() + 6) % 7;
      var moves = {
        ArrowLeft: function () { return addDays(date, -1); },
        ArrowRight: function () { return addDays(date, 1); },
        ArrowUp: function () { return addDays(date, -7); },
        ArrowDown: function () { return addDays(date, 7); },
        PageUp: function () { return addMonths(date, event.shiftKey ? -12 : -1); },
        PageDown: function () { return addMonths(date, event.shiftKey ? 12 : 1); },
        Home: function () { return addDays(date, -weekday); },
        End: function () { return addDays(date, 6 - weekday); },
      };
      if (!moves[event.key]) return;
      event.preventDefault();
      moveTo(moves[event.key]());
    });
    calendar.querySelectorAll("[data-year-step]").forEach(function (link) {
      link.setAttribute("role", "button");
      link.addEventListener("click", function (event) {
        event.preventDefault();
        year += Number(link.dataset.yearStep);
        focused = new Date(year, 0, 1);
        render();
        say("Showing " + year + ".");
      });
    });
    // Edits in the list (a typed date, a Remove box) show on the calendar at once.
    group.addEventListener("input", render);
    group.addEventListener("change", render);
    // Django's own list controls (a new row's ✖, the date picker's Today) change it without an input event.
    group.addEventListener("click", function () { setTimeout(render, 0); });
    calendar.querySelectorAll("[data-js-only]").forEach(function (node) { node.hidden = false; });
    calendar.querySelectorAll("[data-nojs-only]").forEach(function (node) { node.hidden = true; });
    render();
  }

  function start() {
    document.querySelectorAll("[data-holiday-calendar]").forEach(setUp);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
