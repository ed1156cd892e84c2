// The customer 360 page's usage trend; its data comes from the #usage-data JSON element.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var node = document.getElementById("usage-data");
  var box = document.getElementById("usage-chart");
  if (!node || !box) { return; }
  var data = JSON.parse(node.textContent);
  echarts.init(box).setOption({
    tooltip: {trigger: "axis"},
    legend: {data: ["ARPU (¥)", "DOU (GB)", "MOU"]},
    xAxis: {type: "category", data: data.months},
    yAxis: [{type: "value", name: "¥ / GB"}, {type: "value", name: "MOU"}],
    series: [
      {name: "ARPU (¥)", type: "line", data: data.arpu},
      {name: "DOU (GB)", type: "line", data: data.dou},
      {name: "MOU", type: "bar", yAxisIndex: 1, data: data.mou, itemStyle: {opacity: 0.4}}
    ]
  });
});
