// The churn model quality page: lift by decile and calibration, from the #model-data JSON.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var node = document.getElementById("model-data");
  if (!node) { return; }
  var data = JSON.parse(node.textContent);
  var save = {feature: {saveAsImage: {}}};
  echarts.init(document.getElementById("lift-chart")).setOption({
    toolbox: save, tooltip: {trigger: "axis"},
    xAxis: {type: "category", data: data.deciles}, yAxis: {type: "value"},
    series: [{type: "bar", data: data.lift}]
  });
  var top = Math.max.apply(null, data.predicted.concat(data.observed));
  echarts.init(document.getElementById("calibration-chart")).setOption({
    toolbox: save, tooltip: {trigger: "item"},
    xAxis: {type: "value", max: top}, yAxis: {type: "value", max: top},
    series: [
      {type: "scatter", data: data.predicted.map(function (p, i) { return [p, data.observed[i]]; })},
      {type: "line", data: [[0, 0], [top, top]], showSymbol: false, lineStyle: {type: "dashed"}}
    ]
  });
});
