/* Steering charts (pilotage): Chart.js from our own static files, data from a JSON block.
 * Each chart has the same figures in the table next to it; the charts are a visual aid only. */
(function () {
  "use strict";
  var source = document.getElementById("steering-charts");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var blue = "#000091";
  var red = "#c9191e";
  var green = "#18753c";
  var frenchNumber = new Intl.NumberFormat("fr-FR");
  window.Chart.defaults.font.family = "Helvetica Neue, Helvetica, Arial, sans-serif";
  window.Chart.defaults.color = "#333";

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    canvas.dataset.chart = "pending";
    var chart = new window.Chart(canvas, config);
    canvas.dataset.chart = "drawn";
    return chart;
  }

  function options(extra) {
    var base = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: function (item) {
              return " " + frenchNumber.format(item.raw);
            }
          }
        }
      },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    };
    return Object.assign(base, extra || {});
  }

  var volumes = data.volumes;
  draw("chart-volumes", {
    type: "bar",
    data: {
      labels: volumes.labels,
      datasets: [{ label: volumes.label, data: volumes.values, backgroundColor: blue,
                   maxBarThickness: 28 }]
    },
    options: options({})
  });

  var backlog = data.backlog;
  draw("chart-backlog", {
    type: "bar",
    data: {
      labels: backlog.labels,
      datasets: [{ label: backlog.label, data: backlog.values, maxBarThickness: 60,
                   backgroundColor: [green, blue, "#b34000", red] }]
    },
    options: options({})
  });

  var ontime = data.ontime;
  draw("chart-ontime", {
    type: "bar",
    data: {
      labels: ontime.labels,
      datasets: [{ label: ontime.label, data: ontime.values, backgroundColor: blue,
                   maxBarThickness: 28 }]
    },
    options: options({
      indexAxis: "y",
      scales: { x: { beginAtZero: true, max: 100, ticks: { callback: function (v) { return v + " %"; } } } }
    })
  });
})();
