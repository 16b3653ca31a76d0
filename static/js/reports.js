// The report dashboard's charts: each <canvas data-report-chart="{...}"> holds its data as JSON
// (an attribute, so the Content-Security-Policy needs no inline script). The table beside each
// chart has the same figures, for screen readers and when this file does not run.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  document.querySelectorAll("canvas[data-report-chart]").forEach(function (canvas) {
    var spec;
    try { spec = JSON.parse(canvas.getAttribute("data-report-chart")); } catch (e) { return; }
    var horizontal = Boolean(spec.horizontal);
    var stacked = Boolean(spec.stacked);
    var valueAxis = { beginAtZero: true, stacked: stacked, ticks: { precision: 0, color: "#212529" } };
    var labelAxis = { stacked: stacked, ticks: { color: "#212529", autoSkip: false } };
    new Chart(canvas, {
      type: spec.type || "bar",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (ds) {
          return { label: ds.label, data: ds.data, backgroundColor: ds.color, borderColor: ds.color };
        })
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: reduceMotion ? false : undefined,
        plugins: { legend: { display: spec.datasets.length > 1, labels: { color: "#212529" } } },
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis }
      }
    });
  });
})();
