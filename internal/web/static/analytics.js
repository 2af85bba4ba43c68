// Draws the Analytics page's charts with uPlot from the page's JSON data
// block (no inline script: the Content-Security-Policy forbids it).
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("analytics-data");
    if (!el || !window.uPlot) return;
    var d = JSON.parse(el.textContent);
    var css = getComputedStyle(document.documentElement);
    var accent = css.getPropertyValue("--accent").trim() || "#4f46e5";
    var muted = css.getPropertyValue("--muted").trim() || "#666";
    var grid = css.getPropertyValue("--border").trim() || "#ddd";
    document.querySelectorAll("[data-chart]").forEach(function (box) {
      var key = box.getAttribute("data-chart");
      var width = Math.max(240, box.clientWidth);
      var axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
      var opts = {
        width: width, height: 200, legend: { show: false },
        scales: { x: { time: true } },
        axes: [axis, Object.assign({}, axis, { size: 60 })],
        series: [{}, { label: key, stroke: accent, width: 2, fill: accent + "22", points: { show: d.x.length < 40 } }]
      };
      box.innerHTML = "";
      box.dataset.drawn = "1";
      new window.uPlot(opts, [d.x, d[key]], box);
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  var t;
  window.addEventListener("resize", function () { clearTimeout(t); t = setTimeout(draw, 200); });
})();
