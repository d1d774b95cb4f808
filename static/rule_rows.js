// Settings › Rules: add and remove condition and action rows, and offer only the operators of the chosen
// condition. The rows work without it (an empty row to fill in, a Remove box per row, operators grouped by
// condition); which value input a row shows is CSS (settings.css, .rule-row:has(...)).
(function () {
  "use strict";

  function fitOperators(row) {
    var field = row.querySelector("[data-row-field]");
    var operator = row.querySelector("[data-row-operator]");
    if (!field || !operator) return;
    var chosen = field.value;
    var firstOfGroup = null;
    var keepsCurrent = false;
    operator.querySelectorAll("optgroup").forEach(function (group) {
      var matches = group.dataset.field === chosen;
      group.hidden = !matches;
      group.querySelectorAll("option").forEach(function (option) {
        option.disabled = !matches;
        if (matches && !firstOfGroup) firstOfGroup = option;
        if (matches && option.selected) keepsCurrent = true;
      });
    });
    if (!keepsCurrent) operator.value = firstOfGroup ? firstOfGroup.value : "";
    operator.disabled = !chosen;
  }

  function isBlank(row) {
    return Array.prototype.every.call(row.querySelectorAll("select, input:not([type=checkbox]), textarea"), function (input) {
      return !input.value;
    });
  }

  function renumberLeads(list) {
    var visible = Array.prototype.filter.call(list.querySelectorAll("[data-row]"), function (row) { return !row.hidden; });
    var lead = list.dataset.lead;
    visible.forEach(function (row, index) {
      row.querySelector(".rule-row-lead").textContent = index === 0 ? lead : "and";
    });
  }

  function enhanceRow(row, fieldset) {
    var remove = row.querySelector(".rule-remove");
    var box = remove && remove.querySelector("input[type=checkbox]");
    var field = row.querySelector("[data-row-field]");
    if (box) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button rule-remove-button";
      button.textContent = "Remove";
      button.setAttribute("aria-label", "Remove " + (field.labels[0] ? field.labels[0].textContent : "this row"));
      button.addEventListener("click", function () {
        box.checked = true;
        row.hidden = true;
        renumberLeads(row.parentElement);
        fieldset.querySelector("[data-add-row]").focus();
      });
      remove.hidden = true;
      remove.after(button);
    }
    field.addEventListener("change", function () { fitOperators(row); });
    fitOperators(row);
  }

  function setUp(fieldset) {
    var prefix = fieldset.dataset.ruleRows;
    var list = fieldset.querySelector(".rule-row-list");
    var total = fieldset.querySelector("#id_" + prefix + "-TOTAL_FORMS");
    var initial = Number(fieldset.querySelector("#id_" + prefix + "-INITIAL_FORMS").value);
    var template = fieldset.querySelector("#" + prefix + "-template");
    var firstLead = list.querySelector(".rule-row-lead");
    list.dataset.lead = firstLead ? firstLead.textContent : template.content.querySelector(".rule-row-lead").textContent;

    // The empty row the page offers without JavaScript is the "Add" button's job here, once rows exist.
    var rows = list.querySelectorAll("[data-row]");
    var last = rows[rows.length - 1];
    if (rows.length > 1 && rows.length - 1 >= initial && isBlank(last) && !last.classList.contains("has-errors")) {
      last.remove();
      total.value = Number(total.value) - 1;
    }
    list.querySelectorAll("[data-row]").forEach(function (row) { enhanceRow(row, fieldset); });

    var add = fieldset.querySelector("[data-add-row]");
    add.parentElement.hidden = false;
    fieldset.querySelector("[data-nojs-hint]").hidden = true;
    add.addEventListener("click", function () {
      var index = Number(total.value);
      var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__number__/g, String(index + 1));
      var holder = document.createElement("ol");
      holder.innerHTML = html;
      var row = holder.querySelector("[data-row]");
      list.appendChild(row);
      total.value = index + 1;
      enhanceRow(row, fieldset);
      renumberLeads(list);
      row.querySelector("[data-row-field]").focus();
    });
  }

  function start() {
    document.querySelectorAll("[data-rule-rows]").forEach(setUp);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
