/* Leadership dashboard charts. Data comes from the json_script block; clicking a bar or a slice
   opens the alert list behind it. No inline script: this file is served by the app. */
(function () {
  "use strict";
  function start() {
    var node = document.getElementById("dashboard-data");
    if (!node || !window.echarts) { return; }
    var data = JSON.parse(node.textContent);
    var locale = (document.documentElement.lang || "zh").toLowerCase().indexOf("zh") === 0 ? "ZH" : "EN";
    var charts = [];

    function make(id, option, items) {
      var el = document.getElementById(id);
      if (!el) { return; }
      var chart = window.echarts.init(el, null, { locale: locale, renderer: "canvas" });
      chart.setOption(option);
      chart.on("click", function (params) {
        var item = items && items[params.dataIndex];
        if (item && item.url) { window.location.href = item.url; }
      });
      charts.push(chart);
    }
    function names(list) { return list.map(function (x) { return x.name; }); }
    function values(list, key) { return list.map(function (x) { return x[key || "value"]; }); }

    make("chart-trend", {
      tooltip: { trigger: "axis" },
      legend: { data: [data.labels.raised, data.labels.closed] },
      grid: { left: 10, right: 20, bottom: 10, top: 40, containLabel: true },
      xAxis: { type: "category", data: names(data.trend), axisLabel: { interval: 0, rotate: data.trend.length > 6 ? 45 : 0, hideOverlap: false } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: data.labels.raised, type: "line", data: values(data.trend, "raised") },
        { name: data.labels.closed, type: "line", data: values(data.trend, "closed") }
      ]
    }, data.trend);

    make("chart-outcomes", {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["30%", "55%"], data: data.outcomes, avoidLabelOverlap: true,
                 label: { formatter: "{b}\n{c}", overflow: "break", width: 80 } }]
    }, data.outcomes);

    make("chart-domains", {
      tooltip: { trigger: "axis" },
      grid: { left: 10, right: 20, top: 10, bottom: 10, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: names(data.domains), inverse: true, axisLabel: { interval: 0 } },
      series: [{ name: data.labels.alerts, type: "bar", data: values(data.domains) }]
    }, data.domains);

    make("chart-sources", {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: "50%", data: data.sources, avoidLabelOverlap: true,
                 label: { formatter: "{b}\n{c}", overflow: "break", width: 90 } }]
    }, data.sources);

    make("chart-stages", {
      tooltip: { trigger: "axis" },
      grid: { left: 10, right: 40, top: 30, bottom: 10, containLabel: true },
      xAxis: { type: "value", name: data.labels.days },
      yAxis: { type: "category", data: names(data.stages), inverse: true, axisLabel: { interval: 0 } },
      series: [{ name: data.labels.days, type: "bar", data: values(data.stages) }]
    }, null);

    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
