// Vertskap: the read-only calendar view (FullCalendar 6.1, vendored), fed by GET /api/events.
(function () {
  "use strict";
  var el = document.getElementById("calendar");
  if (!el || !window.FullCalendar) { return; }
  var kindSelect = document.getElementById("filter-kind");
  var calendarSelect = document.getElementById("filter-calendar");
  var status = document.getElementById("calendar-status");

  function addDays(isoDate, days) {
    var d = new Date(isoDate + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  // One API item → one FullCalendar event. All-day ends are inclusive in the API and
  // exclusive in FullCalendar, so a one-day event on 3 May ends on 4 May here.
  function toEvent(item) {
    var event = {
      id: String(item.id),
      title: item.title,
      url: item.url || (el.dataset.eventUrl + item.id),
      classNames: ["kind-" + item.kind, "status-" + item.status],
      extendedProps: { kind: item.kind, status: item.status }
    };
    if (item.all_day) {
      event.allDay = true;
      event.start = item.start_date;
      event.end = addDays(item.end_date || item.start_date, 1);
    } else {
      event.start = item.starts_at;
      event.end = item.ends_at;
    }
    return event;
  }

  function getJSON(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": el.dataset.csrf }
    }).then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.json();
    });
  }

  // All pages of the API's answer (at most 1000 events a page). `total` counts events, and
  // a repeating event gives several items, so the pages read are counted, not the items.
  function getAllItems(url, page, collected) {
    return getJSON(url + "&per_page=1000&page=" + page).then(function (data) {
      var items = collected.concat(data.items || []);
      if (data.total && page * data.per_page < data.total && (data.items || []).length) {
        return getAllItems(url, page + 1, items);
      }
      return items;
    });
  }

  function loadEvents(info, success, failure) {
    var range = "start=" + encodeURIComponent(info.startStr) + "&end=" + encodeURIComponent(info.endStr);
    var kind = kindSelect ? kindSelect.value : "";
    // view=calendar: slim items (id, title, kind, status, times, url), not whole events.
    var url = el.dataset.eventsUrl + "?view=calendar&" + range + (kind ? "&kind=" + encodeURIComponent(kind) : "");
    var requests = [getAllItems(url, 1, [])];
    var slug = calendarSelect ? calendarSelect.value : "";
    if (slug) {
      requests.push(getJSON(el.dataset.idsUrl.replace("__slug__", encodeURIComponent(slug)) + "?" + range));
    }
    Promise.all(requests).then(function (results) {
      var allowed = results[1] ? new Set(results[1].ids.map(String)) : null;
      var events = results[0].filter(function (item) {
        return (!kind || item.kind === kind) && (!allowed || allowed.has(String(item.id)));
      }).map(toEvent);
      status.textContent = "";
      success(events);
    }).catch(function (error) {
      status.textContent = el.dataset.error;
      failure(error);
    });
  }

  var calendar = new FullCalendar.Calendar(el, {
    locale: el.dataset.locale === "nb" ? "nb" : "en-gb",
    initialView: "dayGridMonth",
    headerToolbar: { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,listMonth" },
    // Read-only: nothing can be dragged or resized by accident.
    editable: false,
    eventStartEditable: false,
    eventDurationEditable: false,
    selectable: false,
    firstDay: 1,
    // Text buttons: the icon font is a data: URL the CSP refuses, and icons had no text.
    buttonIcons: false,
    buttonText: { prev: "‹ " + el.dataset.prev, next: el.dataset.next + " ›" },
    // A day cell named only by its date hides the events inside it from screen readers.
    dayCellDidMount: function (info) { info.el.removeAttribute("aria-labelledby"); },
    nowIndicator: true,
    height: "auto",
    events: loadEvents
  });
  calendar.render();
  [kindSelect, calendarSelect].forEach(function (select) {
    if (select) { select.addEventListener("change", function () { calendar.refetchEvents(); }); }
  });
})();
