// The off-net win-over pool: numbers by competitor, from the #offnet-data JSON.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var node = document.getElementById("offnet-data");
  if (!node) { return; }
  var data = JSON.parse(node.textContent);
  echarts.init(document.getElementById("operator-chart")).setOption({
    toolbox: {feature: {saveAsImage: {}}}, tooltip: {trigger: "item"},
    series: [{type: "pie", radius: "65%",
              data: data.operators.map(function (o, i) { return {name: o, value: data.numbers[i]}; })}]
  });
});
