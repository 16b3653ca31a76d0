// The event form: "Add row" buttons for programme and participants, the all-day switch and
// the end of a repetition.
// Without this file the form shows a fixed number of empty rows and still works.
(function () {
  "use strict";
  var form = document.querySelector("form[data-event-form]");
  if (!form) { return; }

  function renumber(node, prefix, index) {
    var pattern = new RegExp("^" + prefix + "-\\d+-");
    var swap = function (value) { return value.replace(pattern, prefix + "-" + index + "-"); };
    node.querySelectorAll("[id], [name], [for], [aria-describedby]").forEach(function (el) {
      ["id", "name", "for"].forEach(function (attr) {
        if (el.hasAttribute(attr)) { el.setAttribute(attr, swap(el.getAttribute(attr))); }
      });
      if (el.hasAttribute("aria-describedby")) {
        el.setAttribute("aria-describedby", el.getAttribute("aria-describedby")
          .split(" ").map(swap).join(" "));
      }
    });
  }

  function clean(row) {
    // A copy of a row must not carry the values, errors or picker state of the original.
    row.querySelectorAll("[data-picker-listbox], .invalid-feedback").forEach(function (el) { el.remove(); });
    row.querySelectorAll("input, select, textarea").forEach(function (el) {
      el.classList.remove("is-invalid");
      el.removeAttribute("aria-invalid");
      if (el.hasAttribute("aria-describedby")) {
        var ids = el.getAttribute("aria-describedby").split(" ").filter(function (id) {
          return !/-error$/.test(id);
        });
        if (ids.length) { el.setAttribute("aria-describedby", ids.join(" ")); } else { el.removeAttribute("aria-describedby"); }
      }
      ["data-picker-ready", "role", "aria-expanded", "aria-controls", "aria-activedescendant", "aria-autocomplete"].forEach(function (attr) {
        el.removeAttribute(attr);
      });
      if (el.tagName === "SELECT") {
        el.selectedIndex = el.hasAttribute("data-picker-kind") ? 0 : el.selectedIndex;
      } else if (el.type !== "checkbox") {
        el.value = "";
      }
    });
    var kind = row.querySelector("[data-picker-kind]");
    var input = row.querySelector("input[data-picker]");
    if (kind && input) { input.setAttribute("data-picker", kind.value === "contact" ? "contacts" : "organisations"); }
  }

  form.querySelectorAll("[data-add-row]").forEach(function (button) {
    var prefix = button.getAttribute("data-add-row");
    var container = form.querySelector('[data-rows="' + prefix + '"]');
    if (!container) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = container.querySelectorAll("[data-row]");
      var last = rows[rows.length - 1];
      var row = last.cloneNode(true);
      renumber(row, prefix, rows.length);
      clean(row);
      var number = row.querySelector("[data-row-number]");
      if (number) { number.textContent = String(rows.length + 1); }
      container.appendChild(row);
      if (window.VertskapPicker) { window.VertskapPicker.setupAll(row); }
      var first = row.querySelector("input:not([type=hidden]), select");
      if (first) { first.focus(); }
    });
  });

  // All day: the time inputs do not apply, so hide them (the server ignores them anyway).
  var allDay = form.querySelector("[data-all-day]");
  function toggleTimes() {
    form.querySelectorAll(".js-time").forEach(function (el) { el.hidden = allDay.checked; });
  }
  if (allDay) {
    allDay.addEventListener("change", toggleTimes);
    toggleTimes();
  }

  // Does not repeat: the end (a date or a number of times) does not apply, so hide it.
  var repeats = form.querySelector("[data-repeat] select");
  function toggleRepeatEnd() {
    form.querySelectorAll(".js-repeat-end").forEach(function (el) { el.hidden = !repeats.value; });
  }
  if (repeats) {
    repeats.addEventListener("change", toggleRepeatEnd);
    toggleRepeatEnd();
  }
})();
