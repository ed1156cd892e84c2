// The scorecard pages' trend charts (grid and manager pages). Data: the #scorecard-data JSON
// element (months; per KPI its label, shape and values; the P&L by month); translated labels:
// the data- attributes of this script's own tag.
(function () {
  "use strict";
  var labels = document.currentScript.dataset;

  function scaled(values, shape) {
    // Shares are kept as 0..1 and drawn as percentages.
    return values.map(function (v) {
      if (v === null) { return null; }
      return shape === "share" ? Math.round(v * 10000) / 100 : Math.round(v * 100) / 100;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var node = document.getElementById("scorecard-data");
    var box = document.getElementById("trend-chart");
    if (!node || !box || typeof echarts === "undefined") { return; }
    var data = JSON.parse(node.textContent);
    var save = {feature: {saveAsImage: {}}};
    var trend = echarts.init(box);
    var chooser = document.getElementById("trend-kpi");

    function draw(key) {
      var series = data.series.filter(function (s) { return s.kpi === key; })[0] || data.series[0];
      trend.setOption({
        toolbox: save, tooltip: {trigger: "axis"}, grid: {left: 56, right: 16},
        xAxis: {type: "category", data: data.months},
        yAxis: {type: "value", name: series.shape === "share" ? "%" : (series.shape === "money" ? "¥" : "")},
        series: [{name: series.label, type: series.shape === "count" ? "bar" : "line",
                  data: scaled(series.values, series.shape), connectNulls: false}]
      }, true);
    }
    if (chooser) {
      chooser.addEventListener("change", function () { draw(chooser.value); });
      draw(chooser.value);
    } else {
      draw(data.series[0].kpi);
    }
    var pnlBox = document.getElementById("pnl-chart");
    var pnl = null;
    if (pnlBox && data.pnl) {
      pnl = echarts.init(pnlBox);
      pnl.setOption({
        toolbox: save, tooltip: {trigger: "axis"}, grid: {left: 56, right: 16},
        legend: {data: [labels.revenue, labels.costs, labels.profit]},
        xAxis: {type: "category", data: data.months}, yAxis: {type: "value", name: "¥"},
        series: [
          {name: labels.revenue, type: "bar", data: scaled(data.pnl.revenue, "money")},
          {name: labels.costs, type: "bar", data: scaled(data.pnl.costs, "money")},
          {name: labels.profit, type: "line", data: scaled(data.pnl.profit, "money")}
        ]
      });
    }
    window.addEventListener("resize", function () {
      trend.resize();
      if (pnl) { pnl.resize(); }
    });
  });
})();
