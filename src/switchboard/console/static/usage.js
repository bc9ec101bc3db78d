// The usage page's charts: uPlot over the series the server wrote in #usage-series (the tables beside them hold
// the same numbers, for readers without JS). Cost is null on days whose cost is unknown: a gap, never $0.
(function () {
  "use strict";

  // Legend values: "—" while no day is pointed at; a pointed day's unknown cost is "unknown".
  function money(value, idx) {
    if (idx == null) return "—";
    return value == null ? "unknown" : "$" + value.toFixed(4);
  }

  function count(value) {
    return value == null ? "—" : Math.round(value).toLocaleString("en");
  }

  function width(element) {
    return Math.max(280, element.clientWidth || 600);
  }

  function chart(element, series, data, valueFormat) {
    const options = {
      width: width(element),
      height: 220,
      scales: { x: { time: true } },
      series: [{ value: "{YYYY}-{MM}-{DD}" }].concat(series),
      axes: [{}, { values: (u, ticks) => ticks.map(valueFormat), size: 70 }],
      legend: { live: true },
    };
    const plot = new uPlot(options, data, element);
    window.addEventListener("resize", () => plot.setSize({ width: width(element), height: 220 }));
    return plot;
  }

  function draw() {
    const source = document.getElementById("usage-series");
    if (!source || typeof uPlot === "undefined") return;
    const data = JSON.parse(source.textContent);
    const tokens = document.getElementById("tokens-chart");
    const cost = document.getElementById("cost-chart");
    chart(
      tokens,
      [
        { label: "Input tokens", stroke: "#1c4fa0", fill: "rgba(28,79,160,.12)", value: (u, v) => count(v) },
        { label: "Output tokens", stroke: "#1d7a3a", value: (u, v) => count(v) },
      ],
      [data.x, data.input_tokens, data.output_tokens],
      count,
    );
    const costSeries = [
      { label: "Cost", stroke: "#8a5a00", fill: "rgba(138,90,0,.12)", spanGaps: false, value: (u, v, si, idx) => money(v, idx),
        points: { show: true } },
    ];
    const costData = [data.x, data.cost_usd];
    if (data.budget_usd != null) {
      costSeries.push({ label: "Daily budget", stroke: "#b3261e", dash: [6, 4], value: (u, v, si, idx) => money(v, idx),
        points: { show: false } });
      costData.push(data.x.map(() => data.budget_usd));
    }
    chart(cost, costSeries, costData, (v) => "$" + (+v).toFixed(v < 1 ? 3 : 2));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
