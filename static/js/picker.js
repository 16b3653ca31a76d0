// As-you-type suggestions for inputs marked data-picker="organisations" | "contacts".
// ARIA 1.2 combobox with a listbox popup; fills the row's hidden [data-picker-value] input.
// Progressive enhancement: without this file the name is typed and resolved by the server.
(function () {
  "use strict";
  var counter = 0;
  var DELAY = 200;

  function hiddenFor(input) {
    var row = input.closest("[data-picker-row]");
    return row ? row.querySelector("[data-picker-value]") : null;
  }

  function itemsOf(json) {
    if (Array.isArray(json)) { return json; }
    return (json && (json.items || json.data || json.results)) || [];
  }

  function setup(input) {
    if (input.hasAttribute("data-picker-ready")) { return; }
    input.setAttribute("data-picker-ready", "");
    counter += 1;
    var listId = (input.id || "picker") + "-listbox-" + counter;
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "list-group picker-listbox";
    list.setAttribute("role", "listbox");
    list.setAttribute("data-picker-listbox", "");
    if (input.labels && input.labels[0]) {
      if (!input.labels[0].id) { input.labels[0].id = input.id + "-label"; }
      list.setAttribute("aria-labelledby", input.labels[0].id);
    }
    list.hidden = true;
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("data-picker-listbox", "");
    input.insertAdjacentElement("afterend", list);
    list.insertAdjacentElement("afterend", status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("autocomplete", "off");

    var timer = null;
    var active = -1;
    var request = 0;

    function options() { return list.querySelectorAll("[role=option]"); }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var opts = options();
      if (!opts.length) { return; }
      active = (index + opts.length) % opts.length;
      opts.forEach(function (opt, i) {
        opt.setAttribute("aria-selected", i === active ? "true" : "false");
        opt.classList.toggle("active", i === active);
      });
      input.setAttribute("aria-activedescendant", opts[active].id);
      opts[active].scrollIntoView({ block: "nearest" });
    }

    function choose(opt) {
      input.value = opt.getAttribute("data-name");
      var hidden = hiddenFor(input);
      if (hidden) { hidden.value = opt.getAttribute("data-id"); }
      close();
    }

    function render(items) {
      list.textContent = "";
      items.forEach(function (item, i) {
        var opt = document.createElement("li");
        opt.id = listId + "-" + i;
        opt.className = "list-group-item list-group-item-action";
        opt.setAttribute("role", "option");
        opt.setAttribute("aria-selected", "false");
        opt.setAttribute("data-id", item.id);
        opt.setAttribute("data-name", item.name);
        opt.textContent = item.name;
        var extra = item.city || item.organisation || item.email || "";
        if (extra) {
          var small = document.createElement("span");
          small.className = "small text-body-secondary ms-2";
          small.textContent = extra;
          opt.appendChild(small);
        }
        // mousedown, not click: it fires before the input loses focus and closes the list
        opt.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(opt);
        });
        list.appendChild(opt);
      });
      status.textContent = items.length
        ? (input.getAttribute("data-picker-found") || "{count}").replace("{count}", items.length)
        : (input.getAttribute("data-picker-none") || "");
      if (items.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        active = -1;
      } else {
        close();
      }
    }

    function search() {
      var q = input.value.trim();
      var kind = input.getAttribute("data-picker");
      if (q.length < 2 || (kind !== "organisations" && kind !== "contacts")) { close(); return; }
      var mine = ++request;
      var url = "/api/" + kind + "?q=" + encodeURIComponent(q) + "&per_page=8";
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (json) { if (mine === request) { render(itemsOf(json)); } })
        .catch(function () { close(); });
    }

    input.addEventListener("input", function () {
      // The typed name no longer matches the chosen record: let the server resolve it.
      var hidden = hiddenFor(input);
      if (hidden) { hidden.value = ""; }
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DELAY);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (open) { highlight(active + 1); } else { search(); }
      } else if (event.key === "ArrowUp") {
        if (open) { event.preventDefault(); highlight(active - 1); }
      } else if (event.key === "Enter") {
        if (open && active >= 0) { event.preventDefault(); choose(options()[active]); }
      } else if (event.key === "Escape") {
        if (open) { event.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 100); });
  }

  function setupAll(root) {
    (root || document).querySelectorAll("input[data-picker]").forEach(setup);
  }

  // The kind select of a row decides which list the name is looked up in.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-picker-kind]");
    if (!select) { return; }
    var row = select.closest("[data-picker-row]");
    var input = row && row.querySelector("input[data-picker]");
    if (!input) { return; }
    input.setAttribute("data-picker", select.value === "contact" ? "contacts" : "organisations");
    var hidden = hiddenFor(input);
    if (hidden) { hidden.value = ""; }
  });

  window.VertskapPicker = { setupAll: setupAll };
  setupAll(document);
})();
