// The campaign page's evaluation charts (事后评估): the response uplift of each value tier, org
// unit and channel with its interval, from the #evaluation-data JSON (no inline script: CSP).
(function () {
  "use strict";

  function whisker(params, api) {
    // One stratum's interval: a vertical line from low to high, capped at both ends.
    var x = api.value(0);
    var low = api.coord([x, api.value(1)]);
    var high = api.coord([x, api.value(2)]);
    var half = Math.min(api.size([1, 0])[0] * 0.15, 10);
    var style = {stroke: "#333", lineWidth: 1.5, fill: null};
    return {type: "group", children: [
      {type: "line", shape: {x1: low[0], y1: low[1], x2: high[0], y2: high[1]}, style: style},
      {type: "line", shape: {x1: low[0] - half, y1: low[1], x2: low[0] + half, y2: low[1]}, style: style},
      {type: "line", shape: {x1: high[0] - half, y1: high[1], x2: high[0] + half, y2: high[1]}, style: style}
    ]};
  }

  function draw() {
    var node = document.getElementById("evaluation-data");
    if (!node || typeof echarts === "undefined") { return; }
    var charts = JSON.parse(node.textContent);
    Object.keys(charts).forEach(function (dimension) {
      var box = document.getElementById("chart-" + dimension);
      if (!box || box.getAttribute("data-drawn")) { return; }
      box.setAttribute("data-drawn", "1");
      var data = charts[dimension];
      var intervals = [];
      data.labels.forEach(function (_label, i) {
        if (data.low[i] !== null && data.high[i] !== null) { intervals.push([i, data.low[i], data.high[i]]); }
      });
      var chart = echarts.init(box);
      chart.setOption({
        toolbox: {feature: {saveAsImage: {}}},
        tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
        legend: {top: 0, left: "center", data: [data.uplift_name, data.interval_name]},
        grid: {left: 8, right: 8, bottom: 8, top: 48, containLabel: true},
        xAxis: {type: "category", data: data.labels,
                axisLabel: {interval: 0, rotate: data.labels.length > 5 ? 30 : 0}},
        yAxis: {type: "value", axisLabel: {formatter: "{value}"}},
        series: [
          {name: data.uplift_name, type: "bar", data: data.uplift, barMaxWidth: 48},
          {name: data.interval_name, type: "custom", renderItem: whisker, data: intervals,
           encode: {x: 0, y: [1, 2]}, z: 10, itemStyle: {color: "#333"}}
        ]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
}());
